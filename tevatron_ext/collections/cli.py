"""``tevatron-ext collections list | show NAME | export NAME DIR --split S``."""
from __future__ import annotations

import json

import click

from .registry import REGISTRY, get_collection


@click.group()
def collections() -> None:
    """Collections in MIRACL/Pyserini format: registered names or local directories."""


@collections.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_cmd(as_json: bool) -> None:
    """List registered collections (embedded demo ones work offline; HF ones need a network)."""
    infos = [REGISTRY[n]().info() for n in sorted(REGISTRY)]
    if as_json:
        click.echo(json.dumps(infos, ensure_ascii=False, indent=2))
        return
    width = max(len(i["name"]) for i in infos)
    for i in infos:
        click.echo(f"{i['name']:<{width}}  {i['query_language']}->{i['language']}  {','.join(i['splits']):<10}  {i['source']}")


@collections.command()
@click.argument("name")
@click.option("--split", default=None, help="Only this split (default: all).")
@click.option("--strict", is_flag=True, help="Exit non-zero when qrels, topics and corpus disagree.")
def show(name: str, split: str | None, strict: bool) -> None:
    """Describe and validate a collection: counts per split and inconsistencies (unknown docids, ...)."""
    coll = get_collection(name)
    info = coll.info()
    click.echo(f"{coll.name}: {info['description']}")
    click.echo(f"  passages: {coll.language}  queries: {coll.query_language}  source: {coll.source}")
    bad = False
    for s in [split] if split else coll.splits:
        rep = coll.validate(s)
        click.echo(f"  [{s}] docs={rep.n_docs} topics={rep.n_topics} judged_topics={rep.n_judged_topics} judgments={rep.n_judgments}")
        for p in rep.problems():
            bad = True
            click.echo(f"  [{s}] WARNING: {p}", err=True)
    if bad and strict:
        raise click.ClickException(f"{coll.name}: the collection's files disagree (see warnings)")


@collections.command()
@click.argument("name")
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--split", required=True, help="Split to export (e.g. dev, test).")
def export(name: str, out_dir: str, split: str) -> None:
    """Write OUT_DIR/corpus.jsonl, OUT_DIR/topics.tsv and OUT_DIR/qrels.txt for one split."""
    counts = get_collection(name).export(out_dir, split)
    click.echo(f"wrote {out_dir}: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
