"""Write a recipe's measured scores into its YAML as `expect:` blocks (replacing old ones), from results.json.

    python scripts/dev/record_expectations.py scripts/recipes/demo.yaml

Text-based, so comments and layout survive; review the diff before committing.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from tevatron_ext.recipe.matrix import load_recipe
from tevatron_ext.recipe.runner import results_path


def main(path: str) -> None:
    recipe = load_recipe(path)
    cells = json.loads(results_path(recipe).read_text(encoding="utf-8"))["cells"].values()
    scores: dict[str, dict[str, dict[str, float]]] = {}
    for c in cells:
        scores.setdefault(c["condition"], {})[c["collection"]] = {m: c["metrics"][m] for m in recipe.metrics if m in c["metrics"]}
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    out: list[str] = []
    cond = None

    def flush() -> None:
        if cond in scores:
            tail = []  # blank and comment lines at the end belong to what follows
            while out and (not out[-1].strip() or out[-1].lstrip().startswith("#")):
                tail.insert(0, out.pop())
            out.append("    expect:")
            for coll in sorted(scores[cond]):
                vals = ", ".join(f"{m}: {v:.4f}" for m, v in scores[cond][coll].items())
                out.append(f"      {coll}: {{{vals}}}")
            out.extend(tail or [""])

    skipping = False
    for line in lines:
        m = re.match(r"  - name: (\S+)", line)
        if m or (cond and re.match(r"\S", line)):
            flush()
            cond = m.group(1) if m else None
            skipping = False
        if cond and line.startswith("    expect:"):
            skipping = True
            continue
        if skipping and line.startswith("      "):
            continue
        skipping = False
        out.append(line)
    flush()
    Path(path).write_text("\n".join(out).rstrip("\n") + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])
