"""Encode a collection's passages into a FAISS flat inner-product index in Pyserini's layout.

The index folder holds Pyserini's ``index`` + ``docid`` files (written by Pyserini's
``FaissRepresentationWriter``), the model's ``encoder_config.json`` and a manifest naming the model.
Large corpora are encoded in shards saved as they finish; an interrupted run resumes at the first
missing shard.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..collections import get_collection
from ..common.atomic import atomic_dir, atomic_open, read_manifest, sha256_file, write_manifest
from ..common.errors import TevatronExtError
from ..common.formats import iter_corpus
from ..common.jvm import pyserini_ready


@dataclass
class EncodeConfig:
    model: str
    collection: str
    index: Path
    batch_size: int = 32
    bf16: bool | None = None  # None: on where the CPU supports bf16 natively
    shard_size: int = 10000
    device: str = "cpu"
    progress: bool = True
    pooling: str | None = None  # flags that must agree with the model's contract
    normalize: bool | None = None
    passage_max_length: int | None = None

    def __post_init__(self) -> None:
        self.index = Path(self.index)


def passage_text(title: str, text: str) -> str:
    """What the encoder reads of a passage: title and text, as Pyserini/Tevatron join them."""
    return f"{title} {text}".strip() if title else text


def _shard_key(cfg: EncodeConfig, model_path: str, corpus_sha: str, contract: dict[str, Any]) -> str:
    body = json.dumps({"model": model_path, "corpus": corpus_sha, "contract": contract, "shard": cfg.shard_size}, sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def encode_corpus(cfg: EncodeConfig) -> dict[str, Any]:
    from ..common.device import resolve_device, resolve_precision
    from ..models.zoo import load_encoder, resolve, resolve_contract

    coll = get_collection(cfg.collection)
    corpus = coll.corpus_path()
    contract = resolve_contract(cfg.model).merged(pooling=cfg.pooling, normalize=cfg.normalize,
                                                  passage_max_length=cfg.passage_max_length)
    device = resolve_device(cfg.device)
    precision = resolve_precision(device, cfg.bf16)
    bf16 = precision == "bf16"
    encoder = load_encoder(cfg.model, contract, device=device)
    docs = list(iter_corpus(corpus))
    if not docs:
        raise TevatronExtError(f"{corpus}: empty corpus")
    model_loc = str(resolve(cfg.model))
    corpus_sha = sha256_file(corpus)
    partial = cfg.index.with_name(cfg.index.name + ".partial")
    key = _shard_key(cfg, model_loc, corpus_sha, contract.to_dict())
    if partial.exists() and not (partial / f"key-{key}").exists():
        shutil.rmtree(partial)  # shards of another model/corpus/contract: start over
    partial.mkdir(parents=True, exist_ok=True)
    (partial / f"key-{key}").touch()
    t0 = time.perf_counter()
    encoded = 0
    n_shards = (len(docs) + cfg.shard_size - 1) // cfg.shard_size
    for s in range(n_shards):
        shard = partial / f"shard-{s:05d}.npy"
        if shard.exists():
            continue
        chunk = docs[s * cfg.shard_size:(s + 1) * cfg.shard_size]
        vecs = encoder.encode([passage_text(d.title, d.text) for d in chunk], "passage", batch_size=cfg.batch_size,
                              precision=precision, progress=cfg.progress)
        with atomic_open(shard, "wb", encoding=None) as fh:
            np.save(fh, vecs)
        encoded += len(chunk)
    seconds = time.perf_counter() - t0
    pyserini_ready()  # importing pyserini.encode starts the JVM
    from pyserini.encode.optional._faiss import FaissRepresentationWriter

    with atomic_dir(cfg.index) as tmp:
        writer = FaissRepresentationWriter(str(tmp), dimension=encoder.dimension)
        with writer:
            for s in range(n_shards):
                chunk = docs[s * cfg.shard_size:(s + 1) * cfg.shard_size]
                vecs = np.load(partial / f"shard-{s:05d}.npy")
                if vecs.shape != (len(chunk), encoder.dimension):
                    raise TevatronExtError(f"shard {s}: {vecs.shape} vectors for {len(chunk)} passages")
                writer.write({"id": [d.docid for d in chunk], "vector": vecs})
        n_vectors = writer.index.ntotal
        if n_vectors != len(docs):
            raise TevatronExtError(f"index has {n_vectors} vectors for {len(docs)} passages")
        contract.save(tmp)
        write_manifest(cfg.index, kind="faiss-index", manifest=tmp / "manifest.json",
                       counts={"docs": len(docs), "vectors": n_vectors, "dimension": encoder.dimension,
                               "encoded_now": encoded},
                       inputs={"corpus": corpus, **({"model_manifest": Path(model_loc) / "manifest.json"}
                                                    if (Path(model_loc) / "manifest.json").is_file() else {})},
                       config={**asdict(cfg), "index": str(cfg.index), "model": model_loc, "bf16": bf16,
                               "contract": contract.to_dict()},
                       extra={"passages_per_second": round(encoded / seconds, 2) if encoded and seconds > 0 else None})
    shutil.rmtree(partial, ignore_errors=True)
    return read_manifest(cfg.index) or {}
