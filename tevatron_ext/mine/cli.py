"""``tevatron-ext mine``."""
from __future__ import annotations

import click


@click.command()
@click.option("--collection", "-c", required=True, help="The collection the generations were made from.")
@click.option("--generations", "-g", multiple=True, required=True, type=click.Path(exists=True, dir_okay=False),
              help="Generation JSONL from `tevatron-ext generate` (repeatable).")
@click.option("--out", "-o", required=True, type=click.Path(dir_okay=False), help="Tevatron training JSONL.")
@click.option("--bm25-index", type=click.Path(exists=True, file_okay=False))
@click.option("--dense-index", type=click.Path(exists=True, file_okay=False))
@click.option("--round-trip", type=click.Choice(["auto", "bm25", "dense", "none"]), default="auto", show_default=True,
              help="auto: BM25 for queries in the passage language, dense for cross-lingual ones.")
@click.option("--round-trip-k", default=10, show_default=True)
@click.option("--negatives-from", type=click.Choice(["auto", "bm25", "dense"]), default="auto", show_default=True)
@click.option("--neg-window", default="3:30", show_default=True, help="Rank window START:END for negatives.")
@click.option("--n-negatives", default=8, show_default=True)
@click.option("--max-containment", default=0.8, show_default=True, help="Near-copy filter: query 5-gram share in passage.")
@click.option("--min-script-share", default=0.6, show_default=True)
@click.option("--seed", default=13, show_default=True)
@click.option("--report", type=click.Path(dir_okay=False), help="Sample report (Markdown) [OUT.report.md].")
def mine(collection, generations, out, bm25_index, dense_index, round_trip, round_trip_k, negatives_from, neg_window,
         n_negatives, max_containment, min_script_share, seed, report) -> None:
    """Filter synthetic queries (counted per filter) and mine hard negatives into Tevatron JSONL."""
    from .mine import MineConfig
    from .mine import mine as do_mine

    try:
        a, b = (int(x) for x in neg_window.split(":"))
    except ValueError:
        raise click.BadParameter("expected START:END", param_hint="--neg-window") from None
    m = do_mine(MineConfig(collection=collection, generations=list(generations), out=out, bm25_index=bm25_index,
                           dense_index=dense_index, round_trip=round_trip, round_trip_k=round_trip_k,
                           negatives_from=negatives_from, neg_window=(a, b), n_negatives=n_negatives,
                           max_containment=max_containment, min_script_share=min_script_share, seed=seed, report=report))
    c = m["counts"]
    click.echo(f"wrote {out}: kept {c['kept']} of {c['candidates']} ("
               + ", ".join(f"{k.removeprefix('removed_')} -{v}" for k, v in c.items() if k.startswith("removed_")) + ")")


@click.command("filter-report")
@click.argument("training_files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--label", "labels", multiple=True, help="A name per training file, in order (default: file names).")
@click.option("--out", "-o", type=click.Path(dir_okay=False), help="Write here (.md or .json); default: print Markdown.")
def filter_report(training_files, labels, out) -> None:
    """Per training file and direction: queries each mining filter removed, and the share kept.

    Reads the manifests `tevatron-ext mine` wrote; mine each prompt variant (or model) into its own
    file, then compare them here."""
    from ..common.atomic import atomic_write_text
    from .compare import load_rows, to_json, to_markdown

    rows = load_rows(list(training_files), list(labels) or None)
    text = to_json(rows) if out and out.endswith(".json") else to_markdown(rows)
    if out:
        atomic_write_text(out, text)
        click.echo(f"wrote {out}")
    else:
        click.echo(text, nl=False)
