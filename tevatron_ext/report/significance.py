"""Paired significance tests on per-query scores, with Holm correction over a table."""
from __future__ import annotations

import random
from collections.abc import Sequence


def paired_t_test(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """Two-sided paired t-test (as scipy.stats.ttest_rel): returns (t, p); identical inputs give (0, 1)."""
    from scipy import stats

    if len(a) != len(b) or len(a) < 2:
        raise ValueError("paired tests need two equally long samples of at least 2")
    if all(x == y for x, y in zip(a, b)):
        return 0.0, 1.0
    res = stats.ttest_rel(a, b)
    return float(res.statistic), float(res.pvalue)


def randomisation_test(a: Sequence[float], b: Sequence[float], trials: int = 10000, seed: int = 0) -> float:
    """Two-sided paired randomisation (sign-flip) test on the mean difference; p with the +1 correction."""
    if len(a) != len(b) or not a:
        raise ValueError("paired tests need two equally long, non-empty samples")
    diffs = [x - y for x, y in zip(a, b)]
    observed = abs(sum(diffs))
    if observed == 0:
        return 1.0
    rng = random.Random(seed)
    hits = 0
    for _ in range(trials):
        s = sum(d if rng.random() < 0.5 else -d for d in diffs)
        if abs(s) >= observed - 1e-12:
            hits += 1
    return (hits + 1) / (trials + 1)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (monotone, capped at 1), in input order."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted
