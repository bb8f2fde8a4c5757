"""ANN index types: build, write/read, search parameters, refusals, repeatability."""
from __future__ import annotations

import numpy as np
import pytest

from tevatron_ext.common.errors import ConfigError
from tevatron_ext.index import ann


def clustered(n=4000, dim=32, centers=40, seed=0):
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((centers, dim)).astype(np.float32)
    x = c[rng.integers(0, centers, n)] + 0.3 * rng.standard_normal((n, dim)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def recall(exact, approx, k):
    return np.mean([len(set(a[:k]) & set(e[:k])) / k for a, e in zip(approx, exact)])


@pytest.mark.parametrize("kind,search", [("hnsw", {"ef_search": 256}), ("ivf", {"nprobe": 32}),
                                         ("ivfpq", {"nprobe": 32})])
def test_types_build_roundtrip_and_recall(kind, search, tmp_path):
    import faiss

    x = clustered()
    q = x[:50] + 0.01
    flat = ann.build_index(x, ann.AnnParams("flat"))
    _, exact = flat.search(q, 10)
    idx = ann.build_index(x, ann.AnnParams(kind, pq_m=16 if kind == "ivfpq" else None))
    faiss.write_index(idx, str(tmp_path / "index"))
    back = faiss.read_index(str(tmp_path / "index"))
    assert ann.index_type(back) == kind and back.ntotal == len(x)
    assert ann.set_search_params(back, **search) == search
    d = ann.describe(back)
    assert d["type"] == kind and d["ntotal"] == len(x) and all(d[k] == v for k, v in search.items())
    _, got = back.search(q, 10)
    assert recall(exact, got, 10) >= (0.6 if kind == "ivfpq" else 0.95)


def test_search_params_refused_where_they_do_not_apply():
    x = clustered(n=2000)
    flat = ann.build_index(x, ann.AnnParams("flat"))
    with pytest.raises(ConfigError, match="HNSW"):
        ann.set_search_params(flat, ef_search=10)
    with pytest.raises(ConfigError, match="IVF"):
        ann.set_search_params(ann.build_index(x, ann.AnnParams("hnsw", hnsw_m=8)), nprobe=4)
    ivf = ann.build_index(x, ann.AnnParams("ivf", nlist=16))
    with pytest.raises(ConfigError, match="between 1 and nlist"):
        ann.set_search_params(ivf, nprobe=17)


def test_validation_and_repeatability():
    with pytest.raises(ConfigError, match="known: flat, hnsw, ivf, ivfpq"):
        ann.AnnParams("annoy")
    with pytest.raises(ConfigError, match="lower --nlist"):
        ann.build_index(clustered(n=500), ann.AnnParams("ivf", nlist=100))
    with pytest.raises(ConfigError, match="divide"):
        ann.choose_pq_m(384, 7)
    assert ann.choose_pq_m(384, None) == 96 and ann.choose_nlist(1_000_000, None) == 4000
    x = clustered(n=3000)
    a = ann.build_index(x, ann.AnnParams("ivfpq", pq_m=8))
    b = ann.build_index(x, ann.AnnParams("ivfpq", pq_m=8))
    ann.set_search_params(a, nprobe=8), ann.set_search_params(b, nprobe=8)
    assert np.array_equal(a.search(x[:20], 5)[1], b.search(x[:20], 5)[1])
    with pytest.raises(ConfigError, match="flat"):
        ann.read_vectors(a)
    assert np.allclose(ann.read_vectors(ann.build_index(x, ann.AnnParams())), x)
