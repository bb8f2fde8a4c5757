"""``tevatron-ext encode`` and ``tevatron-ext search``.

Defaults come from the config dataclasses and choice lists from the library's constants, so the
help text cannot drift from what runs.
"""
from __future__ import annotations

import dataclasses

import click

from ..common.device import DEVICE_HELP
from ..models.contract import POOLINGS

INDEX_TYPES = ("flat", "hnsw", "ivf", "ivfpq")  # = tevatron_ext.index.ann.INDEX_TYPES (kept import-light; a test checks)


def default(cls, name: str):
    """The default of a config dataclass field (one place for every default)."""
    f = {f.name: f for f in dataclasses.fields(cls)}[name]
    return f.default_factory() if f.default is dataclasses.MISSING else f.default


def precision_flags(f):
    f = click.option("--fp16", is_flag=True, default=None, help="fp16 autocast (GPU only).")(f)
    return click.option("--bf16/--fp32", "bf16", default=None,
                        help="bf16 autocast, or fp32 (default: bf16 on a CPU with native bf16, fp16 on a GPU).")(f)


def ann_build_options(f):
    from ..index.ann import AnnParams

    for name, flag, hlp in reversed((
            ("hnsw_m", "--hnsw-m", "HNSW: neighbours per node (M)."),
            ("ef_construction", "--ef-construction", "HNSW: efConstruction."),
            ("nlist", "--nlist", "IVF: inverted lists (default ~4*sqrt(n), at least 39 vectors a list)."),
            ("pq_m", "--pq-m", "IVF-PQ: sub-quantizers, a divisor of the dimension (default: the largest <= dim/4)."),
            ("nbits", "--nbits", "IVF-PQ: bits per code."))):
        f = click.option(flag, name, type=int, default=default(AnnParams, name),
                         show_default=default(AnnParams, name) is not None, help=hlp)(f)
    return f


def ann_params(index_type: str, **kw):
    from ..index.ann import AnnParams

    return AnnParams(type=index_type, **kw)


@click.command()
@click.option("--model", "-m", required=True, help="Zoo name, model folder (with encoder_config.json) or hub id.")
@click.option("--collection", "-c", required=True)
@click.option("--index", "-i", required=True, type=click.Path(), help="Output FAISS index folder under indexes/.")
@click.option("--batch-size", default=32, show_default=True)
@click.option("--shard-size", default=10000, show_default=True, help="Passages per resumable chunk.")
@click.option("--num-shards", default=1, show_default=True, help="Split the corpus into N contiguous shards (Pyserini's convention) ...")
@click.option("--shard-id", default=0, show_default=True, help="... and encode shard I into a complete index (then `index merge`).")
@click.option("--nproc", default=1, show_default=True,
              help="N local workers through torchrun (one GPU each on CUDA, cores/N threads each on CPU), merged at the end.")
@click.option("--index-type", type=click.Choice(INDEX_TYPES), default="flat", show_default=True,
              help="FAISS index to write (hnsw/ivf/ivfpq: see `tevatron-ext index convert`).")
@ann_build_options
@click.option("--pooling", type=click.Choice(POOLINGS), default=None, help="Must agree with the model's contract.")
@click.option("--l2-norm/--no-l2-norm", "normalize", default=None, help="Must agree with the model's contract.")
@click.option("--max-length", "passage_max_length", type=int, default=None, help="Passage max length (default: contract's).")
@click.option("--device", default="cpu", show_default=True, help=DEVICE_HELP)
@precision_flags
def encode(model, collection, index, batch_size, shard_size, num_shards, shard_id, nproc, index_type, hnsw_m,
           ef_construction, nlist, pq_m, nbits, pooling, normalize, passage_max_length, device, bf16, fp16) -> None:
    """Encode a collection's passages into a FAISS index (Pyserini layout: index + docid)."""
    from .encode import EncodeConfig, encode_corpus

    ann = ann_params(index_type, hnsw_m=hnsw_m, ef_construction=ef_construction, nlist=nlist, pq_m=pq_m, nbits=nbits)
    m = encode_corpus(EncodeConfig(model=model, collection=collection, index=index, batch_size=batch_size, bf16=bf16,
                                   fp16=fp16, shard_size=shard_size, device=device, pooling=pooling, normalize=normalize,
                                   passage_max_length=passage_max_length, num_shards=num_shards, shard_id=shard_id,
                                   nproc=nproc, ann=ann))
    c = m["counts"]
    click.echo(f"encoded {c['docs']} passages ({c['dimension']}-d, {m['faiss']['type']}) into {index}"
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
@click.option("--pooling", type=click.Choice(POOLINGS), default=None)
@click.option("--l2-norm/--no-l2-norm", "normalize", default=None)
@click.option("--ef-search", type=int, default=None, help="HNSW indexes: efSearch (recorded in the run manifest).")
@click.option("--nprobe", type=int, default=None, help="IVF indexes: lists probed (recorded in the run manifest).")
@click.option("--device", default="cpu", show_default=True, help=DEVICE_HELP + " (the query encoder)")
@precision_flags
def search(index, collection, split, run, model, hits, threads, tag, pooling, normalize, ef_search, nprobe, device,
           bf16, fp16) -> None:
    """Search a FAISS index with Pyserini's FaissSearcher and write a TREC run."""
    from .search import SearchConfig
    from .search import search as do_search

    m = do_search(SearchConfig(index=index, collection=collection, run=run, split=split, model=model, hits=hits,
                               bf16=bf16, fp16=fp16, device=device, threads=threads, tag=tag, pooling=pooling,
                               normalize=normalize, ef_search=ef_search, nprobe=nprobe))
    click.echo(f"wrote {run}: {m['counts']['topics']} topics, {m['counts']['lines']} lines")
