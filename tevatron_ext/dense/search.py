"""Dense search through Pyserini's ``FaissSearcher``, with queries encoded under the index's contract."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..collections import default_split, get_collection
from ..common.atomic import read_manifest, write_manifest
from ..common.errors import ConfigError, TevatronExtError
from ..common.formats import write_run
from ..common.jvm import pyserini_ready
from ..models.contract import EncoderContract


class ContractQueryEncoder:
    """A Pyserini ``QueryEncoder`` (duck-typed: ``encode(query) -> vector``) honouring an encoder contract."""

    def __init__(self, encoder, bf16: bool = False):
        self.encoder = encoder
        self.bf16 = bf16
        self.has_model = True
        self.has_encoded_query = False

    def encode(self, query: str, **kwargs: Any) -> np.ndarray:
        return self.encoder.encode([query], "query", precision="bf16" if self.bf16 else "fp32")[0]

    def encode_many(self, queries: list[str]) -> np.ndarray:
        return self.encoder.encode(queries, "query", batch_size=64, precision="bf16" if self.bf16 else "fp32")


@dataclass
class SearchConfig:
    index: Path
    collection: str
    run: Path
    split: str | None = None
    model: str | None = None  # default: the model the index was built with
    hits: int = 100
    bf16: bool | None = None
    threads: int = 2
    tag: str = "dense"
    pooling: str | None = None
    normalize: bool | None = None

    def __post_init__(self) -> None:
        self.index, self.run = Path(self.index), Path(self.run)


def search_queries(index: str | Path, queries: dict[str, str], model: str | None = None, hits: int = 100,
                   bf16: bool | None = None, threads: int = 2, pooling: str | None = None,
                   normalize: bool | None = None) -> dict[str, list[tuple[str, float]]]:
    """Dense hits for raw queries through Pyserini's FaissSearcher, under the index's encoder contract."""
    from ..models.encoder import bf16_supported
    from ..models.zoo import load_encoder, resolve_contract

    manifest = read_manifest(index)
    if manifest is None:
        raise TevatronExtError(f"{index}: not a complete tevatron-ext FAISS index; build it with `tevatron-ext encode`")
    index_contract = EncoderContract.load(index)
    model = model or manifest["config"]["model"]
    contract = resolve_contract(model).merged(pooling=pooling, normalize=normalize)
    for field in ("pooling", "normalize", "passage_prefix", "tied"):
        if getattr(contract, field) != getattr(index_contract, field):
            raise ConfigError(f"model {model} has {field}={getattr(contract, field)!r} but the index was encoded with "
                              f"{getattr(index_contract, field)!r}: scores would silently mismatch")
    bf16 = bf16_supported() if bf16 is None else bf16
    qenc = ContractQueryEncoder(load_encoder(model, contract), bf16=bf16)
    qids = list(queries)
    qvecs = qenc.encode_many([queries[q] for q in qids])
    pyserini_ready()
    from pyserini.search.faiss import FaissSearcher

    searcher = FaissSearcher(str(index), qenc)
    if searcher.num_docs != manifest["counts"]["docs"]:
        raise TevatronExtError(f"{index}: {searcher.num_docs} vectors, manifest says {manifest['counts']['docs']} docs")
    results = searcher.batch_search(qvecs, qids, k=hits, threads=threads) if qids else {}
    return {q: [(h.docid, float(h.score)) for h in results.get(q, [])] for q in qids}


def search(cfg: SearchConfig) -> dict[str, Any]:
    manifest = read_manifest(cfg.index)
    if manifest is None:
        raise TevatronExtError(f"{cfg.index}: not a complete tevatron-ext FAISS index; build it with `tevatron-ext encode`")
    model = cfg.model or manifest["config"]["model"]
    coll = get_collection(cfg.collection)
    split = default_split(coll, cfg.split)
    topics = coll.topics(split)
    qids = list(topics)
    run = search_queries(cfg.index, topics, model=model, hits=cfg.hits, bf16=cfg.bf16, threads=cfg.threads,
                         pooling=cfg.pooling, normalize=cfg.normalize)
    from ..models.encoder import bf16_supported
    from ..models.zoo import resolve_contract

    contract = resolve_contract(model)
    bf16 = bf16_supported() if cfg.bf16 is None else cfg.bf16
    missing = [q for q in qids if not run[q]]
    if missing:
        raise TevatronExtError(f"{len(missing)} topics got no results (e.g. {missing[:3]})")
    n = write_run(cfg.run, run, tag=cfg.tag, k=cfg.hits)
    write_manifest(cfg.run, kind="run", counts={"topics": len(qids), "lines": n},
                   inputs={"topics": coll.topics_path(split), "index_manifest": cfg.index / "manifest.json"},
                   config={**asdict(cfg), "index": str(cfg.index), "run": str(cfg.run), "split": split, "model": str(model),
                           "bf16": bf16, "contract": contract.to_dict()})
    return read_manifest(cfg.run) or {}
