"""Per-pair cosines and their summaries: mean/std per layer, a mismatched baseline, paired t-tests."""
from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

SETS = ("trained", "control", "mismatched")


def derangement(n: int, seed: int) -> list[int]:
    """A seeded permutation of ``range(n)`` with no fixed point (Sattolo's algorithm: one n-cycle).

    ``n < 2`` has no derangement: returns an empty list.
    """
    if n < 2:
        return []
    perm = list(range(n))
    rng = random.Random(seed)
    for i in range(n - 1, 0, -1):
        j = rng.randrange(i)
        perm[i], perm[j] = perm[j], perm[i]
    return perm


@dataclass
class PairCosines:
    """Cosines at every layer: ``[L+1, n]`` per set. ``mismatched[:, i]`` is cos(src_i, tgt_perm(i))."""

    trained: np.ndarray
    control: np.ndarray
    mismatched: np.ndarray

    def get(self, name: str) -> np.ndarray:
        return getattr(self, name)

    @property
    def num_layers(self) -> int:
        """L: the index of the output layer (there are L+1 rows, layer 0 = input embeddings)."""
        return self.trained.shape[0] - 1


def pair_cosines(emb: np.ndarray, row: Any, trained: Sequence[tuple[str, str]], control: Sequence[tuple[str, str]],
                 seed: int) -> tuple[PairCosines, dict[str, Any]]:
    """Cosines of translation pairs from unit vectors ``emb[layer, row(word)]``, and of mismatched pairs.

    The mismatched baseline pairs src_i with tgt_perm(i) over trained+control, perm a seeded
    derangement; a position whose drawn target equals its own target (synonyms) is left out.
    """
    def cos(pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        if not pairs:
            return np.zeros((emb.shape[0], 0), dtype=np.float32)
        s = np.array([row(a) for a, _ in pairs])
        t = np.array([row(b) for _, b in pairs])
        return np.einsum("lnd,lnd->ln", emb[:, s].astype(np.float64), emb[:, t].astype(np.float64))

    both = [*trained, *control]
    perm = derangement(len(both), seed)
    mism = [(both[i][0], both[j][1]) for i, j in enumerate(perm) if both[j][1] != both[i][1]]
    facts = {"n_mismatched": len(mism), "mismatched_seed": seed}
    return PairCosines(cos(trained), cos(control), cos(mism)), facts


def _clean(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def summary(values: np.ndarray) -> dict[str, float | None]:
    """Mean and sample standard deviation (ddof=1; 0.0 for one value; None for none)."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return {"mean": None, "std": None}
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if v.size > 1 else 0.0}


def layer_table(cos: PairCosines) -> list[dict[str, Any]]:
    """``[{"layer": l, "trained": {mean, std}, "control": ..., "mismatched": ...}, ...]`` for l in 0..L."""
    return [{"layer": layer, **{name: summary(cos.get(name)[layer]) for name in SETS}}
            for layer in range(cos.num_layers + 1)]


def paired_ttest(after: Sequence[float] | np.ndarray, before: Sequence[float] | np.ndarray) -> dict[str, Any]:
    """Paired t-test of ``after - before`` (scipy.stats.ttest_rel, two-sided), with means and change.

    ``relative_change`` is ``mean_diff / |mean_before|``.

    Non-finite statistics (fewer than 2 pairs, or no variance in the differences) are None.
    """
    from scipy import stats

    a = np.asarray(after, dtype=np.float64)
    b = np.asarray(before, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired samples differ in shape: {a.shape} vs {b.shape}")
    out: dict[str, Any] = {"n": int(a.size), "mean_before": summary(b)["mean"], "mean_after": summary(a)["mean"]}
    out["mean_diff"] = float((a - b).mean()) if a.size else None
    # relative to the size of the mean before, so that a rise from a negative mean reads as positive
    out["relative_change"] = (_clean(out["mean_diff"] / abs(out["mean_before"]))
                              if a.size and out["mean_before"] not in (None, 0.0) else None)
    if a.size < 2:
        out.update(statistic=None, pvalue=None, df=None)
        return out
    res = stats.ttest_rel(a, b)
    out.update(statistic=_clean(res.statistic), pvalue=_clean(res.pvalue), df=int(a.size - 1))
    return out
