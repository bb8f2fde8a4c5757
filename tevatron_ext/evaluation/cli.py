"""``tevatron-ext eval --qrels Q --run R``."""
from __future__ import annotations

import click

from .metrics import DEFAULT_METRICS, METRICS


@click.command("eval")
@click.option("--qrels", "-q", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--run", "-r", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--metric", "-m", "metrics", multiple=True,
              help=f"Metric from the table ({', '.join(METRICS)}) or any trec_eval measure (e.g. ndcg_cut.20). "
                   f"Default: {', '.join(DEFAULT_METRICS)}.")
@click.option("--out", "-o", type=click.Path(dir_okay=False), help="Write JSON (aggregate + per query) here.")
@click.option("--per-query", is_flag=True, help="Also print per-query values.")
def eval_cmd(qrels: str, run: str, metrics: tuple[str, ...], out: str | None, per_query: bool) -> None:
    """Score a TREC run against qrels with trec_eval semantics (-c: unretrieved topics count as 0)."""
    from ..common.atomic import atomic_write_json
    from .metrics import evaluate_files

    names = metrics or DEFAULT_METRICS
    agg, perq = evaluate_files(qrels, run, names)
    for name, value in agg.items():
        click.echo(f"{name}\t{value:.4f}")
    if per_query:
        for name, values in perq.items():
            for qid, v in values.items():
                click.echo(f"{name}\t{qid}\t{v:.4f}")
    if out:
        atomic_write_json(out, {"qrels": qrels, "run": run, "metrics": agg, "per_query": perq,
                                "definitions": {n: METRICS[n].args if n in METRICS else n for n in agg}})
