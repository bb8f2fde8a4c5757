"""Run, verify and summarise a recipe. Steps whose outputs exist with a complete manifest are skipped,
so an interrupted recipe resumes at the step it was in — unless an input recorded in the manifest
changed, or the step's command changed since it made the output (``steps.json`` in the recipe's
output folder remembers which command made each output): an edited flag runs the step again."""
from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..common.atomic import atomic_write_json, inputs_unchanged, read_manifest
from ..common.errors import TevatronExtError
from .matrix import Cell, Recipe

PROGRAM = "tevatron-ext"


def command_line(step_command: str) -> str:
    return f"{PROGRAM} {step_command}"


def step_done(creates: str | None) -> bool:
    """The step's output exists with a complete manifest, and every input recorded there still has
    the recorded checksum (an edited corpus or training file makes the step run again)."""
    if creates is None:
        return False
    manifest = read_manifest(creates)
    return manifest is not None and inputs_unchanged(manifest)


def _ledger_path(recipe: Recipe) -> Path:
    return Path(recipe.output) / "steps.json"


def _load_ledger(recipe: Recipe) -> dict[str, str]:
    p = _ledger_path(recipe)
    return json.loads(p.read_text(encoding="utf-8")) if p.is_file() else {}


def run_step(command: str, in_process: bool = True) -> None:
    args = shlex.split(command)
    if in_process:
        from ..cli import main

        try:
            main.main(args=args, prog_name=PROGRAM, standalone_mode=False)
        except SystemExit as exc:  # click's own exits (e.g. --help) are fine when 0
            if exc.code not in (0, None):
                raise TevatronExtError(f"step failed ({exc.code}): {command_line(command)}") from None
        except Exception as exc:
            raise TevatronExtError(f"step failed: {command_line(command)}\n  {type(exc).__name__}: {exc}") from exc
    else:
        proc = subprocess.run([sys.executable, "-m", "tevatron_ext", *args])
        if proc.returncode != 0:
            raise TevatronExtError(f"step failed ({proc.returncode}): {command_line(command)}")


def results_path(recipe: Recipe) -> Path:
    return Path(recipe.output) / "results.json"


def load_results(recipe: Recipe) -> dict[str, Any]:
    p = results_path(recipe)
    if p.is_file():
        return json.loads(p.read_text(encoding="utf-8"))
    return {"recipe": recipe.name, "cells": {}}


def evaluate_cell(cell: Cell, metrics: list[str]) -> dict[str, Any]:
    from ..collections import get_collection
    from ..common.formats import read_run
    from ..evaluation import evaluate

    coll = get_collection(cell.collection)
    topics = coll.topics(cell.split)
    run = read_run(cell.run)
    missing = [q for q in topics if q not in run]
    agg, per_query = evaluate(coll.qrels(cell.split), run, metrics)
    return {"condition": cell.condition, "label": cell.label, "collection": cell.collection, "split": cell.split,
            "run": cell.run, "metrics": agg, "per_query": per_query, "topics": len(topics),
            "topics_missing_from_run": len(missing)}


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or None
    except (OSError, subprocess.TimeoutExpired):
        return None


def run_recipe(recipe: Recipe, only: tuple[str, ...] = (), dry_run: bool = False, in_process: bool = True,
               echo: Callable[[str], None] = print) -> dict[str, Any]:
    cells = recipe.cells(only)
    plan: list[tuple[Cell, list[str]]] = []
    seen: set[str] = set()
    for cell in cells:
        fresh = [s.command for s in cell.steps if s.command not in seen]
        seen.update(fresh)
        plan.append((cell, fresh))
    if dry_run:
        for cell, cmds in plan:
            echo(f"# {cell.condition} x {cell.collection} ({cell.split}) -> {cell.run}")
            for c in cmds:
                echo(command_line(c))
        return {}
    results = load_results(recipe)
    timings_file = Path(recipe.output) / "timings.json"
    timings = json.loads(timings_file.read_text()) if timings_file.is_file() else {"steps": []}
    total = sum(len(c) for _, c in plan)
    k = 0
    steps_by_cmd = {s.command: s for cell in cells for s in cell.steps}
    ledger = _load_ledger(recipe)  # output path -> the command that made it
    t_all = time.perf_counter()
    for cell, cmds in plan:
        for cmd in cmds:
            k += 1
            step = steps_by_cmd[cmd]
            made_by = ledger.get(step.creates) if step.creates else None
            if step_done(step.creates) and made_by in (None, cmd):
                echo(f"[{k}/{total}] skip (complete): {command_line(cmd)}")
                if made_by is None and step.creates:  # made before the ledger existed: trust it, remember it
                    ledger[step.creates] = cmd
                    atomic_write_json(_ledger_path(recipe), ledger)
                continue
            if made_by not in (None, cmd):
                echo(f"[{k}/{total}] the command changed since {step.creates} was made (was: {command_line(made_by)})")
            echo(f"[{k}/{total}] {command_line(cmd)}")
            t0 = time.perf_counter()
            run_step(cmd, in_process)
            dt = time.perf_counter() - t0
            if step.creates:
                ledger[step.creates] = cmd
                atomic_write_json(_ledger_path(recipe), ledger)
            timings["steps"].append({"condition": cell.condition, "collection": cell.collection, "command": cmd,
                                     "seconds": round(dt, 2), "stage": cmd.split()[0]})
            atomic_write_json(timings_file, timings)
            echo(f"    done in {dt:.1f}s")
        if not Path(cell.run).is_file():
            raise TevatronExtError(f"{cell.condition} x {cell.collection}: the steps did not write {cell.run}")
        res = evaluate_cell(cell, recipe.metrics)
        results["cells"][f"{cell.condition}|{cell.collection}|{cell.split}"] = res
        results["commit"] = git_commit()
        results["date"] = time.strftime("%Y-%m-%d")
        atomic_write_json(results_path(recipe), results)
        echo("    " + "  ".join(f"{m}={v:.4f}" for m, v in res["metrics"].items()) + f"  [{cell.condition} x {cell.collection}]")
    timings["last_run_seconds"] = round(time.perf_counter() - t_all, 1)
    atomic_write_json(timings_file, timings)
    return results


def verify_recipe(recipe: Recipe, only: tuple[str, ...] = (), echo: Callable[[str], None] = print) -> bool:
    """Recompute every expected score from its run file; False when one misses or a run is missing."""
    ok = True
    checked = 0
    for cell in recipe.cells(only):
        if not cell.expect:
            continue
        if not Path(cell.run).is_file():
            echo(f"MISSING  {cell.condition} x {cell.collection}: no run {cell.run}")
            ok = False
            continue
        got = evaluate_cell(cell, list(cell.expect))["metrics"]
        for metric, want in cell.expect.items():
            checked += 1
            diff = got[metric] - want
            good = abs(diff) <= cell.tolerance + 1e-9
            ok &= good
            echo(f"{'OK  ' if good else 'FAIL'}  {cell.condition:<24} {cell.collection:<12} {metric:<8} "
                 f"got {got[metric]:.4f}  expected {want:.4f} ± {cell.tolerance:.4f}  ({diff:+.4f})")
    if checked == 0:
        echo("no expectations to verify")
    return ok
