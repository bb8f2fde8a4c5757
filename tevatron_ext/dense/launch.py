"""``encode --nproc N``: N local workers through torch's own launcher (torchrun), then one merge.

Each worker is ``python -m torch.distributed.run --standalone --nproc_per_node N -m
tevatron_ext.dense.launch CONFIG``: it reads RANK / WORLD_SIZE / LOCAL_RANK as torchrun sets them,
encodes shard RANK of WORLD_SIZE (the same contiguous slices as ``--num-shards/--shard-id``) into
``INDEX.shards/shard-RANK`` on ``cuda:LOCAL_RANK`` (GPU) or with cores/N torch threads (CPU), and the
parent merges the shards with ``index merge``'s code. A finished shard is reused by a rerun, an
interrupted one resumes at its first missing chunk; a failed worker fails the command with
torchrun's exit code and the log's path.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from ..common.errors import TevatronExtError


def shards_dir(index: Path) -> Path:
    return index.with_name(index.name + ".shards")


def _shard_done(path: Path, cfg, count: int) -> bool:
    from ..collections import get_collection
    from ..common.atomic import read_manifest, sha256_file
    from ..models.zoo import resolve

    m = read_manifest(path)
    if m is None:
        return False
    return (m.get("corpus_sha256") == sha256_file(get_collection(cfg.collection).corpus_path())
            and m["config"].get("model") == str(resolve(cfg.model)) and m.get("shard", {}).get("count") == count)


def encode_multiprocess(cfg) -> dict[str, Any]:
    from ..index.merge import merge_indexes

    work = shards_dir(cfg.index)
    work.mkdir(parents=True, exist_ok=True)
    config = {**asdict(cfg), "index": str(cfg.index)}
    (work / "config.json").write_text(json.dumps(config, default=str), encoding="utf-8")
    log = work / "torchrun.log"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={cfg.nproc}",
           "-m", "tevatron_ext.dense.launch", str(work / "config.json")]
    with open(log, "w", encoding="utf-8") as fh:
        proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, env={**os.environ, "OMP_NUM_THREADS": "1"})
    if proc.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-1500:]
        raise TevatronExtError(f"encode --nproc {cfg.nproc}: a worker failed (torchrun exit {proc.returncode}); "
                               f"log: {log}\n{tail}")
    shards = [work / f"shard-{i}" for i in range(cfg.nproc)]
    m = merge_indexes(cfg.index, shards, ann=cfg.ann)
    import shutil

    shutil.rmtree(work, ignore_errors=True)
    return m


def _worker(config_path: str) -> None:
    import torch

    from ..common.device import resolve_device
    from ..index.ann import AnnParams
    from .encode import EncodeConfig, encode_corpus

    raw = json.loads(Path(config_path).read_text(encoding="utf-8"))
    rank, world, local = (int(os.environ[k]) for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))
    raw["ann"] = AnnParams()  # shards are flat; the parent builds the requested type once, after the merge
    cfg = EncodeConfig(**raw)
    device = resolve_device(cfg.device)
    if device.type == "cuda":
        device_spec = f"cuda:{local}"
    else:
        device_spec = "cpu"
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
    out = shards_dir(Path(cfg.index)) / f"shard-{rank}"
    cfg = replace(cfg, index=out, nproc=1, num_shards=world, shard_id=rank, device=device_spec,
                  progress=cfg.progress and rank == 0)
    if _shard_done(out, cfg, world):
        print(f"rank {rank}: {out} already complete", flush=True)
        return
    m = encode_corpus(cfg)
    print(f"rank {rank}: {m['counts']['docs']} passages -> {out} on {device_spec}", flush=True)


if __name__ == "__main__":
    _worker(sys.argv[1])
