"""``tevatron-ext index merge | convert``."""
from __future__ import annotations

import click

from ..dense.cli import INDEX_TYPES, ann_build_options, ann_params


@click.group()
def index() -> None:
    """FAISS indexes: merge shard indexes, convert a flat index to HNSW / IVF / IVF-PQ."""


@index.command()
@click.option("--out", "-o", required=True, type=click.Path(), help="Merged index folder.")
@click.argument("shards", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
def merge(out: str, shards: tuple[str, ...]) -> None:
    """Merge the shard indexes of one `encode --num-shards N` (all N, any order) into one flat index."""
    from .merge import merge_indexes

    m = merge_indexes(out, list(shards))
    click.echo(f"merged {len(shards)} shards: {m['counts']['docs']} passages into {out}")


@index.command()
@click.argument("flat_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("out_dir", type=click.Path())
@click.option("--type", "index_type", type=click.Choice(INDEX_TYPES), required=True)
@ann_build_options
def convert(flat_dir: str, out_dir: str, index_type: str, **params) -> None:
    """Build an ANN (or flat) index from a flat one: same docids, model and contract; Pyserini reads it."""
    from .merge import convert_index

    m = convert_index(flat_dir, out_dir, ann_params(index_type, **params))
    click.echo(f"wrote {m['faiss']['type']} index of {m['counts']['docs']} passages to {out_dir} ({m['faiss']})")
