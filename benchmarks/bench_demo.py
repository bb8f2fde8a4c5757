"""The demo: wall time of ``make demo`` stage by stage, from the recipe runner's own timings.

``tevatron-ext recipe run`` appends one entry per executed step to ``runs/demo/timings.json``
(``{"condition", "collection", "command", "seconds", "stage"}``); steps skipped as complete are not
timed. When a step was timed more than once (a rerun after a clean), its latest timing counts.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import common

TIMINGS = common.ROOT / "runs" / "demo" / "timings.json"
RECIPE = common.ROOT / "scripts" / "recipes" / "demo.yaml"


def _plan() -> list[str] | None:
    """The commands of the current demo recipe (timings of commands it no longer runs are ignored)."""
    try:
        from tevatron_ext.recipe.matrix import load_recipe

        return list(dict.fromkeys(s.command for c in load_recipe(RECIPE).cells() for s in c.steps))
    except Exception:  # noqa: BLE001  (no recipe, or one this version cannot read: use every timing)
        return None


def _stage(step: dict[str, Any]) -> str:
    words = str(step.get("command", "")).split()
    stage = str(step.get("stage") or (words[0] if words else "?"))
    # sub-commands (bm25 index/search, models prepare, ...) are different stages
    if len(words) > 1 and words[0] == stage and not words[1].startswith("-") and stage in ("bm25", "models", "collections"):
        return f"{stage} {words[1]}"
    return stage


def run(quick: bool, path: Path | None = None) -> list[dict[str, Any]]:
    path = path or TIMINGS
    if not path.is_file():
        return [common.skipped("demo stages", f"{path.relative_to(common.ROOT) if path.is_relative_to(common.ROOT) else path} "
                                              "is absent: run `make demo` first")]
    data = json.loads(path.read_text(encoding="utf-8"))
    latest: dict[str, dict[str, Any]] = {}
    for step in data.get("steps", []):
        if isinstance(step, dict) and isinstance(step.get("seconds"), (int, float)):
            latest[str(step.get("command"))] = step
    plan = _plan() if path == TIMINGS else None
    stale = 0
    if plan is not None:
        stale = sum(c not in plan for c in latest)
        latest = {c: latest[c] for c in plan if c in latest}
    untimed = [c for c in plan if c not in latest] if plan is not None else []
    if not latest:
        return [common.skipped("demo stages", f"{path} holds no timed steps of the current recipe")]
    stages: dict[str, dict[str, Any]] = {}
    for step in latest.values():
        s = stages.setdefault(_stage(step), {"seconds": 0.0, "steps": 0, "slowest": None})
        s["seconds"] += float(step["seconds"])
        s["steps"] += 1
        if s["slowest"] is None or step["seconds"] > s["slowest"]["seconds"]:
            s["slowest"] = {"command": step.get("command"), "seconds": step["seconds"]}
    total = sum(s["seconds"] for s in stages.values())
    rows = []
    for name, s in sorted(stages.items(), key=lambda kv: -kv[1]["seconds"]):
        rows.append(common.result(
            f"demo stage {name}", s["seconds"], None, "s", higher_is_better=False,
            short=f"{s['steps']} step(s), {s['seconds'] / total:.0%} of the timed total",
            note=f"{s['steps']} step(s), {s['seconds'] / total:.0%} of the timed {total:.0f} s; "
                 f"slowest: `{s['slowest']['command']}` {s['slowest']['seconds']:.1f} s",
            details=s))
    last = data.get("last_run_seconds")
    rows.append(common.result(
        "demo total (timed steps)", total, None, "s", higher_is_better=False,
        note=f"{len(latest)} steps from {path.name}"
             + (f" ({len(untimed)} step(s) of the current recipe have no timing yet" + (f", e.g. `{untimed[0]}`" if untimed else "")
                + ")" if untimed else "")
             + (f"; ignored {stale} timing(s) of commands the recipe no longer runs" if stale else "")
             + (f"; the last `recipe run` took {last:.0f} s wall (skipped steps are not timed)" if last is not None else "")
             + "; `make demo` also prepares the models and prints the report (not timed here)",
        details={"stages": {k: v["seconds"] for k, v in stages.items()}, "last_run_seconds": last,
                 "untimed_steps": untimed, "stale_timings": stale}))
    return rows


if __name__ == "__main__":
    common.main(run)
