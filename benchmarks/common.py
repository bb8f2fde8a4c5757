"""Shared helpers for the benchmark scripts: results, timing, memory sampling, corpora.

Every benchmark returns a list of result dicts (see :func:`result`); ``run.py`` prints them with
:func:`line` and writes them to JSON. Timings use ``time.perf_counter``; repeated measurements are
interleaved (ours, baseline, ours, baseline) and summarised by their median, because the machine
is shared and noisy: ratios measured side by side mean more than any single absolute time.
"""
from __future__ import annotations

import ctypes
import gc
import json
import os
import random
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python benchmarks/x.py` from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


# --------------------------------------------------------------------------- results
def result(name: str, ours: float | None, baseline: float | None, unit: str, *, higher_is_better: bool = True,
           target: float | None = None, target_text: str | None = None, note: str = "",
           details: dict[str, Any] | None = None, skipped: str | None = None, ratio: float | None = None,
           baseline_unit: str | None = None, met: bool | None = None, digits: int | None = None,
           short: str = "") -> dict[str, Any]:
    """One comparison. ``ratio`` is ours/baseline when higher is better, baseline/ours when lower is
    better (so a ratio above 1 always means "ours is better"), unless given explicitly. ``short`` is a
    one-line gloss for the README table's notes; ``note`` is the full context printed on the line."""
    if ratio is None and ours is not None and baseline:
        ratio = ours / baseline if higher_is_better else (baseline / ours if ours else None)
    if met is None and target is not None and ratio is not None:
        met = ratio >= target
    return {"name": name, "ours": ours, "baseline": baseline, "ratio": ratio, "unit": unit,
            "baseline_unit": baseline_unit or unit, "higher_is_better": higher_is_better, "target": target,
            "target_text": target_text or (f"ratio >= {target:g}" if target is not None else None),
            "target_met": met, "note": note, "details": details or {}, "skipped": skipped, "digits": digits,
            "short": short}


def skipped(name: str, why: str) -> dict[str, Any]:
    return result(name, None, None, "", skipped=why)


def fmt(x: float | None, digits: int | None = None) -> str:
    if x is None:
        return "n/a"
    if digits is not None:
        return f"{x:.{digits}f}"
    ax = abs(x)
    if ax == 0:
        return "0"
    if ax >= 1000:
        return f"{x:,.0f}"
    if ax >= 100:
        return f"{x:.1f}"
    if ax >= 1:
        return f"{x:.2f}"
    if ax >= 0.01:
        return f"{x:.3f}"
    return f"{x:.2e}"


def line(r: dict[str, Any]) -> str:
    """``NAME: ours=... baseline=... ratio=...`` plus the target verdict and a note."""
    if r.get("skipped"):
        return f"{r['name']}: skipped: {r['skipped']}"
    unit = f" {r['unit']}" if r["unit"] and r["ours"] is not None else ""
    bunit = f" {r['baseline_unit']}" if r["baseline_unit"] and r["baseline"] is not None else ""
    ratio = "n/a" if r["ratio"] is None else f"{r['ratio']:.2f}"
    d = r.get("digits")
    text = f"{r['name']}: ours={fmt(r['ours'], d)}{unit} baseline={fmt(r['baseline'], d)}{bunit} ratio={ratio}"
    if r["target_text"]:
        verdict = "" if r["target_met"] is None else (" MET" if r["target_met"] else " MISSED")
        text += f" [target {r['target_text']}{verdict}]"
    if r["note"]:
        text += f" -- {r['note']}"
    return text


# --------------------------------------------------------------------------- timing
def timed(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[float, Any]:
    """Wall seconds of ``fn(*args, **kwargs)``, and its result."""
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out


def interleave(fns: dict[str, Callable[[], Any]], repeats: int,
               cpu: dict[str, list[float]] | None = None) -> tuple[dict[str, list[float]], dict[str, Any]]:
    """Run each function ``repeats`` times in round-robin order (a, b, a, b, ...); wall seconds per call
    and the last output of each. ``cpu``, when given, collects the process CPU seconds of each call
    (less sensitive than wall time to other processes on a shared machine)."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    outs: dict[str, Any] = {}
    for _ in range(repeats):
        for k, fn in fns.items():
            c0 = time.process_time()
            dt, outs[k] = timed(fn)
            times[k].append(dt)
            if cpu is not None:
                cpu.setdefault(k, []).append(time.process_time() - c0)
    return times, outs


def median(xs: Iterable[float]) -> float:
    return float(statistics.median(list(xs)))


# --------------------------------------------------------------------------- threads
_THREADS: dict[str, Any] = {}


def torch_threads() -> dict[str, Any]:
    """Set how many threads torch uses for the comparisons (once per process) and say why.

    Default: 1. On this 2-core shared machine a 2-thread run waits at every OpenMP barrier for
    whichever thread the scheduler parked, so as soon as anything else runs (the load average
    here is rarely below 1) it measures the scheduler more than the code. Measured here: an E5
    encode took 2.5x longer with 2 threads than with 1 at a load average of 5, and with 2 threads
    the same comparison swung from ratio 2.3 to 1.2 between runs. Ours and the baseline always run
    with the same setting, so ratios stay fair. ``TEVX_BENCH_THREADS=N`` (e.g. 2 on a quiet
    machine, for the tool's default speed) overrides it."""
    if _THREADS:
        return _THREADS
    import torch

    default = torch.get_num_threads()
    forced = os.environ.get("TEVX_BENCH_THREADS")
    n, why = (int(forced), "TEVX_BENCH_THREADS") if forced else (1, "robust on a shared 2-core machine; TEVX_BENCH_THREADS=N to change")
    torch.set_num_threads(n)
    _THREADS.update(threads=n, default=default, reason=why, loadavg=os.getloadavg()[0])
    return _THREADS


def threads_note() -> str:
    t = torch_threads()
    return f"torch threads {t['threads']}" + ("" if t["threads"] == t["default"] else f" of {t['default']}")


def faiss_release() -> None:
    """Shrink FAISS's OpenMP pool back to one thread.

    faiss-cpu ships its own libgomp; after it ran a parallel region with 2 threads, its idle worker
    keeps spinning, and torch work later in the same process took 2-3x longer here (a train step:
    2.4 s of CPU before a few FAISS searches, 4.8-15 s after). Setting one thread and running one
    tiny search parks the worker."""
    import faiss
    import numpy as np

    faiss.omp_set_num_threads(1)
    index = faiss.IndexFlatIP(4)
    index.add(np.eye(4, dtype=np.float32))
    index.search(np.eye(2, 4, dtype=np.float32), 1)


# --------------------------------------------------------------------------- memory
def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def release_memory() -> None:
    """Collect garbage and hand freed heap back to the OS, so the next phase starts from a clean RSS."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


@contextmanager
def peak_rss(interval: float = 0.05):
    """Sample this process's RSS in a thread; yields a dict filled with ``start_mb`` and ``peak_mb``."""
    import psutil

    proc = psutil.Process()
    stats = {"start_mb": proc.memory_info().rss / 2**20, "peak_mb": 0.0}
    stats["peak_mb"] = stats["start_mb"]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            stats["peak_mb"] = max(stats["peak_mb"], proc.memory_info().rss / 2**20)
            stop.wait(interval)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    try:
        yield stats
    finally:
        stop.set()
        t.join()
        stats["peak_mb"] = max(stats["peak_mb"], proc.memory_info().rss / 2**20)


# --------------------------------------------------------------------------- corpora
FIXTURES = ROOT / "tests" / "fixtures"


def demo_collection(lang: str):
    """The embedded demo collection ``demo-LANG`` if its files are in place, else None."""
    from tevatron_ext.collections import get_collection

    try:
        coll = get_collection(f"demo-{lang}")
        if coll.corpus_path().is_file() and coll.topics_path("test").is_file() and coll.qrels_path("test").is_file():
            return coll
    except Exception:  # noqa: BLE001  (an absent or half-written demo: fall back)
        return None
    return None


def load_docs(lang: str) -> tuple[list[dict[str, str]], str]:
    """Passages ``{docid, title, text}`` of the demo collection, or of the tiny test fixture (and where from)."""
    coll = demo_collection(lang)
    path = coll.corpus_path() if coll is not None else FIXTURES / f"tiny-{lang}" / "corpus.jsonl"
    docs = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    return docs, (f"demo-{lang}" if coll is not None else f"tests/fixtures/tiny-{lang} (demo data absent)")


def synthetic_docs(lang: str, n: int, seed: int) -> tuple[list[dict[str, str]], str]:
    """``n`` passages: the real ones first, then seeded recombinations of their sentences."""
    docs, source = load_docs(lang)
    rng = random.Random(seed)
    stop = "።" if lang == "am" else "។"
    sentences = [s.strip() + stop for d in docs for s in d["text"].split(stop) if s.strip()]
    out = [dict(d) for d in docs[:n]]
    while len(out) < n:
        k = len(out)
        base = docs[k % len(docs)]
        text = " ".join(rng.choice(sentences) for _ in range(rng.randint(3, 8)))
        out.append({"docid": f"{base['docid']}-syn{k}", "title": base.get("title", ""), "text": text})
    note = source if n <= len(docs) else f"{source}, extended with {n - len(docs)} seeded sentence recombinations"
    return out, note


def passage_text(d: dict[str, str]) -> str:
    from tevatron_ext.dense.encode import passage_text as pt

    return pt(d.get("title") or "", d["text"])


def main(run: Callable[[bool], list[dict[str, Any]]]) -> None:
    """Standalone entry point of one benchmark script: ``python benchmarks/bench_x.py [--quick]``."""
    quick = "--quick" in sys.argv[1:]
    for r in run(quick):
        print(line(r), flush=True)
