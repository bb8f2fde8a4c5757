"""Encode a collection's passages into a FAISS index in Pyserini's layout.

The index folder holds ``index`` (``faiss.write_index``) and ``docid`` (one id a line), the files
Pyserini's ``FaissSearcher`` reads, plus the model's ``encoder_config.json`` and a manifest naming the
model, the corpus, the device, the precision and (for a shard) which slice it holds.

The corpus is read as a stream, ``shard_size`` passages at a time; each chunk's vectors are saved as
they finish, so an interrupted run resumes at its first missing chunk. Memory holds one chunk of
texts; the final index necessarily holds n x dim float32 (that IS a flat index).

Sharding follows Pyserini's convention: ``--num-shards N --shard-id I`` encodes the I-th contiguous
slice (``ceil(n / N)`` passages each, the last one shorter) into a complete index of that slice;
``tevatron-ext index merge`` joins the shards. ``--nproc N`` runs N workers through torch's launcher
(torchrun), one GPU each on CUDA, and merges them (:mod:`tevatron_ext.dense.launch`).
"""
from __future__ import annotations

import hashlib
import itertools
import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..collections import get_collection
from ..common.atomic import atomic_dir, atomic_open, read_manifest, sha256_file, write_manifest
from ..common.errors import ConfigError, TevatronExtError
from ..common.formats import Doc, iter_corpus
from ..index.ann import AnnParams


@dataclass
class EncodeConfig:
    model: str
    collection: str
    index: Path
    batch_size: int = 32
    bf16: bool | None = None  # None: the device's fast default (bf16 on a native-bf16 CPU, fp16 on a GPU)
    fp16: bool | None = None
    shard_size: int = 10000  # passages per resumable chunk
    device: str = "cpu"
    progress: bool = True
    pooling: str | None = None  # flags that must agree with the model's contract
    normalize: bool | None = None
    passage_max_length: int | None = None
    num_shards: int = 1
    shard_id: int = 0
    nproc: int = 1
    ann: AnnParams = field(default_factory=AnnParams)

    def __post_init__(self) -> None:
        self.index = Path(self.index)
        if self.num_shards < 1 or not 0 <= self.shard_id < self.num_shards:
            raise ConfigError(f"--shard-id must be in [0, --num-shards); got shard {self.shard_id} of {self.num_shards}")
        if self.nproc < 1:
            raise ConfigError(f"--nproc must be >= 1, got {self.nproc}")
        if self.nproc > 1 and self.num_shards > 1:
            raise ConfigError("--nproc shards the corpus itself: give either --nproc or --num-shards/--shard-id")
        if self.shard_size < 1 or self.batch_size < 1:
            raise ConfigError("--shard-size and --batch-size must be >= 1")


def passage_text(title: str, text: str) -> str:
    """What the encoder reads of a passage: title and text, as Pyserini/Tevatron join them."""
    return f"{title} {text}".strip() if title else text


