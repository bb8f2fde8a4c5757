"""Merge shard indexes (``encode --num-shards N --shard-id I``) into one flat index, refusing mismatches."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..common.atomic import atomic_dir, read_manifest, write_manifest
from ..common.errors import ConfigError, TevatronExtError
from ..models.contract import EncoderContract
from .ann import AnnParams, read_vectors


def read_docids(index_dir: Path) -> list[str]:
    return (Path(index_dir) / "docid").read_text(encoding="utf-8").splitlines()


def _shard_manifest(d: Path) -> dict[str, Any]:
    m = read_manifest(d)
    if m is None or m.get("kind") != "faiss-index":
        raise TevatronExtError(f"{d}: not a complete tevatron-ext FAISS index (no complete manifest)")
    if "shard" not in m:
        raise TevatronExtError(f"{d}: its manifest records no shard (built before sharding existed): re-encode it")
    return m


def merge_indexes(out: str | Path, shard_dirs: list[str | Path], ann: AnnParams | None = None) -> dict[str, Any]:
    """One index from all N shards of one encode (same model, contract, corpus, dimension), in shard order."""
    from ..dense.encode import write_faiss_index

    out = Path(out)
    if not shard_dirs:
        raise ConfigError("index merge: give the shard index folders to merge")
    shards = [(Path(d), _shard_manifest(Path(d))) for d in shard_dirs]
    first_dir, first = shards[0]
    count = first["shard"]["count"]
    keys = {"model": lambda m: m["config"]["model"], "encoder contract": lambda m: m["config"]["contract"],
            "corpus": lambda m: m.get("corpus_sha256"), "dimension": lambda m: m["counts"]["dimension"],
            "shard count": lambda m: m["shard"]["count"]}
    for d, m in shards[1:]:
        for what, get in keys.items():
            if get(m) != get(first):
                raise ConfigError(f"index merge: {d} has another {what} than {first_dir} "
                                  f"({get(m)!r} vs {get(first)!r}): shards of one encode only")
    ids = [m["shard"]["id"] for _, m in shards]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ConfigError(f"index merge: shard id(s) {dup} given twice: "
                          + ", ".join(str(d) for d, m in shards if m["shard"]["id"] in dup))
    missing = sorted(set(range(count)) - set(ids))
    if missing:
        raise ConfigError(f"index merge: shard(s) {missing} of {count} missing (got {sorted(ids)})")
    shards.sort(key=lambda s: s[1]["shard"]["id"])
    import faiss

    vectors, docids = [], []
    for d, m in shards:
        vecs = read_vectors(faiss.read_index(str(d / "index")))
        ids_d = read_docids(d)
        if len(ids_d) != len(vecs) or len(vecs) != m["counts"]["docs"]:
            raise TevatronExtError(f"{d}: {len(vecs)} vectors, {len(ids_d)} docids, manifest {m['counts']['docs']} docs")
        vectors.append(vecs)
        docids.extend(ids_d)
    total = first["shard"]["corpus_passages"]
    if len(docids) != total:
        raise TevatronExtError(f"index merge: the shards hold {len(docids)} passages, the corpus {total}")
    ann = ann or AnnParams()
    with atomic_dir(out) as tmp:
        info = write_faiss_index(tmp, np.concatenate(vectors), docids, ann)
        EncoderContract.load(first_dir).save(tmp)
        config = {**first["config"], "index": str(out), "num_shards": 1, "shard_id": 0, "ann": ann.to_dict()}
        write_manifest(out, kind="faiss-index", manifest=tmp / "manifest.json",
                       counts={"docs": len(docids), "vectors": info["ntotal"], "dimension": info["dimension"],
                               "encoded_now": 0},
                       inputs={f"shard_{m['shard']['id']}": d / "manifest.json" for d, m in shards},
                       config=config,
                       extra={"shard": {"id": 0, "count": 1, "start": 0, "end": total, "corpus_passages": total},
                              "corpus_sha256": first.get("corpus_sha256"), "faiss": info,
                              "merged_from": [str(d) for d, _ in shards],
                              "passages_per_second": None})
    return read_manifest(out) or {}


def convert_index(src: str | Path, out: str | Path, ann: AnnParams) -> dict[str, Any]:
    """An ANN (or flat) copy of a flat index: same docids, contract and model, new ``index`` file."""
    import faiss

    from ..dense.encode import write_faiss_index

    src, out = Path(src), Path(out)
    m = read_manifest(src)
    if m is None or m.get("kind") != "faiss-index":
        raise TevatronExtError(f"{src}: not a complete tevatron-ext FAISS index; build it with `tevatron-ext encode`")
    vectors = read_vectors(faiss.read_index(str(src / "index")))
    docids = read_docids(src)
    with atomic_dir(out) as tmp:
        info = write_faiss_index(tmp, vectors, docids, ann)
        EncoderContract.load(src).save(tmp)
        write_manifest(out, kind="faiss-index", manifest=tmp / "manifest.json",
                       counts={**m["counts"], "vectors": info["ntotal"], "encoded_now": 0},
                       inputs={"source_index": src / "manifest.json"},
                       config={**m["config"], "index": str(out), "ann": ann.to_dict()},
                       extra={k: m[k] for k in ("shard", "corpus_sha256") if k in m} | {"faiss": info,
                                                                                      "converted_from": str(src)})
    return read_manifest(out) or {}
