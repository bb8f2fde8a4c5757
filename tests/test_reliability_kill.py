"""SIGKILL at seeded random points, then resume: the result equals an uninterrupted run's.

(a) ``tevatron-ext encode`` resumes at shard level: killed three times (twice while shards are being
    written, once after the last shard while the FAISS index is assembled), the rerun gives the same
    docids and vectors as one uninterrupted run, and nothing exists at the index path before it is complete.
(b) ``tevatron-ext recipe run`` resumes at step level: killed inside three seeded steps, the rerun skips
    the complete steps and writes the same results.json metrics; a run file or index at a final path
    is always complete.

Training kill/resume is covered in tests/test_train.py::test_resume_after_kill.
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
from helpers import WORDS, make_tiny_bert

from tevatron_ext.common.atomic import read_manifest
from tevatron_ext.common.formats import read_run

SEED = 20240611
ENCODE_KILLS = 3
RECIPE_KILLS = 3
KILL_POINTS = {"encode": ENCODE_KILLS, "recipe": RECIPE_KILLS}  # kill points per stage, for the report
N_PASSAGES = 3000
SHARD = 300


class Proc:
    """A ``python -m tevatron_ext`` child in its own session; stderr lines are collected by a thread."""

    def __init__(self, args: list[str], cwd: Path):
        # one torch thread: on a loaded machine OpenMP spin-waiting makes the tiny model ~40x slower
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
        self.p = subprocess.Popen([sys.executable, "-m", "tevatron_ext", *args], cwd=cwd, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
        self.lines: list[str] = []
        self._t = threading.Thread(target=self._read, daemon=True)
        self._t.start()

    def _read(self) -> None:
        for line in self.p.stderr:
            self.lines.append(line.rstrip("\n"))

    def running(self) -> bool:
        return self.p.poll() is None

    def kill(self) -> None:
        os.killpg(self.p.pid, signal.SIGKILL)
        self.wait()
        assert self.p.returncode == -signal.SIGKILL, "the child finished before it could be killed"

    def wait(self, timeout: float = 300) -> int:
        try:
            self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.p.pid, signal.SIGKILL)
            raise
        self._t.join(timeout=30)
        return self.p.returncode

    def finish(self) -> None:
        rc = self.wait()
        assert rc == 0, "\n".join(self.lines[-40:])


def wait_until(proc: Proc, cond, invariant, what: str, timeout: float = 240) -> None:
    t0 = time.monotonic()
    while not cond():
        invariant()
        assert proc.running(), f"finished before {what}:\n" + "\n".join(proc.lines[-20:])
        assert time.monotonic() - t0 < timeout, f"timed out waiting for {what}"
        time.sleep(0.005)


# --------------------------------------------------------------------------- (a) encode
def make_collection(root: Path, n: int, seed: int) -> Path:
    rng = random.Random(seed)
    root.mkdir(parents=True)
    with open(root / "corpus.jsonl", "w", encoding="utf-8") as fh:
        for i in range(n):
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 12)))
            fh.write(json.dumps({"docid": f"{i:05d}", "title": rng.choice(["", "ethiopia", "cambodia"]), "text": text}) + "\n")
    (root / "topics.tsv").write_text("q1\twhat is the capital city\n", encoding="utf-8")
    (root / "qrels.txt").write_text("q1 0 00001 1\n", encoding="utf-8")
    return root


def read_index(idx: Path) -> tuple[list[str], np.ndarray]:
    import faiss

    index = faiss.read_index(str(idx / "index"))
    return (idx / "docid").read_text(encoding="utf-8").split(), index.reconstruct_n(0, index.ntotal)


def test_encode_resumes_after_sigkill(tmp_path):
    rng = random.Random(SEED)
    model = make_tiny_bert(tmp_path / "bert")
    coll = make_collection(tmp_path / "coll", N_PASSAGES, SEED)
    n_shards = N_PASSAGES // SHARD

    def encode(idx: Path) -> Proc:
        return Proc(["encode", "-m", str(model), "-c", str(coll), "-i", str(idx), "--shard-size", str(SHARD),
                     "--batch-size", "16"], tmp_path)

    ref = tmp_path / "ref"
    ref_proc = encode(ref)  # the uninterrupted run, side by side with the killed ones

    idx = tmp_path / "idx"
    partial = tmp_path / "idx.partial"

    def shards() -> int:
        return len(list(partial.glob("shard-*.npy"))) if partial.is_dir() else 0

    def nothing_final() -> None:  # the index path holds nothing, or a complete index
        assert not idx.exists() or read_manifest(idx) is not None

    # kill points: two while shards are written (each after a seeded number of new shards and a seeded
    # delay), the last once every shard exists (the FAISS index is being assembled)
    done_before = 0
    targets = sorted(rng.sample(range(1, n_shards - 2), ENCODE_KILLS - 1)) + [n_shards]
    for k, target in enumerate(targets):
        p = encode(idx)
        wait_until(p, lambda t=target: shards() >= t, nothing_final, f"{target} shards")
        if k < ENCODE_KILLS - 1:
            time.sleep(rng.uniform(0, 0.05))
        p.kill()
        assert not idx.exists(), f"kill {k}: something at the final index path before completion"
        have = shards()
        print(f"encode kill {k}: waited for {target} shards, killed with {have}/{n_shards} written")
        assert have >= max(target, done_before), (have, target, done_before)
        done_before = have
        # every shard left behind is whole (written atomically): it loads with the right shape
        for s in partial.glob("shard-*.npy"):
            assert np.load(s).shape[0] == SHARD
    p = encode(idx)
    p.finish()
    manifest = read_manifest(idx)
    assert manifest["counts"]["docs"] == N_PASSAGES and manifest["counts"]["encoded_now"] == 0  # all shards reused
    assert not partial.exists()
    assert not list(tmp_path.glob(".idx*"))  # temporaries of the killed runs are swept by the one that finishes
    ref_proc.finish()
    ref_ids, ref_vecs = read_index(ref)
    assert ref_ids == [f"{i:05d}" for i in range(N_PASSAGES)] and ref_vecs.shape[0] == N_PASSAGES
    ids, vecs = read_index(idx)
    assert ids == ref_ids
    assert np.allclose(vecs, ref_vecs, atol=1e-6)


# --------------------------------------------------------------------------- (b) recipe
RECIPE = """
name: mini-kill
output: {out}
metrics: [nDCG@10, R@100, MRR@10]
vars: {{split: default, idx: {idx}}}
collections:
  {am}: {{lang: am}}
  {km}: {{lang: km}}
