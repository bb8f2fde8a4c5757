"""``tevatron-ext vocab coverage | extend``."""
from __future__ import annotations

import click


@click.group()
def vocab() -> None:
    """Tokenizer coverage of a script, and vocabulary extension."""


@vocab.command()
@click.argument("model")
@click.argument("collection")
@click.option("--max-docs", type=int, default=None, help="Only the first N passages.")
@click.option("--out", "-o", type=click.Path(dir_okay=False), help="Also write the report as JSON.")
def coverage(model: str, collection: str, max_docs: int | None, out: str | None) -> None:
    """Per script: share of words with an unknown token, and pieces per word, of MODEL's tokenizer on COLLECTION."""
    from ..common.atomic import atomic_write_json
    from .coverage import coverage_report

    rep = coverage_report(model, collection, max_docs)
    click.echo(f"{rep['model']} on {collection} ({rep['docs']} passages, vocabulary {rep['vocab_size']})")
    click.echo(f"{'script':<10} {'words':>8} {'unique':>7} {'unknown':>8} {'pieces/word':>12}")
    for s in rep["scripts"].values():
        click.echo(f"{s['script']:<10} {s['words']:>8} {s['unique_words']:>7} {s['unknown_word_share']:>8.1%} {s['pieces_per_word']:>12.2f}")
    if out:
        atomic_write_json(out, rep)
