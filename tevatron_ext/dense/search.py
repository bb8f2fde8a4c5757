"""Dense search through Pyserini's ``FaissSearcher``, with queries encoded under the index's contract.

Everything a search needs is resolved once (:func:`resolve_search`): the index manifest, the query
model (default: the index's), its contract checked against the index's, the device and precision,
the ANN search parameters. The resolved object then flows one way into encoding and searching.
"""
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

    def __init__(self, encoder, precision: str = "fp32"):
        self.encoder = encoder
        self.precision = precision
        self.has_model = True
        self.has_encoded_query = False

    def encode(self, query: str, **kwargs: Any) -> np.ndarray:
        return self.encoder.encode([query], "query", precision=self.precision)[0]

    def encode_many(self, queries: list[str]) -> np.ndarray:
        return self.encoder.encode(queries, "query", batch_size=64, precision=self.precision)


@dataclass
class SearchConfig:
    index: Path
    collection: str
    run: Path
    split: str | None = None
    model: str | None = None  # default: the model the index was built with
    hits: int = 100
    bf16: bool | None = None  # None: the device's fast default
    fp16: bool | None = None
    device: str = "cpu"
    threads: int = 2
    tag: str = "dense"
    pooling: str | None = None
    normalize: bool | None = None
    ef_search: int | None = None  # HNSW indexes
    nprobe: int | None = None  # IVF indexes

    def __post_init__(self) -> None:
        self.index, self.run = Path(self.index), Path(self.run)


@dataclass(frozen=True)
class ResolvedSearch:
    index: Path
    manifest: dict[str, Any]
    model: str
    contract: EncoderContract
    device: Any
    precision: str
    ef_search: int | None
    nprobe: int | None

    def record(self) -> dict[str, Any]:
        from ..common.device import describe

        return {"model": str(self.model), "precision": self.precision, "bf16": self.precision == "bf16",
                **describe(self.device), "contract": self.contract.to_dict(),
                "search_params": {k: v for k, v in (("ef_search", self.ef_search), ("nprobe", self.nprobe)) if v is not None}}


def resolve_search(index: str | Path, model: str | None = None, bf16: bool | None = None, fp16: bool | None = None,
                   device: str = "cpu", pooling: str | None = None, normalize: bool | None = None,
                   ef_search: int | None = None, nprobe: int | None = None) -> ResolvedSearch:
    """Read and check everything once: the index, the query model's contract against the index's, device, precision."""
    from ..common.device import resolve_device, resolve_precision
    from ..models.zoo import resolve_contract

    index = Path(index)
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
    dev = resolve_device(device)
    return ResolvedSearch(index, manifest, model, contract, dev, resolve_precision(dev, bf16, fp16), ef_search, nprobe)


def search_resolved(rs: ResolvedSearch, queries: dict[str, str], hits: int = 100,
                    threads: int = 2) -> dict[str, list[tuple[str, float]]]:
    """Dense hits for raw queries through Pyserini's FaissSearcher."""
    from ..index.ann import set_search_params
    from ..models.zoo import load_encoder

    qenc = ContractQueryEncoder(load_encoder(rs.model, rs.contract, device=rs.device), precision=rs.precision)
    qids = list(queries)
    qvecs = qenc.encode_many([queries[q] for q in qids])
    pyserini_ready()
    from pyserini.search.faiss import FaissSearcher

    searcher = FaissSearcher(str(rs.index), qenc)
    set_search_params(searcher.index, ef_search=rs.ef_search, nprobe=rs.nprobe)
    if searcher.num_docs != rs.manifest["counts"]["docs"]:
        raise TevatronExtError(f"{rs.index}: {searcher.num_docs} vectors, manifest says {rs.manifest['counts']['docs']} docs")
    results = searcher.batch_search(qvecs, qids, k=hits, threads=threads) if qids else {}
    return {q: [(h.docid, float(h.score)) for h in results.get(q, [])] for q in qids}


def search_queries(index: str | Path, queries: dict[str, str], model: str | None = None, hits: int = 100,
                   bf16: bool | None = None, threads: int = 2, pooling: str | None = None,
                   normalize: bool | None = None, device: str = "cpu") -> dict[str, list[tuple[str, float]]]:
    """Dense hits for raw queries (what ``mine`` calls): resolve, then search."""
    rs = resolve_search(index, model=model, bf16=bf16, device=device, pooling=pooling, normalize=normalize)
    return search_resolved(rs, queries, hits=hits, threads=threads)


def search(cfg: SearchConfig) -> dict[str, Any]:
    rs = resolve_search(cfg.index, model=cfg.model, bf16=cfg.bf16, fp16=cfg.fp16, device=cfg.device, pooling=cfg.pooling,
                        normalize=cfg.normalize, ef_search=cfg.ef_search, nprobe=cfg.nprobe)
    coll = get_collection(cfg.collection)
    split = default_split(coll, cfg.split)
    topics = coll.topics(split)
    qids = list(topics)
    run = search_resolved(rs, topics, hits=cfg.hits, threads=cfg.threads)
    missing = [q for q in qids if not run[q]]
    if missing:
        raise TevatronExtError(f"{len(missing)} topics got no results (e.g. {missing[:3]})")
    n = write_run(cfg.run, run, tag=cfg.tag, k=cfg.hits)
    write_manifest(cfg.run, kind="run", counts={"topics": len(qids), "lines": n},
                   inputs={"topics": coll.topics_path(split), "index_manifest": cfg.index / "manifest.json"},
                   config={**asdict(cfg), "index": str(cfg.index), "run": str(cfg.run), "split": split, **rs.record()})
    return read_manifest(cfg.run) or {}