def shard_bounds(n: int, num_shards: int, shard_id: int) -> tuple[int, int]:
    """The [start, end) passages of a shard: ceil(n / num_shards) each, as Pyserini's sharded encoding."""
    size = -(-n // num_shards)
    return min(n, shard_id * size), min(n, (shard_id + 1) * size)


def count_passages(corpus: Path) -> int:
    return sum(1 for _ in iter_corpus(corpus))


def _chunks(docs: Iterator[Doc], size: int) -> Iterator[list[Doc]]:
    while chunk := list(itertools.islice(docs, size)):
        yield chunk


def _chunk_key(cfg: EncodeConfig, model_path: str, corpus_sha: str, contract: dict[str, Any], bounds) -> str:
    body = json.dumps({"model": model_path, "corpus": corpus_sha, "contract": contract, "shard": cfg.shard_size,
                       "slice": list(bounds)}, sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def write_faiss_index(out: Path, vectors: np.ndarray, docids: list[str], ann: AnnParams, log=None) -> dict[str, Any]:
    """``out/index`` + ``out/docid`` in Pyserini's layout; returns the index's description."""
    import faiss

    from ..index.ann import build_index, describe

    if len(vectors) != len(docids):
        raise TevatronExtError(f"{len(vectors)} vectors for {len(docids)} docids")
    index = build_index(vectors, ann, log=log)
    faiss.write_index(index, str(out / "index"))
    with open(out / "docid", "w", encoding="utf-8") as fh:
        fh.writelines(d + "\n" for d in docids)
    return describe(index)


def encode_corpus(cfg: EncodeConfig) -> dict[str, Any]:
    if cfg.nproc > 1:
        from .launch import encode_multiprocess

        return encode_multiprocess(cfg)
    from ..common.device import describe as describe_device
    from ..common.device import resolve_device, resolve_precision
    from ..models.zoo import load_encoder, resolve, resolve_contract

    coll = get_collection(cfg.collection)
    corpus = coll.corpus_path()
    contract = resolve_contract(cfg.model).merged(pooling=cfg.pooling, normalize=cfg.normalize,
                                                  passage_max_length=cfg.passage_max_length)
    device = resolve_device(cfg.device)
    precision = resolve_precision(device, cfg.bf16, cfg.fp16)
    model_loc = str(resolve(cfg.model))
    n_total = count_passages(corpus)
    if not n_total:
        raise TevatronExtError(f"{corpus}: empty corpus")
    start, end = shard_bounds(n_total, cfg.num_shards, cfg.shard_id) if cfg.num_shards > 1 else (0, n_total)
    encoder = load_encoder(cfg.model, contract, device=device)
    corpus_sha = sha256_file(corpus)
    partial = cfg.index.with_name(cfg.index.name + ".partial")
    key = _chunk_key(cfg, model_loc, corpus_sha, contract.to_dict(), (start, end))
    if partial.exists() and not (partial / f"key-{key}").exists():
        shutil.rmtree(partial)  # chunks of another model/corpus/contract/slice: start over
    partial.mkdir(parents=True, exist_ok=True)
    (partial / f"key-{key}").touch()
    t0 = time.perf_counter()
    encoded = 0
    docids: list[str] = []
    n_chunks = 0
    for s, chunk in enumerate(_chunks(itertools.islice(iter_corpus(corpus), start, end), cfg.shard_size)):
        n_chunks += 1
        docids.extend(d.docid for d in chunk)
        path = partial / f"shard-{s:05d}.npy"
        if path.exists():
            continue
        vecs = encoder.encode([passage_text(d.title, d.text) for d in chunk], "passage", batch_size=cfg.batch_size,
                              precision=precision, progress=cfg.progress)
        with atomic_open(path, "wb", encoding=None) as fh:
            np.save(fh, vecs)
        encoded += len(chunk)
    seconds = time.perf_counter() - t0
    dim = encoder.dimension
    vectors = np.empty((len(docids), dim), dtype=np.float32)
    row = 0
    for s in range(n_chunks):
        vecs = np.load(partial / f"shard-{s:05d}.npy")
        size = min(cfg.shard_size, len(docids) - row)
        if vecs.shape != (size, dim):
            raise TevatronExtError(f"{partial}/shard-{s:05d}.npy: {vecs.shape} vectors for {size} passages")
        vectors[row:row + size] = vecs
        row += size
    with atomic_dir(cfg.index) as tmp:
        info = write_faiss_index(tmp, vectors, docids, cfg.ann)
        contract.save(tmp)
        shard = {"id": cfg.shard_id, "count": cfg.num_shards, "start": start, "end": end, "corpus_passages": n_total}
        write_manifest(cfg.index, kind="faiss-index", manifest=tmp / "manifest.json",
                       counts={"docs": len(docids), "vectors": info["ntotal"], "dimension": dim, "encoded_now": encoded},
                       inputs={"corpus": corpus, **({"model_manifest": Path(model_loc) / "manifest.json"}
                                                    if (Path(model_loc) / "manifest.json").is_file() else {})},
                       config={**asdict(cfg), "index": str(cfg.index), "model": model_loc, "bf16": precision == "bf16",
                               "precision": precision, **describe_device(device), "ann": cfg.ann.to_dict(),
                               "contract": contract.to_dict()},
                       extra={"passages_per_second": round(encoded / seconds, 2) if encoded and seconds > 0 else None,
                              "shard": shard, "corpus_sha256": corpus_sha, "faiss": info})
    shutil.rmtree(partial, ignore_errors=True)
    return read_manifest(cfg.index) or {}
