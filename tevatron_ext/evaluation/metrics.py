"""Metric definitions in one table (as Pyserini 2CR) and evaluation with trec_eval semantics.

Each name maps to trec_eval options; ``evaluate`` reproduces ``trec_eval -c`` (queries in the
qrels that are missing from the run count as 0) with pytrec_eval, which runs trec_eval's own C
code. ``-M k`` (consider only the top k documents) truncates the run in trec_eval's order:
score descending, then docid descending.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..common.errors import ConfigError
from ..common.formats import Qrels, Run, read_qrels, read_run


@dataclass(frozen=True)
class Metric:
    name: str
    measure: str  # trec_eval measure as pytrec_eval names it, e.g. "ndcg_cut.10"
    key: str  # key in pytrec_eval's result, e.g. "ndcg_cut_10"
    max_docs: int | None = None  # trec_eval -M
    trec_eval_args: str = ""

    @property
    def args(self) -> str:
        cutoff = f"-M {self.max_docs} " if self.max_docs else ""
        return self.trec_eval_args or f"-c {cutoff}-m {self.measure}"


METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("nDCG@10", "ndcg_cut.10", "ndcg_cut_10"),
    Metric("R@100", "recall.100", "recall_100"),
    Metric("R@1000", "recall.1000", "recall_1000"),
    Metric("MRR@10", "recip_rank", "recip_rank", max_docs=10),
    Metric("MAP", "map", "map"),
    Metric("P@10", "P.10", "P_10"),
    Metric("nDCG@20", "ndcg_cut.20", "ndcg_cut_20"),
)}
DEFAULT_METRICS = ("nDCG@10", "R@100", "MRR@10")


def resolve(name: str) -> Metric:
    """A metric by table name (``nDCG@10``) or by trec_eval measure (``ndcg_cut.10``, ``recall.20``)."""
    if name in METRICS:
        return METRICS[name]
    for m in METRICS.values():
        if name in (m.measure, m.key):
            return m
    base, _, param = name.partition(".")
    import pytrec_eval

    if base not in pytrec_eval.supported_measures:
        raise ConfigError(f"unknown metric {name!r}; table: {', '.join(METRICS)}; or any trec_eval measure "
                          f"({', '.join(sorted(pytrec_eval.supported_measures))})")
    key = f"{base}_{param}" if param else base
    return Metric(name, name, key)


def trec_order(hits: Mapping[str, float]) -> list[tuple[str, float]]:
    """trec_eval's internal order: score descending, ties by docid descending."""
    return sorted(hits.items(), key=lambda x: (x[1], x[0]), reverse=True)


def evaluate(qrels: Qrels, run: Run, metrics: Iterable[str] = DEFAULT_METRICS) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Return ``(aggregate, per_query)`` for each metric, averaged over every query in the qrels (-c).

    Inputs are not modified. The per-query dict maps ``metric -> {qid: value}``.
    """
    import pytrec_eval

    wanted = [resolve(m) for m in metrics]
    if not qrels:
        raise ConfigError("empty qrels: nothing to evaluate")
    aggregate: dict[str, float] = {}
    per_query: dict[str, dict[str, float]] = {}
    for max_docs in sorted({m.max_docs for m in wanted}, key=lambda x: x or 0):
        group = [m for m in wanted if m.max_docs == max_docs]
        sub = {q: dict(trec_order(h)[:max_docs]) if max_docs else dict(h) for q, h in run.items() if q in qrels}
        sub = {q: {d: float(s) for d, s in h.items()} for q, h in sub.items()}
        evaluator = pytrec_eval.RelevanceEvaluator({q: dict(j) for q, j in qrels.items()}, {m.measure for m in group})
        res = evaluator.evaluate(sub) if sub else {}
        for m in group:
            values = {q: float(res.get(q, {}).get(m.key, 0.0)) for q in qrels}
            per_query[m.name] = values
            aggregate[m.name] = sum(values.values()) / len(values)
    return {m.name: aggregate[m.name] for m in wanted}, {m.name: per_query[m.name] for m in wanted}


def evaluate_files(qrels: str | Path, run: str | Path, metrics: Iterable[str] = DEFAULT_METRICS):
    return evaluate(read_qrels(qrels), read_run(run), metrics)
