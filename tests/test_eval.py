"""Our evaluation equals Anserini's trec_eval (the Java port Pyserini runs) to 4 decimals."""
from __future__ import annotations

import random
import subprocess
import sys

import pytest

from tevatron_ext.common.formats import read_qrels, read_run, write_qrels, write_run
from tevatron_ext.common.jvm import java_env
from tevatron_ext.evaluation import evaluate
from tevatron_ext.evaluation.metrics import resolve


@pytest.fixture(scope="module")
def qrels_run(tmp_path_factory):
    rng = random.Random(7)
    d = tmp_path_factory.mktemp("eval")
    docs = [f"d{i:03d}" for i in range(300)]
    qrels = {}
    run = {}
    for q in range(40):
        qid = f"{q:03d}"  # leading zeros must survive
        rel = rng.sample(docs, rng.randint(1, 6))
        qrels[qid] = {doc: rng.choice([1, 2]) for doc in rel}
        qrels[qid].update({doc: 0 for doc in rng.sample(docs, 3) if doc not in qrels[qid]})
        if q % 10 == 9:
            continue  # a topic with no results: -c counts it as 0
        pool = rng.sample(docs, 150) + rel[: rng.randint(0, len(rel))]
        hits = {doc: round(rng.random() * 10, 2) for doc in set(pool)}  # many ties
        run[qid] = hits
    write_qrels(d / "qrels.txt", qrels)
    write_run(d / "run.txt", run, tag="t", k=120)
    return d / "qrels.txt", d / "run.txt"


def java_trec_eval(args: list[str], qrels, run) -> float:
    out = subprocess.run([sys.executable, "-m", "pyserini.eval.trec_eval", *args, str(qrels), str(run)],
                         capture_output=True, text=True, env=java_env(), timeout=300)
    assert out.returncode == 0, out.stderr[-1000:]
    rows = [line.split() for line in out.stdout.splitlines() if len(line.split()) == 3 and line.split()[1] == "all"]
    assert rows, out.stdout[-1000:]
    return float(rows[-1][2])


@pytest.mark.parametrize("metric", ["nDCG@10", "R@100", "MRR@10", "MAP"])
def test_equals_java_trec_eval(qrels_run, metric):
    qrels, run = qrels_run
    ours, _ = evaluate(read_qrels(qrels), read_run(run), [metric])
    java = java_trec_eval(resolve(metric).args.split(), qrels, run)
    assert f"{ours[metric]:.4f}" == f"{java:.4f}"


def test_evaluate_does_not_mutate_and_returns_all(qrels_run):
    qrels, run = read_qrels(qrels_run[0]), read_run(qrels_run[1])
    q0, r0 = repr(qrels), repr(run)
    agg, per_query = evaluate(qrels, run, ["nDCG@10", "R@100", "recall.20"])
    assert set(agg) == {"nDCG@10", "R@100", "recall.20"}
    assert repr(qrels) == q0 and repr(run) == r0
    assert set(per_query["nDCG@10"]) == set(qrels)
    assert per_query["nDCG@10"]["009"] == 0.0


def test_unknown_metric():
    from tevatron_ext.common.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown metric"):
        resolve("nope.10")
