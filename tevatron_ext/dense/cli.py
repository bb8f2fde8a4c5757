"""``tevatron-ext encode`` and ``tevatron-ext search``."""
from __future__ import annotations

import click


def _bf16_flag(f):
    return click.option("--bf16/--fp32", "bf16", default=None,
                        help="bf16 autocast on CPU (default: on where the CPU has native bf16).")(f)


@click.command()
@click.option("--model", "-m", required=True, help="Zoo name, model folder (with encoder_config.json) or hub id.")
@click.option("--collection", "-c", required=True)
@click.option("--index", "-i", required=True, type=click.Path(), help="Output FAISS index folder under indexes/.")
@click.option("--batch-size", default=32, show_default=True)
@click.option("--shard-size", default=10000, show_default=True, help="Passages per resumable shard.")
@click.option("--pooling", type=click.Choice(["cls", "mean"]), default=None, help="Must agree with the model's contract.")
@click.option("--l2-norm/--no-l2-norm", "normalize", default=None, help="Must agree with the model's contract.")
@click.option("--max-length", "passage_max_length", type=int, default=None, help="Passage max length (default: contract's).")
@click.option("--device", default="cpu", show_default=True)
@_bf16_flag
def encode(model, collection, index, batch_size, shard_size, pooling, normalize, passage_max_length, device, bf16) -> None:
    """Encode a collection's passages into a FAISS index (Pyserini layout: index + docid)."""
    from .encode import EncodeConfig, encode_corpus

    m = encode_corpus(EncodeConfig(model=model, collection=collection, index=index, batch_size=batch_size, bf16=bf16,
                                   shard_size=shard_size, device=device, pooling=pooling, normalize=normalize,
                                   passage_max_length=passage_max_length))
    c = m["counts"]
    click.echo(f"encoded {c['docs']} passages ({c['dimension']}-d) into {index}"
               + (f" at {m['passages_per_second']} passages/s" if m.get("passages_per_second") else ""))


@click.command()
@click.option("--index", "-i", required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--collection", "-c", required=True)
@click.option("--split", default=None)
@click.option("--run", "-o", "run", required=True, type=click.Path(dir_okay=False))
@click.option("--model", "-m", default=None, help="Query encoder (default: the index's model).")
@click.option("--hits", default=100, show_default=True)
@click.option("--threads", default=2, show_default=True)
@click.option("--tag", default="dense", show_default=True)
@click.option("--pooling", type=click.Choice(["cls", "mean"]), default=None)
@click.option("--l2-norm/--no-l2-norm", "normalize", default=None)
@_bf16_flag
def search(index, collection, split, run, model, hits, threads, tag, pooling, normalize, bf16) -> None:
    """Search a FAISS index with Pyserini's FaissSearcher and write a TREC run."""
    from .search import SearchConfig
    from .search import search as do_search

    m = do_search(SearchConfig(index=index, collection=collection, run=run, split=split, model=model, hits=hits,
                               bf16=bf16, threads=threads, tag=tag, pooling=pooling, normalize=normalize))
    click.echo(f"wrote {run}: {m['counts']['topics']} topics, {m['counts']['lines']} lines")
