"""Run fusion with Pyserini's semantics, on string ids.

Pyserini's ``pyserini.fusion`` reads topic ids with pandas' default dtype, so ``001`` becomes
``1`` and ids no longer match the qrels; these functions implement the same two methods on
``{qid: {docid: score}}`` and a test checks them against Pyserini's on ids that survive its reader:

* ``interpolate``: per-topic min-max normalisation of each run over its top ``depth`` (a constant
  list becomes all 1), then ``alpha * first + (1 - alpha) * second``, a document missing from a
  run contributing 0 for it (MIRACL's BM25 + mDPR hybrid);
* ``rrf``: ``sum 1 / (k + rank)`` over the runs (Cormack et al., 2009), ranks 1-based, k = 60.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..common.atomic import read_manifest, write_manifest
from ..common.errors import ConfigError
from ..common.formats import Run, rank_hits, read_run, write_run


def _top(hits: dict[str, float], depth: int | None) -> list[tuple[str, float]]:
    return rank_hits(hits, depth)


def normalise(hits: dict[str, float], depth: int | None = None) -> dict[str, float]:
    top = _top(hits, depth)
    if not top:
        return {}
    scores = [s for _, s in top]
    lo, hi = min(scores), max(scores)
    if hi == lo:
        return {d: 1.0 for d, _ in top}
    return {d: (s - lo) / (hi - lo) for d, s in top}


def interpolate(first: Run, second: Run, alpha: float = 0.5, depth: int | None = 1000) -> Run:
    if not 0.0 <= alpha <= 1.0:
        raise ConfigError(f"alpha must be in [0, 1], got {alpha}")
    out: Run = {}
    for qid in sorted(set(first) | set(second)):
        a, b = normalise(first.get(qid, {}), depth), normalise(second.get(qid, {}), depth)
        out[qid] = {d: alpha * a.get(d, 0.0) + (1 - alpha) * b.get(d, 0.0) for d in set(a) | set(b)}
    return out


def rrf(runs: Sequence[Run], k: int = 60, depth: int | None = 1000) -> Run:
    if len(runs) < 2:
        raise ConfigError("reciprocal rank fusion needs at least two runs")
    out: Run = {}
    for qid in sorted(set().union(*runs)):
        fused: dict[str, float] = {}
        for run in runs:
            for rank, (d, _) in enumerate(_top(run.get(qid, {}), depth), start=1):
                fused[d] = fused.get(d, 0.0) + 1.0 / (k + rank)
        out[qid] = fused
    return out


METHODS = ("interpolation", "rrf")


def fuse_files(runs: Sequence[str | Path], out: str | Path, method: str = "interpolation", alpha: float = 0.5,
               rrf_k: int = 60, depth: int | None = 1000, hits: int = 100, tag: str | None = None) -> dict[str, Any]:
    if method not in METHODS:
        raise ConfigError(f"method must be one of {METHODS}, got {method!r}")
    loaded = [read_run(r) for r in runs]
    if method == "interpolation":
        if len(loaded) != 2:
            raise ConfigError("interpolation takes exactly two runs (alpha weighs the first)")
        fused = interpolate(loaded[0], loaded[1], alpha=alpha, depth=depth)
    else:
        fused = rrf(loaded, k=rrf_k, depth=depth)
    n = write_run(out, fused, tag=tag or method, k=hits)
    write_manifest(out, kind="run", counts={"topics": len(fused), "lines": n},
                   inputs={f"run{i}": Path(r) for i, r in enumerate(runs)},
                   config={"method": method, "alpha": alpha, "rrf_k": rrf_k, "depth": depth, "hits": hits})
    return read_manifest(out) or {}
