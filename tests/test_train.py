"""Training: the loss on hand-computed examples, groups, tied/untied, CLS/mean, resume after kill."""
from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from helpers import make_tiny_bert

from tevatron_ext.common.errors import ConfigError, InputError
from tevatron_ext.train.data import GroupDataset, read_train_examples
from tevatron_ext.train.loss import contrastive_loss, contrastive_targets


def test_targets_and_loss_by_hand():
    assert contrastive_targets(3, 4).tolist() == [0, 4, 8]
    q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    p = torch.tensor([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0], [1.0, 1.0]])  # group size 2: q0 -> p0, q1 -> p2
    # scores q0: [1, 0, 0, 1]; q1: [0, 0, 1, 1]; CE = -log softmax at the target
    expected = (-math.log(math.e / (math.e + 1 + 1 + math.e)) - math.log(math.e / (1 + 1 + math.e + math.e))) / 2
    assert contrastive_loss(q, p, group_size=2).item() == pytest.approx(expected, abs=1e-6)
    # temperature divides the scores
    t = 0.5
    expected_t = -math.log(math.exp(2) / (2 * math.exp(2) + 2))
    assert contrastive_loss(q, p, 2, temperature=t).item() == pytest.approx(expected_t, abs=1e-6)
    with pytest.raises(ValueError):
        contrastive_loss(q, p[:3], 2)


def _examples(path, n=24, negs=3):
    rows = []
    for i in range(n):
        rows.append({"query_id": f"q{i:02d}", "query": f"what is the city {i}",
                     "positive_passages": [{"docid": f"p{i}", "title": "", "text": f"the capital city number {i}"}],
                     "negative_passages": [{"docid": f"n{i}-{j}", "title": "t", "text": f"a river and a lake {i} {j}"}
                                           for j in range(negs)]})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_groups_seeded_per_seed_epoch_example(tmp_path):
    ex = read_train_examples([_examples(tmp_path / "t.jsonl")])
    ds = GroupDataset(ex, group_size=3, seed=7)
    q, passages = ds.group(5, epoch=0)
    assert passages[0] == "the capital city number 5" and len(passages) == 3  # positive first
    assert ds.group(5, epoch=0) == GroupDataset(ex, 3, 7).group(5, epoch=0)
    assert any(ds.group(i, epoch=0) != ds.group(i, epoch=1) for i in range(len(ds)))
    # an example without negatives borrows other examples' positives
    ds2 = GroupDataset([ex[0].__class__(ex[0].query_id, ex[0].query, ex[0].positives, ()), *ex[1:]], 3, 7)
    assert all(p != ex[0].positives[0].text for p in ds2.group(0)[1][1:])


def test_reader_errors(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_text('{"query_id": "q", "query": "x", "positive_passages": [], "negative_passages": []}\n')
    with pytest.raises(InputError, match="bad.jsonl:1: positive_passages is empty"):
        read_train_examples([p])
    p.write_text('{"query_id": 3, "query": "x", "positive_passages": [{"text": "a"}], "negative_passages": []}\n')
    with pytest.raises(InputError, match="query_id must be a non-empty string"):
        read_train_examples([p])


@pytest.mark.parametrize("pooling, untied", [("cls", False), ("mean", True)])
def test_train_save_load(tmp_path, pooling, untied):
    from tevatron_ext.common.atomic import read_manifest
    from tevatron_ext.models.contract import EncoderContract
    from tevatron_ext.models.zoo import load_encoder
    from tevatron_ext.train.trainer import TrainConfig, train

    base = make_tiny_bert(tmp_path / "base", pooling=pooling, normalize=pooling == "mean")
    data = _examples(tmp_path / "t.jsonl")
    out = tmp_path / "ft"
    m = train(TrainConfig(model=str(base), train_files=[str(data)], out=str(out), batch_size=4, max_steps=6,
                          group_size=3, learning_rate=1e-3, untied=untied, logging_steps=1, save_steps=100))
    assert m["counts"]["steps"] == 6 and m["loss_last"] < m["loss_first"]
    assert read_manifest(out) is not None and not (tmp_path / "ft.work").exists()
    assert m["peak_rss_scope"] == "training" and 0 < m["peak_rss_mb"]  # the peak of this run, not of pytest's process
    c = EncoderContract.load(out)
    assert c.pooling == pooling and c.tied == (not untied)
    if untied:
        assert (out / "query_model" / "config.json").exists() and (out / "passage_model" / "config.json").exists()
    enc = load_encoder(str(out))
    v = enc.encode(["what is the city 1"], "query")
    assert v.shape == (1, 32)


def test_untrained_rows_rule(tmp_path):
    from tevatron_ext.train.trainer import VOCAB_EXTENSION_FILE, TrainConfig, train

    base = make_tiny_bert(tmp_path / "base")
    (base / VOCAB_EXTENSION_FILE).write_text("{}")
    with pytest.raises(ConfigError, match="new embedding rows must train"):
        train(TrainConfig(model=str(base), train_files=[str(_examples(tmp_path / "t.jsonl"))], out=str(tmp_path / "o"),
                          freeze_word_embeddings=True))


def test_config_file_and_unknown_keys(tmp_path):
    from tevatron_ext.train.trainer import TrainConfig

    p = tmp_path / "c.yaml"
    p.write_text("model: m\ntrain_files: [a]\nout: o\nbatch_size: 8\n")
    assert TrainConfig.from_file(p, batch_size=4).batch_size == 4
    p.write_text("model: m\nbatchsize: 8\n")
    with pytest.raises(InputError, match="unknown training options"):
        TrainConfig.from_file(p)


def test_resume_after_kill(tmp_path):
    """Kill the trainer after its first checkpoint; the rerun resumes there and ends at the same step."""
    base = make_tiny_bert(tmp_path / "base", hidden=64, layers=2)
    data = _examples(tmp_path / "t.jsonl", n=64)
    out = tmp_path / "ft"
    cmd = [sys.executable, "-m", "tevatron_ext", "train", "-m", str(base), "--train", str(data), "-o", str(out),
           "--batch-size", "4", "--max-steps", "400", "--save-steps", "5", "--logging-steps", "5", "--seed", "3"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True)
    work = tmp_path / "ft.work"
    deadline = time.time() + 240
    while time.time() < deadline and not any((c / "trainer_state.json").exists() for c in work.glob("checkpoint-*")):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    ckpts = [c for c in work.glob("checkpoint-*") if (c / "trainer_state.json").exists()]
    assert ckpts, "no checkpoint before the kill"
    assert not out.exists()  # nothing half-written at the final path
    first = max(int(c.name.split("-")[1]) for c in ckpts)
    assert first < 400
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    m = json.loads((out / "manifest.json").read_text())
    assert m["counts"]["steps"] == 400
    assert m["resumed_from"] and m["resumed_from"].endswith(f"checkpoint-{first}") or "checkpoint-" in m["resumed_from"]
