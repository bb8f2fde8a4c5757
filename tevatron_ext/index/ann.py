"""ANN index types, built with FAISS, all inner product (cosine when the vectors are L2-normalised).

| type    | FAISS                        | build parameters                  | search parameter |
|---------|------------------------------|-----------------------------------|------------------|
| flat    | IndexFlatIP (exact)          | -                                 | -                |
| hnsw    | IndexHNSWFlat                | hnsw_m, ef_construction           | ef_search        |
| ivf     | IndexIVFFlat                 | nlist                             | nprobe           |
| ivfpq   | IndexIVFPQ                   | nlist, pq_m, nbits                | nprobe           |

Every type is written with ``faiss.write_index`` as the index folder's ``index`` file, which
Pyserini's ``FaissSearcher`` reads as it reads its own flat and HNSW indexes (``pyserini.index.faiss``
builds HNSW with the same M / efConstruction names). IVF types are trained on the vectors themselves,
with a fixed k-means seed, so a build is repeatable.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..common.errors import ConfigError

INDEX_TYPES = ("flat", "hnsw", "ivf", "ivfpq")
MIN_POINTS_PER_LIST = 39  # FAISS warns below this many training points per centroid


@dataclass(frozen=True)
class AnnParams:
    type: str = "flat"
    hnsw_m: int = 32
    ef_construction: int = 200
    nlist: int | None = None  # None: about 4 * sqrt(n), at most n / 39
    pq_m: int | None = None  # None: the largest divisor of the dimension <= dimension / 4
    nbits: int = 8
    seed: int = 13

    def __post_init__(self) -> None:
        if self.type not in INDEX_TYPES:
            raise ConfigError(f"unknown index type {self.type!r}; known: {', '.join(INDEX_TYPES)}")
        for name in ("hnsw_m", "ef_construction", "nbits"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("nlist", "pq_m"):
            v = getattr(self, name)
            if v is not None and v < 1:
                raise ConfigError(f"{name} must be >= 1, got {v}")

    def to_dict(self) -> dict[str, Any]:
        keep = {"flat": (), "hnsw": ("hnsw_m", "ef_construction"), "ivf": ("nlist", "seed"),
                "ivfpq": ("nlist", "pq_m", "nbits", "seed")}[self.type]
        return {"type": self.type, **{k: v for k, v in asdict(self).items() if k in keep}}


def choose_nlist(n: int, nlist: int | None) -> int:
    if nlist is not None:
        if nlist * MIN_POINTS_PER_LIST > n:
            raise ConfigError(f"nlist {nlist} needs at least {nlist * MIN_POINTS_PER_LIST} vectors to train "
                              f"({MIN_POINTS_PER_LIST} a list); this index has {n}: lower --nlist")
        return nlist
    return max(1, min(int(4 * math.sqrt(n)), n // MIN_POINTS_PER_LIST))


def choose_pq_m(dim: int, pq_m: int | None) -> int:
    if pq_m is not None:
        if dim % pq_m:
            raise ConfigError(f"--pq-m {pq_m} must divide the dimension {dim}")
        return pq_m
    return max(m for m in range(1, dim // 4 + 1) if dim % m == 0)


def build_index(vectors: np.ndarray, params: AnnParams, log: Callable[[str], None] | None = None) -> Any:
    """A FAISS index of ``params.type`` over ``vectors`` (n x d float32), trained if the type needs it."""
    import faiss

    x = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = x.shape
    ip = faiss.METRIC_INNER_PRODUCT
    if params.type == "flat":
        index = faiss.IndexFlatIP(dim)
    elif params.type == "hnsw":
        index = faiss.IndexHNSWFlat(dim, params.hnsw_m, ip)
        index.hnsw.efConstruction = params.ef_construction
    else:
        nlist = choose_nlist(n, params.nlist)
        quantizer = faiss.IndexFlatIP(dim)
        if params.type == "ivf":
            index = faiss.IndexIVFFlat(quantizer, dim, nlist, ip)
        else:
            m = choose_pq_m(dim, params.pq_m)
            if n < 2 ** params.nbits:
                raise ConfigError(f"ivfpq with nbits {params.nbits} needs at least {2 ** params.nbits} vectors to "
                                  f"train its codebooks; this index has {n}: lower --nbits")
            index = faiss.IndexIVFPQ(quantizer, dim, nlist, m, params.nbits, ip)
        index.cp.seed = params.seed  # (faiss's wrapper keeps the quantizer alive with the index)
        if log:
            log(f"training {params.type} (nlist {nlist}) on {n} vectors")
        index.train(x)
    index.add(x)
    return index


def _unwrap(index: Any) -> Any:
    import faiss

    return faiss.downcast_index(index)


def set_search_params(index: Any, ef_search: int | None = None, nprobe: int | None = None) -> dict[str, int]:
    """Apply efSearch (HNSW) / nprobe (IVF) to a loaded index; a parameter its type lacks is an error."""
    import faiss

    base = _unwrap(index)
    kind = index_type(base)
    applied: dict[str, int] = {}
    if ef_search is not None:
        if kind != "hnsw":
            raise ConfigError(f"--ef-search applies to HNSW indexes; this one is {kind}")
        if ef_search < 1:
            raise ConfigError(f"--ef-search must be >= 1, got {ef_search}")
        base.hnsw.efSearch = ef_search
        applied["ef_search"] = ef_search
    if nprobe is not None:
        if kind not in ("ivf", "ivfpq"):
            raise ConfigError(f"--nprobe applies to IVF indexes (ivf, ivfpq); this one is {kind}")
        ivf = faiss.extract_index_ivf(base)
        if not 1 <= nprobe <= ivf.nlist:
            raise ConfigError(f"--nprobe must be between 1 and nlist ({ivf.nlist}), got {nprobe}")
        ivf.nprobe = nprobe
        applied["nprobe"] = nprobe
    return applied


def index_type(index: Any) -> str:
    import faiss

    base = _unwrap(index)
    if isinstance(base, faiss.IndexHNSW):
        return "hnsw"
    if isinstance(base, faiss.IndexIVFPQ):
        return "ivfpq"
    if isinstance(base, faiss.IndexIVF):
        return "ivf"
    if isinstance(base, faiss.IndexFlat):
        return "flat"
    return type(base).__name__


def describe(index: Any) -> dict[str, Any]:
    """The type, size and build/search parameters read back from a FAISS index (for manifests)."""
    import faiss

    base = _unwrap(index)
    kind = index_type(base)
    out: dict[str, Any] = {"type": kind, "ntotal": int(base.ntotal), "dimension": int(base.d)}
    if kind == "hnsw":
        out.update(hnsw_m=int(base.hnsw.nb_neighbors(1)), ef_construction=int(base.hnsw.efConstruction),
                   ef_search=int(base.hnsw.efSearch))
    elif kind in ("ivf", "ivfpq"):
        ivf = faiss.extract_index_ivf(base)
        out.update(nlist=int(ivf.nlist), nprobe=int(ivf.nprobe))
        if kind == "ivfpq":
            out.update(pq_m=int(base.pq.M), nbits=int(base.pq.nbits))
    return out


def read_vectors(index: Any) -> np.ndarray:
    """Every vector of a flat index, in id order (what ``index convert`` and ``index merge`` start from)."""
    base = _unwrap(index)
    if index_type(base) != "flat":
        raise ConfigError(f"expected a flat index (the exact vectors), got {index_type(base)}: convert from the flat "
                          "index that `tevatron-ext encode` writes")
    if base.ntotal == 0:
        return np.zeros((0, base.d), dtype=np.float32)
    return base.reconstruct_n(0, base.ntotal)
