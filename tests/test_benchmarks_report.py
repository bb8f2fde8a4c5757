"""The README's performance section is generated from benchmarks/report.json, and merging re-measured areas
keeps the other areas' rows."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod
    finally:
        sys.path.pop(0)


def test_readme_performance_section_matches_the_report():
    rs = _load("readme_section")
    report = json.loads((ROOT / "benchmarks" / "report.json").read_text(encoding="utf-8"))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert rs.splice(readme, rs.render(report)) == readme, \
        "README's performance section is stale: run `python benchmarks/readme_section.py --write README.md`"


def test_merge_replaces_only_the_named_areas():
    run = _load("run")
    old = {"quick": False, "machine": {"cpu_model": "A"}, "areas": {"encode": {"wall_s": 1}, "bm25": {"wall_s": 2}},
           "results": [{"area": "encode", "name": "e1"}, {"area": "bm25", "name": "b1"}, {"area": "bm25", "name": "b2"}]}
    new = {"quick": False, "areas": {"bm25": {"wall_s": 5, "date": "d"}}, "results": [{"area": "bm25", "name": "b3"}]}
    merged = run.merge_reports(old, new, ["bm25"])
    assert [r["name"] for r in merged["results"]] == ["e1", "b3"]
    assert merged["areas"]["bm25"] == {"wall_s": 5, "date": "d"} and merged["areas"]["encode"] == {"wall_s": 1}
    assert merged["merged"] == ["bm25"] and merged["machine"] == {"cpu_model": "A"} and merged["total_wall_s"] == 6
