"""``tevatron-ext``: one sub-command per stage. Stage modules load lazily, so ``--help`` is instant."""
from __future__ import annotations

import importlib
import importlib.util

import click

from .common.errors import TevatronExtError

# command name -> (module, attribute, one-line help); modules are imported only when the command runs.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "collections": ("tevatron_ext.collections.cli", "collections", "List, show, validate and export collections."),
    "bm25": ("tevatron_ext.bm25.cli", "bm25", "Language-aware BM25: Lucene indexes and runs."),
    "eval": ("tevatron_ext.evaluation.cli", "eval_cmd", "Score a TREC run with trec_eval semantics."),
    "models": ("tevatron_ext.models.cli", "models", "Prepare and list offline models (the model zoo)."),
    "encode": ("tevatron_ext.dense.cli", "encode", "Encode a corpus into a FAISS index (Pyserini)."),
    "search": ("tevatron_ext.dense.cli", "search", "Dense search of a FAISS index (Pyserini) into a TREC run."),
    "index": ("tevatron_ext.index.cli", "index", "FAISS indexes: merge shards, convert flat to HNSW/IVF/IVF-PQ."),
    "fuse": ("tevatron_ext.fuse.cli", "fuse", "Hybrid runs: score interpolation or reciprocal rank fusion."),
    "vocab": ("tevatron_ext.vocab.cli", "vocab", "Tokenizer coverage and vocabulary extension."),
    "generate": ("tevatron_ext.generate.cli", "generate", "Synthetic queries from passages (LLM, ICT, cropping)."),
    "mine": ("tevatron_ext.mine.cli", "mine", "Filter synthetic queries and mine hard negatives -> Tevatron JSONL."),
    "filter-report": ("tevatron_ext.mine.cli", "filter_report",
                      "Compare query sources (prompts, models): share kept by each mining filter."),
    "train": ("tevatron_ext.train.cli", "train", "Tevatron-style contrastive fine-tuning of a dense retriever."),
    "align": ("tevatron_ext.align.cli", "align", "Cross-lingual lexical alignment: probe and injection."),
    "recipe": ("tevatron_ext.recipe.cli", "recipe", "Run, verify and report a YAML experiment matrix."),
    "report": ("tevatron_ext.report.cli", "report", "Leaderboards (Markdown, CSV, JSON, HTML, PNG) from results."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return [n for n, (mod, _, _) in COMMANDS.items() if importlib.util.find_spec(mod) is not None]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attr, _ = COMMANDS[name]
        try:
            return getattr(importlib.import_module(module), attr)
        except ModuleNotFoundError as exc:
            if exc.name == module:
                return None
            raise

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # describe the stages without importing them
        rows = [(n, COMMANDS[n][2]) for n in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except TevatronExtError as exc:
            raise click.ClickException(str(exc)) from None



@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tevatron_ext", message="%(prog)s %(version)s")
def main() -> None:
    """tevatron-ext: dense retrieval for Amharic, Khmer and other low-resource languages,
    on Pyserini/Anserini, with Tevatron-style training. Stages read and write files
    (corpus.jsonl, topics.tsv, qrels.txt, TREC runs, Tevatron JSONL) under indexes/ and runs/."""


if __name__ == "__main__":
    main()
