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


@vocab.command()
@click.option("--model", "-m", required=True, help="Base encoder (zoo name, folder with encoder_config.json, hub id).")
@click.option("--collection", "-c", required=True, help="Target-language corpus to learn pieces from.")
@click.option("--out", "-o", required=True, type=click.Path(), help="Output model folder.")
@click.option("--vocab-size", default=8000, show_default=True, help="Vocabulary learned on the corpus (new pieces are its unseen part).")
@click.option("--min-frequency", default=2, show_default=True)
@click.option("--noise", default=0.02, show_default=True,
              help="New rows with no known piece: [UNK] + Gaussian noise of NOISE x the table's std. Keep it small for a "
                   "pretrained model (rows start where it puts unseen text); use 1 for a randomly initialised one.")
@click.option("--seed", default=13, show_default=True)
def extend(model: str, collection: str, out: str, vocab_size: int, min_frequency: int, noise: float, seed: int) -> None:
    """Add the target corpus's unseen pieces to MODEL's vocabulary, resize and initialise, and save."""
    from .extend import ExtendConfig
    from .extend import extend as do_extend

    m = do_extend(ExtendConfig(model=model, collection=collection, out=out, vocab_size=vocab_size, noise=noise,
                               min_frequency=min_frequency, seed=seed))
    click.echo(f"added {m['counts']['added_pieces']} pieces -> {out}")
    for label, key in (("before", "coverage_before"), ("after", "coverage_after")):
        for s in m[key].values():
            click.echo(f"  {label:<6} {s['script']:<9} unknown {s['unknown_word_share']:6.1%}  pieces/word {s['pieces_per_word']:.2f}")
