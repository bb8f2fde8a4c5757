#!/usr/bin/env python3
"""Paste generated blocks into README.md (maintainers): the demo leaderboard and the Performance section.

    python scripts/dev/update_readme.py [--leaderboard runs/demo/leaderboard.md] [--bench benchmarks/report.json]

Each block sits between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->`` markers and is replaced whole.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def replace_block(text: str, name: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"README.md has no {name} markers")
    return pattern.sub(lambda m: m.group(1) + body.rstrip("\n") + "\n" + m.group(2), text)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--leaderboard", default=str(ROOT / "runs" / "demo" / "leaderboard.md"))
    ap.add_argument("--bench", default=str(ROOT / "benchmarks" / "report.json"))
    args = ap.parse_args()
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    lb = Path(args.leaderboard)
    if lb.is_file():
        body = ("The leaderboard below is `runs/demo/leaderboard.md` as `make demo` wrote it (pasted unchanged):\n\n"
                + lb.read_text(encoding="utf-8"))
        text = replace_block(text, "leaderboard", body)
    bench = Path(args.bench)
    if bench.is_file():
        out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "readme_section.py"), str(bench)],
                             capture_output=True, text=True, check=True).stdout
        text = replace_block(text, "performance", out)
    readme.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
