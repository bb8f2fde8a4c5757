"""``tevatron-ext recipe list | run | verify | report FILE.yaml``."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from ..common.errors import TevatronExtError

only_opt = click.option("--only", multiple=True, help="Condition or collection name/glob (repeatable).")


@click.group()
def recipe() -> None:
    """A YAML experiment matrix: conditions x collections, each a list of tevatron-ext steps."""


@recipe.command("list")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@only_opt
def list_cmd(file: str, only: tuple[str, ...]) -> None:
    """List the cells (condition x collection) and whether their runs exist."""
    from .matrix import load_recipe

    r = load_recipe(file)
    for cell in r.cells(only):
        status = "done" if Path(cell.run).is_file() else "todo"
        exp = " ".join(f"{m}={v}" for m, v in cell.expect.items())
        click.echo(f"{status}  {cell.condition:<26} {cell.collection:<14} {cell.split:<5} {cell.run}  {exp}")


@recipe.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@only_opt
@click.option("--dry-run", is_flag=True, help="Print every command it would run, and run nothing.")
@click.option("--subprocess", "use_subprocess", is_flag=True, help="Run each step in its own process.")
@click.option("--no-report", is_flag=True, help="Do not regenerate the leaderboards at the end.")
def run(file: str, only: tuple[str, ...], dry_run: bool, use_subprocess: bool, no_report: bool) -> None:
    """Run the matrix; steps whose outputs are complete are skipped (resume)."""
    from .matrix import load_recipe
    from .runner import run_recipe

    r = load_recipe(file)
    run_recipe(r, only, dry_run=dry_run, in_process=not use_subprocess, echo=lambda m: click.echo(m, err=not dry_run))
    if not dry_run and not no_report:
        _report(r)


@recipe.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@only_opt
def verify(file: str, only: tuple[str, ...]) -> None:
    """Recompute expected scores from the run files; exit 1 when one misses its tolerance."""
    from .matrix import load_recipe
    from .runner import verify_recipe

    if not verify_recipe(load_recipe(file), only, echo=click.echo):
        click.echo("verify: FAILED", err=True)
        sys.exit(1)
    click.echo("verify: all expectations met")


@recipe.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--print", "print_md", is_flag=True, help="Print the Markdown leaderboard.")
def report(file: str, print_md: bool) -> None:
    """Regenerate leaderboard.{md,csv,json,html,png} from the recipe's results.json."""
    from .matrix import load_recipe

    paths = _report(load_recipe(file))
    if print_md:
        click.echo(paths["md"].read_text(encoding="utf-8"))


def _report(r):
    from ..report.leaderboard import write_leaderboards
    from .runner import load_results, results_path

    if not results_path(r).is_file():
        raise TevatronExtError(f"no results yet: {results_path(r)} (run `tevatron-ext recipe run {r.path}`)")
    labels = {c["name"]: c.get("label", c["name"]) for c in r.conditions}
    paths = write_leaderboards(load_results(r), r.output, r.title, r.baseline, r.metrics,
                               [c["name"] for c in r.conditions], list(r.collections), labels, r.comparisons)
    click.echo(f"wrote {', '.join(str(p) for p in paths.values())}", err=True)
    return paths