conditions:
  - name: bm25
    steps:
      - run: bm25 index -c {{collection}} -i {{idx}}/bm25.{{lang}}
        creates: "{{idx}}/bm25.{{lang}}"
      - run: bm25 search -i {{idx}}/bm25.{{lang}} -c {{collection}} --split {{split}} -o {{run}}
        creates: "{{run}}"
  - name: bm25-lucene
    steps:
      - run: bm25 index -c {{collection}} -i {{idx}}/lucene.{{lang}} --analyzer lucene
        creates: "{{idx}}/lucene.{{lang}}"
      - run: bm25 search -i {{idx}}/lucene.{{lang}} -c {{collection}} --split {{split}} -o {{run}}
        creates: "{{run}}"
  - name: hybrid-rrf
    steps:
      - run: "fuse -r {{output}}/runs/bm25.{{collection}}.{{split}}.txt -r {{output}}/runs/bm25-lucene.{{collection}}.{{split}}.txt --method rrf -o {{run}}"
        creates: "{{run}}"
"""
N_STEPS = 10


def write_recipe(path: Path, out: Path, idx: Path, am: Path, km: Path) -> Path:
    path.write_text(RECIPE.format(out=out, idx=idx, am=am, km=km), encoding="utf-8")
    return path


def metrics_of(results_file: Path) -> dict:
    cells = json.loads(results_file.read_text(encoding="utf-8"))["cells"]
    return {key: (c["metrics"], c["per_query"], c["topics"], c["topics_missing_from_run"]) for key, c in cells.items()}


def run_files(out: Path) -> list[Path]:
    """Final run files (a local collection's path is part of the run name, so they nest); temporaries excluded."""
    return sorted(p for p in (out / "runs").rglob("*.txt") if not p.name.startswith(".")) if (out / "runs").is_dir() else []


def check_finals(out: Path, idx: Path) -> None:
    """Whatever is at a final path is complete: runs parse in full, indexes have a manifest, JSON parses."""
    for run in run_files(out):
        read_run(run)  # parses in full (a torn last line would not); lucene.km is empty: no Khmer analysis
    for d in idx.iterdir() if idx.is_dir() else ():
        if not d.name.startswith("."):
            assert read_manifest(d) is not None, f"{d}: an index at its final path without a complete manifest"
    for j in ("results.json", "timings.json"):
        if (out / j).exists():
            json.loads((out / j).read_text(encoding="utf-8"))


def test_recipe_resumes_after_sigkill(tmp_path, tiny_am, tiny_km):
    rng = random.Random(SEED)
    ref_recipe = write_recipe(tmp_path / "ref.yaml", tmp_path / "ref-out", tmp_path / "ref-idx", tiny_am, tiny_km)
    ref_proc = Proc(["recipe", "run", str(ref_recipe), "--no-report"], tmp_path)  # uninterrupted, side by side

    out, idx = tmp_path / "out", tmp_path / "idx"
    mini = write_recipe(tmp_path / "mini.yaml", out, idx, tiny_am, tiny_km)
    # kill inside three seeded steps, one in each third of steps 1..N_STEPS-1 (increasing: each rerun redoes
    # the interrupted step), after a seeded delay; the runner prints "[k/10] tevatron-ext ..." when step k starts
    steps = [rng.choice(range(1 + i * 3, 4 + i * 3)) for i in range(RECIPE_KILLS)]
    skipped = []
    for k in steps:
        p = Proc(["recipe", "run", str(mini), "--no-report"], tmp_path)
        header = f"[{k}/{N_STEPS}] tevatron-ext"
        wait_until(p, lambda h=header, p=p: any(line.startswith(h) for line in p.lines),
                   lambda: check_finals(out, idx), f"step {k}")
        time.sleep(rng.uniform(0, 0.02))
        p.kill()
        skipped.append(sum("skip (complete)" in line for line in p.lines))
        steps_seen = [line for line in p.lines if line.startswith("[")]
        print(f"recipe kill in step {k}: last step line {steps_seen[-1]!r}")
        check_finals(out, idx)
        for run in run_files(out):
            m = read_manifest(run)
            assert m is None or m["counts"]["lines"] == sum(len(h) for h in read_run(run).values())
    p = Proc(["recipe", "run", str(mini), "--no-report"], tmp_path)
    p.finish()
    skipped.append(sum("skip (complete)" in line for line in p.lines))
    # resume is step-level: each rerun skips the steps finished before the kill
    assert skipped[0] == 0 and skipped[-1] >= steps[-1] - 1 and skipped == sorted(skipped), skipped
    check_finals(out, idx)
    ref_proc.finish()
    want = metrics_of(tmp_path / "ref-out" / "results.json")
    assert len(want) == 6 and metrics_of(out / "results.json") == want
    ref_runs = run_files(tmp_path / "ref-out")
    assert len(ref_runs) == 6
    assert [r.relative_to(tmp_path / "ref-out") for r in ref_runs] == [r.relative_to(out) for r in run_files(out)]
    for r in ref_runs:
        assert read_run(out / r.relative_to(tmp_path / "ref-out")) == read_run(r)
        assert read_manifest(out / r.relative_to(tmp_path / "ref-out")) is not None
    # each killed step was redone, and redoing an output sweeps the killed writer's temporaries
    assert not [p for d in (out, idx) for p in d.rglob("*.tmp")]

