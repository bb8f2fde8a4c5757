"""``tevatron-ext fuse``."""
from __future__ import annotations

import click


@click.command()
@click.option("--runs", "-r", required=True, multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Input runs (repeat the option). For interpolation exactly two: alpha weighs the first.")
@click.option("--out", "-o", required=True, type=click.Path(dir_okay=False))
@click.option("--method", type=click.Choice(["interpolation", "rrf"]), default="interpolation", show_default=True)
@click.option("--alpha", default=0.5, show_default=True, help="Interpolation weight of the first run (after min-max normalisation).")
@click.option("--rrf-k", default=60, show_default=True)
@click.option("--depth", default=1000, show_default=True, help="Hits of each input run considered.")
@click.option("--hits", default=100, show_default=True)
@click.option("--tag", default=None)
def fuse(runs, out, method, alpha, rrf_k, depth, hits, tag) -> None:
    """Fuse runs into a hybrid run (MIRACL-style normalised interpolation, or RRF)."""
    from .fusion import fuse_files

    m = fuse_files(runs, out, method=method, alpha=alpha, rrf_k=rrf_k, depth=depth, hits=hits, tag=tag)
    click.echo(f"wrote {out}: {m['counts']['topics']} topics, {m['counts']['lines']} lines")
