"""Scaling: dense search cost against corpus size, flat vs HNSW, and the linear cost of encoding.

Random unit vectors (dimension 384, as multilingual-E5-small; seeded) stand in for a corpus of
1k, 10k and (full run) 100k passages; 100 queries, k=100, 2 threads. Flat search is FAISS
``IndexFlatIP`` (what ``tevatron-ext encode`` writes, as Pyserini's flat indexes); the approximate
alternative is ``IndexHNSWFlat`` with inner product (what Pyserini's ``pyserini.index.faiss --hnsw``
builds), whose recall@100 against the exact flat results is measured. Random vectors are the hard
case for HNSW (no cluster structure), so its recall here is a lower bound for real embeddings.
Encoding cost is linear in corpus size: projected from the encode benchmark's passages/s.
"""
from __future__ import annotations

from typing import Any

import common
import numpy as np

DIM = 384
N_QUERIES = 100
K = 100
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 100
HNSW_EF_SEARCH = (128, 512)
INTERACTIVE_MS = 50.0  # a single query should come back within this to feel interactive
SEED = 13


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    x = rng.standard_normal((n, DIM), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def run(quick: bool, encode_pps: float | None = None) -> list[dict[str, Any]]:
    import faiss

    faiss.omp_set_num_threads(2)
    try:
        return _run(quick, encode_pps)
    finally:
        common.faiss_release()  # else its spinning OpenMP worker slows the torch benchmarks after this one


def _run(quick: bool, encode_pps: float | None) -> list[dict[str, Any]]:
    import faiss

    sizes = [1_000, 10_000] if quick else [1_000, 10_000, 100_000]
    rng = np.random.default_rng(SEED)
    queries = _unit(rng, N_QUERIES)
    corpus = _unit(rng, sizes[-1])
    rows: list[dict[str, Any]] = []
    per_query_ms: dict[int, float] = {}
    for n in sizes:
        xb = corpus[:n]
        flat = faiss.IndexFlatIP(DIM)
        flat.add(xb)
        flat.search(queries[:10], K)  # warm-up
        hnsw = faiss.IndexHNSWFlat(DIM, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        build_s, _ = common.timed(hnsw.add, xb)
        exact = None
        fns = {"flat": lambda index=flat: index.search(queries, K)}
        for ef in HNSW_EF_SEARCH:
            def search(ef=ef, index=hnsw):
                index.hnsw.efSearch = ef
                return index.search(queries, K)

            fns[f"hnsw{ef}"] = search
        times, outs = common.interleave(fns, 3)
        exact = outs["flat"][1]
        # one query at a time (an interactive searcher), flat: median latency with 1 and with 2 OpenMP threads
        single = {}
        for threads in (1, 2):
            faiss.omp_set_num_threads(threads)
            single[threads] = 1000 * common.median(common.timed(flat.search, queries[i:i + 1], K)[0]
                                                   for i in range(20))
        faiss.omp_set_num_threads(2)
        per_query_ms[n] = single[1]
        flat_qps = N_QUERIES / common.median(times["flat"])
        for ef in HNSW_EF_SEARCH:
            got = outs[f"hnsw{ef}"][1]
            recall = float(np.mean([len(set(got[i]) & set(exact[i])) / K for i in range(N_QUERIES)]))
            qps = N_QUERIES / common.median(times[f"hnsw{ef}"])
            rows.append(common.result(
                f"search {n // 1000}k x {DIM}: HNSW (efSearch {ef}) vs flat IndexFlatIP queries/s", qps, flat_qps, "queries/s",
                short=f"HNSW recall@{K} {recall:.3f} of flat (random vectors: a lower bound)",
                note=f"HNSW recall@{K} vs flat {recall:.3f}; HNSW M={HNSW_M} efConstruction={HNSW_EF_CONSTRUCTION} built in "
                     f"{build_s:.1f}s; {N_QUERIES} queries, k={K}, 2 threads; flat one query at a time: {single[1]:.2f} ms "
                     f"(1 OpenMP thread), {single[2]:.2f} ms (2 threads)",
                details={"recall_at_100": recall, "hnsw_build_s": build_s, "seconds": times,
                         "flat_single_query_ms": single}))
    # where flat stops being interactive: flat cost is linear in n (fit through the largest size)
    n_big = sizes[-1]
    ms_per_doc = per_query_ms[n_big] / n_big
    limit = INTERACTIVE_MS / ms_per_doc
    rows.append(common.result(
        "flat search: largest corpus answering one query within 50 ms", limit, None, "passages",
        short=f"linear fit from {n_big:,} passages: beyond this, switch to HNSW and check its recall",
        note=f"flat stops being fast enough near {limit:,.0f} passages: linear fit from {n_big:,} passages "
             + ("(optimistic: 10k vectors fit in cache, 100k do not; the full run fits from 100k) " if n_big < 100_000 else "")
             + f"({per_query_ms[n_big]:.2f} ms a query, 1 thread); 1M passages ~ {ms_per_doc * 1e6:.0f} ms a query, "
             f"10M ~ {ms_per_doc * 1e7 / 1000:.1f} s and {DIM * 4 * 1e7 / 2**30:.0f} GiB of vectors; beyond that switch to "
             "HNSW (Pyserini --hnsw) and check its recall as above. Batch evaluation (100 queries at once) stays fine "
             "longer. For single queries use 1 OpenMP thread: 2 threads cost far more on this 2-core machine",
        details={"single_query_ms": per_query_ms, "ms_per_passage": ms_per_doc}))
    if encode_pps:
        proj = {n: n / encode_pps for n in (1_000, 10_000, 100_000, 1_000_000)}
        rows.append(common.result(
            "encode cost projection (linear in corpus size)", encode_pps, None, "passages/s",
            short=", ".join(f"{n:,} passages ~ {_human(s)}" for n, s in proj.items()),
            note="at the encode benchmark's passages/s on this CPU: " + ", ".join(
                f"{n:,} passages ~ {_human(s)}" for n, s in proj.items()),
            details={"seconds": proj}))
    else:
        rows.append(common.skipped("encode cost projection (linear in corpus size)",
                                   "no passages/s from the encode benchmark in this run"))
    return rows


def _human(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


if __name__ == "__main__":
    common.main(run)
