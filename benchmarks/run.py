"""Run every benchmark in one process: one line per comparison, and a JSON report.

    python benchmarks/run.py [--quick] [--out FILE] [--only encode,train,...] [--merge]

Each area is its own script (``bench_<area>.py`` with ``run(quick) -> list[dict]``, runnable on
its own). Lines read ``NAME: ours=... baseline=... ratio=...``; a ratio above 1 means ours is
better (faster, or smaller for memory and seconds). The report records the machine (CPU count,
bf16 support, load average before and after, library versions) beside every result, because
absolute times on a shared 2-core machine mean little: compare ratios measured side by side.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

AREAS = ("encode", "scaling", "bm25", "train", "generate", "demo")


def machine_info() -> dict[str, Any]:
    from tevatron_ext.common.atomic import versions
    from tevatron_ext.models.encoder import bf16_supported

    cpu_model = ""
    try:
        for row in Path("/proc/cpuinfo").read_text().splitlines():
            if row.startswith("model name"):
                cpu_model = row.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=common.ROOT, capture_output=True,
                                text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        commit = ""
    import psutil

    return {"cpu_count": os.cpu_count(), "cpu_affinity": len(os.sched_getaffinity(0)), "cpu_model": cpu_model,
            "bf16_supported": bf16_supported(), "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "platform": platform.platform(), "versions": versions(), "git_commit": commit,
            "loadavg_start": os.getloadavg()}


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def merge_reports(old: dict[str, Any], new: dict[str, Any], areas: list[str]) -> dict[str, Any]:
    """``old`` with the rows and stats of ``areas`` replaced by ``new``'s, in AREAS order; the machine block stays the
    first full run's, and every merged area carries its own date and CPU in ``areas``."""
    if old.get("quick") != new.get("quick"):
        raise SystemExit("--merge: the existing report and this run differ in --quick; refusing to mix them")
    stats = {**old.get("areas", {}), **new["areas"]}
    rows = [r for r in old.get("results", []) if r.get("area") not in areas] + new["results"]
    rows.sort(key=lambda r: AREAS.index(r["area"]) if r.get("area") in AREAS else len(AREAS))
    merged = dict(old)
    merged.update(areas={a: stats[a] for a in AREAS if a in stats}, results=rows,
                  merged=sorted(set(old.get("merged", [])) | set(areas)),
                  total_wall_s=round(sum(s.get("wall_s", 0) for s in stats.values()), 2))
    return merged


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="the short run (under 2 minutes on the project's 2-core machine)")
    ap.add_argument("--out", type=Path, default=None,
                    help="JSON report path (default: benchmarks/report.json, the committed full run; "
                         "benchmarks/report.quick.json for --quick, so a quick run never replaces it)")
    ap.add_argument("--only", default=",".join(AREAS), help=f"comma-separated areas (default: all of {', '.join(AREAS)})")
    ap.add_argument("--merge", action="store_true",
                    help="replace only the --only areas' rows in the existing report (the other areas keep their rows, "
                         "and each area records the date and machine it was measured on)")
    args = ap.parse_args(argv)
    if args.out is None:
        args.out = Path(__file__).resolve().parent / ("report.quick.json" if args.quick else "report.json")
    areas = [a.strip() for a in args.only.split(",") if a.strip()]
    unknown = [a for a in areas if a not in AREAS]
    if unknown:
        ap.error(f"unknown areas {unknown}; known: {', '.join(AREAS)}")

    t_all = time.perf_counter()
    info = machine_info()
    info["torch_threads"] = dict(common.torch_threads())
    print(f"# tevatron_ext benchmarks ({'quick' if args.quick else 'full'}): {info['cpu_count']} CPUs ({info['cpu_model']}), "
          f"bf16 {'yes' if info['bf16_supported'] else 'no'}, load average {info['loadavg_start'][0]:.1f}, "
          f"{common.threads_note()} ({info['torch_threads']['reason']}); ratio > 1 means ours is better", flush=True)
    results: list[dict[str, Any]] = []
    area_stats: dict[str, dict[str, float]] = {}
    failed = []
    encode_pps = None
    for area in sorted(areas, key=AREAS.index):
        module = __import__(f"bench_{area}")
        t0, c0 = time.perf_counter(), cpu_seconds()
        try:
            rows = module.run(args.quick, encode_pps=encode_pps) if area == "scaling" else module.run(args.quick)
        except Exception as exc:  # noqa: BLE001  (one area failing must not hide the others)
            traceback.print_exc()
            rows = [common.result(f"{area}", None, None, "", skipped=f"FAILED: {type(exc).__name__}: {exc}")]
            failed.append(area)
        area_stats[area] = {"wall_s": round(time.perf_counter() - t0, 2), "cpu_s": round(cpu_seconds() - c0, 2)}
        for r in rows:
            r["area"] = area
            pps = r.get("details", {}).get("passages_per_s", {})
            if area == "encode" and pps.get("ours"):
                encode_pps = pps["ours"]
            print(common.line(r), flush=True)
        print(f"# {area}: {area_stats[area]['wall_s']:.1f} s wall, {area_stats[area]['cpu_s']:.1f} s CPU", flush=True)
        results.extend(rows)
    info["loadavg_end"] = os.getloadavg()
    total = time.perf_counter() - t_all
    date = time.strftime("%Y-%m-%d %H:%M:%S")
    for stats in area_stats.values():
        stats.update(date=date, cpu_model=info["cpu_model"], loadavg_start=info["loadavg_start"][0])
    report = {"quick": args.quick, "date": date, "machine": info,
              "total_wall_s": round(total, 2), "total_cpu_s": round(cpu_seconds(), 2), "areas": area_stats,
              "results": results}
    if args.merge and args.out.exists():
        report = merge_reports(json.loads(args.out.read_text(encoding="utf-8")), report, areas)
    from tevatron_ext.common.atomic import atomic_write_json

    atomic_write_json(args.out, report)
    missed = [r["name"] for r in results if r.get("target_met") is False]
    print(f"# total {total:.1f} s wall, {report['total_cpu_s']:.1f} s CPU; load average at the end "
          f"{info['loadavg_end'][0]:.1f}; report: {args.out}"
          + (f"; targets missed: {len(missed)}" if missed else "") + (f"; FAILED areas: {failed}" if failed else ""),
          flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
