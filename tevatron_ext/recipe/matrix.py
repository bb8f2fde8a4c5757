"""The experiment matrix (Pyserini 2CR / Anserini regressions are the model).

A recipe YAML names collections (with template variables such as the passage language), and
conditions, each a short list of ``tevatron-ext`` steps with templated parameters and the path each
step creates; optional expected scores with a tolerance. See ``scripts/recipes/demo.yaml``.
"""
from __future__ import annotations

import fnmatch
import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..common.errors import InputError

TOP_KEYS = {"name", "title", "description", "output", "vars", "baseline", "metrics", "tolerance", "collections",
            "conditions", "notes", "comparisons"}
CONDITION_KEYS = {"name", "label", "steps", "expect", "collections", "tolerance", "notes"}
STEP_KEYS = {"run", "creates"}


@dataclass
class Step:
    command: str  # a tevatron-ext command line without the program name
    creates: str | None


@dataclass
class Cell:
    condition: str
    label: str
    collection: str
    split: str
    run: str
    steps: list[Step]
    expect: dict[str, float] = field(default_factory=dict)
    tolerance: float = 0.0


@dataclass
class Recipe:
    path: Path
    name: str
    title: str
    output: str
    baseline: str | None
    metrics: list[str]
    tolerance: float
    collections: dict[str, dict[str, Any]]
    conditions: list[dict[str, Any]]
    vars: dict[str, Any]
    notes: str = ""
    comparisons: list[tuple[str, str]] = field(default_factory=list)  # (condition, reference) pairs tested in the report

    def cells(self, only: tuple[str, ...] = ()) -> list[Cell]:
        out = []
        for cond in self.conditions:
            for coll in cond.get("collections") or list(self.collections):
                if only and not any(fnmatch.fnmatch(cond["name"], o) or fnmatch.fnmatch(coll, o) for o in only):
                    continue
                ctx = {**self.vars, **self.collections[coll], "collection": coll, "condition": cond["name"],
                       "output": self.output}
                ctx.setdefault("split", "test")
                ctx["run"] = render(f"{self.output}/runs/{cond['name']}.{coll}.{ctx['split']}.txt", ctx, self.path)
                steps = [Step(render(s["run"], ctx, self.path), render(s["creates"], ctx, self.path) if s.get("creates") else None)
                         for s in cond["steps"]]
                expect = (cond.get("expect") or {}).get(coll) or {}
                out.append(Cell(cond["name"], cond.get("label") or cond["name"], coll, str(ctx["split"]), ctx["run"], steps,
                                {k: float(v) for k, v in expect.items()}, float(cond.get("tolerance", self.tolerance))))
        return out


_FIELD = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)}")


def render(template: str, ctx: dict[str, Any], path: Path, depth: int = 0) -> str:
    """Fill ``{name}`` fields (variables may refer to others); an unknown name is an error."""
    names = [f for _, f, _, _ in string.Formatter().parse(template) if f]
    missing = sorted({n for n in names if n not in ctx})
    if missing:
        raise InputError(path, None, f"unknown template variable(s) {missing} in {template!r}; known: {sorted(ctx)}")
    out = template.format(**ctx)
    if _FIELD.search(out) and depth < 5:
        return render(out, ctx, path, depth + 1)
    return out


def load_recipe(path: str | Path) -> Recipe:
    import yaml

    from ..common.formats import read_utf8

    path = Path(path)
    text = read_utf8(path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(path, mark.line + 1 if mark else None, f"invalid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise InputError(path, 1, "a recipe is a YAML mapping")
    unknown = set(data) - TOP_KEYS
    if unknown:
        raise InputError(path, None, f"unknown keys {sorted(unknown)}; known: {sorted(TOP_KEYS)}")
    for key in ("name", "output", "collections", "conditions"):
        if key not in data:
            raise InputError(path, None, f"missing key {key!r}")
    colls = data["collections"]
    if not isinstance(colls, dict) or not colls or not all(isinstance(v, (dict, type(None))) for v in colls.values()):
        raise InputError(path, None, "collections must map names to variables, e.g. {demo-am: {lang: am}}")
    if not isinstance(data.get("vars") or {}, dict):
        raise InputError(path, None, "vars must be a mapping of template variables")
    if not isinstance(data.get("metrics") or [], list) or not all(isinstance(m, str) for m in data.get("metrics") or []):
        raise InputError(path, None, "metrics must be a list of metric names, e.g. [nDCG@10, R@100]")
    tol = data.get("tolerance", 0.0)
    if isinstance(tol, bool) or not isinstance(tol, (int, float)):
        raise InputError(path, None, f"tolerance must be a number, got {tol!r}")
    if not isinstance(data["conditions"], list):
        raise InputError(path, None, "conditions must be a list")
    names = set()
    for i, cond in enumerate(data["conditions"]):
        if not isinstance(cond, dict) or "name" not in cond or "steps" not in cond:
            raise InputError(path, None, f"condition #{i + 1} needs a name and steps")
        if cond["name"] in names:
            raise InputError(path, None, f"duplicate condition {cond['name']!r}")
        names.add(cond["name"])
        if extra := set(cond) - CONDITION_KEYS:
            raise InputError(path, None, f"condition {cond['name']!r}: unknown keys {sorted(extra)}")
        if not isinstance(cond["steps"], list) or not cond["steps"]:
            raise InputError(path, None, f"condition {cond['name']!r}: steps must be a non-empty list")
        if not isinstance(cond.get("collections") or [], list):
            raise InputError(path, None, f"condition {cond['name']!r}: collections must be a list of names")
        if not isinstance(cond.get("expect") or {}, dict):
            raise InputError(path, None, f"condition {cond['name']!r}: expect must map collections to {{metric: score}}")
        for s in cond["steps"]:
            if isinstance(s, str):
                continue
            if not isinstance(s, dict) or "run" not in s or set(s) - STEP_KEYS:
                raise InputError(path, None, f"condition {cond['name']!r}: a step is a string or {{run, creates}}")
        cond["steps"] = [{"run": s} if isinstance(s, str) else s for s in cond["steps"]]
        for coll in cond.get("collections") or []:
            if coll not in colls:
                raise InputError(path, None, f"condition {cond['name']!r} names unknown collection {coll!r}")
        for coll in cond.get("expect") or {}:
            if coll not in colls:
                raise InputError(path, None, f"condition {cond['name']!r} expects scores for unknown collection {coll!r}")
    baseline = data.get("baseline")
    if baseline is not None and baseline not in names:
        raise InputError(path, None, f"baseline {baseline!r} is not a condition")
    comparisons = []
    for item in data.get("comparisons") or []:
        parts = item.split(" vs ") if isinstance(item, str) else []
        if len(parts) != 2 or not all(p.strip() in names for p in parts):
            raise InputError(path, None, f"comparison {item!r}: expected 'CONDITION vs REFERENCE' naming two conditions")
        comparisons.append((parts[0].strip(), parts[1].strip()))
    return Recipe(path=path, name=data["name"], title=data.get("title", data["name"]), output=str(data["output"]),
                  baseline=baseline, metrics=list(data.get("metrics") or ["nDCG@10", "R@100"]),
                  tolerance=float(data.get("tolerance", 0.0)), collections={k: dict(v or {}) for k, v in colls.items()},
                  conditions=data["conditions"], vars=dict(data.get("vars") or {}), notes=data.get("notes", ""),
                  comparisons=comparisons)
