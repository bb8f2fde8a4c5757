"""``tevatron-ext bm25 index | search``."""
from __future__ import annotations

import json

import click


@click.group()
def bm25() -> None:
    """BM25 through Anserini: Amharic/Khmer analysed by the project, other languages by Lucene."""


@bm25.command()
@click.option("--collection", "-c", required=True, help="Registered collection name or local directory.")
@click.option("--index", "-i", "index", required=True, type=click.Path(), help="Output index directory (e.g. indexes/bm25-demo-am).")
@click.option("--language", default=None, help="Passage language (default: the collection's).")
@click.option("--analyzer", type=click.Choice(["auto", "own", "lucene"]), default="auto", show_default=True,
              help="auto: project analysis for am/km, Lucene's for others; lucene: Lucene only (English default for am/km).")
@click.option("--no-stem", is_flag=True, help="Amharic: no clitic stemming.")
@click.option("--no-fold", is_flag=True, help="Amharic: no homophone folding.")
@click.option("--no-segment", is_flag=True, help="Khmer: no word segmentation.")
@click.option("--khmer-segmenter", type=click.Choice(["khmer-nltk", "icu"]), default=None,
              help="Khmer: word segmenter [khmer-nltk]; icu = ICU word break (pip install 'tevatron_ext[icu]').")
@click.option("--threads", default=2, show_default=True,
              help="Anserini indexing threads, and worker processes for the project's am/km analysis (same output as 1).")
def index(collection: str, index: str, language: str | None, analyzer: str, no_stem: bool, no_fold: bool,
          no_segment: bool, khmer_segmenter: str | None, threads: int) -> None:
    """Build a Lucene index of a collection's passages."""
    from ..collections import get_collection
    from .lucene import BM25IndexConfig, build_index

    lang = language or get_collection(collection).language
    opts: dict = {}
    if lang == "am":
        opts = {k: v for k, v in (("stem", not no_stem), ("fold_homophones", not no_fold)) if not v}
    elif lang == "km":
        opts = {k: v for k, v in (("segment_words", False if no_segment else None), ("segmenter", khmer_segmenter))
                if v is not None}
    if (no_stem or no_fold) and lang != "am" or (no_segment or khmer_segmenter) and lang != "km":
        raise click.UsageError("--no-stem/--no-fold apply to Amharic, --no-segment/--khmer-segmenter to Khmer")
    m = build_index(BM25IndexConfig(collection=collection, index=index, language=language, analyzer=analyzer,
                                    analyzer_options=opts, threads=threads))
    click.echo(f"indexed {m['counts']['docs']} docs into {index} ({json.dumps(m['config']['analysis'], ensure_ascii=False)})")


@bm25.command()
@click.option("--index", "-i", required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--collection", "-c", required=True, help="Collection whose topics to search.")
@click.option("--split", default=None, help="Topic split (default: test, else dev).")
@click.option("--run", "-o", "run", required=True, type=click.Path(dir_okay=False), help="Output TREC run (e.g. runs/bm25.demo-am.test.txt).")
@click.option("--hits", default=100, show_default=True)
@click.option("--k1", default=0.9, show_default=True)
@click.option("--b", default=0.4, show_default=True)
@click.option("--threads", default=2, show_default=True)
@click.option("--tag", default="bm25", show_default=True)
def search(index: str, collection: str, split: str | None, run: str, hits: int, k1: float, b: float, threads: int, tag: str) -> None:
    """Search topics with BM25 (the index's own analysis is applied to queries) and write a TREC run."""
    from .lucene import BM25SearchConfig
    from .lucene import search as do_search

    m = do_search(BM25SearchConfig(index=index, collection=collection, run=run, split=split, hits=hits, k1=k1, b=b,
                                   threads=threads, tag=tag))
    click.echo(f"wrote {run}: {m['counts']['topics']} topics, {m['counts']['lines']} lines")
