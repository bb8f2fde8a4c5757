"""Training: tevatron-ext's trainer (``train.train``, HF Trainer) vs a minimal hand-written PyTorch loop.

Both fine-tune multilingual-E5-small with the same loss (``contrastive_loss``), batch (16 queries,
group size 2: one positive and one hard negative), short passages (64 tokens), bf16 autocast,
frozen word embeddings and AdamW. The Trainer side is the real ``train(TrainConfig)``; a callback
added to its Trainer records when each optimizer step ends, so its examples/s cover exactly what
the Trainer does per step (data loading, collation, forward, loss, backward, clipping, optimizer,
scheduler, callbacks) and not model loading or saving. The first steps are a warm-up.
Peak memory: RSS sampled with psutil in a thread during each phase (the hand loop runs first;
freed heap is handed back to the OS between phases).
"""
from __future__ import annotations

import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import common

MODEL = "multilingual-e5-small"
BATCH, GROUP = 16, 2
Q_LEN, P_LEN = 16, 64  # nearly every demo query has >= 16 tokens: every batch has the same shapes
LR = 2e-5
SEED = 13
TARGET_OVERHEAD = 0.10


def _train_rows(n: int, seed: int) -> tuple[list[dict[str, Any]], str]:
    """``n`` Tevatron-format examples from the demo collections (query, judged positive, random negative)."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    sources = []
    for lang in ("am", "km"):
        docs, source = common.load_docs(lang)
        sources.append(source)
        by_id = {d["docid"]: d for d in docs}
        coll = common.demo_collection(lang)
        if coll is None:
            from tevatron_ext.collections import local_collection

            coll = local_collection(common.FIXTURES / f"tiny-{lang}")
        for split in coll.splits:
            topics, qrels = coll.topics(split), coll.qrels(split)
            for q, text in topics.items():
                for d, rel in qrels.get(q, {}).items():
                    if rel > 0 and d in by_id:
                        neg = rng.choice([x for x in docs if x["docid"] != d])
                        rows.append({"query_id": f"{lang}-{split}-{q}", "query": text,
                                     "positive_passages": [by_id[d]], "negative_passages": [neg]})
    rng.shuffle(rows)
    if not rows:
        raise RuntimeError("no training pairs found")
    out = [dict(rows[i % len(rows)], query_id=f"{rows[i % len(rows)]['query_id']}-{i}") for i in range(n)]
    return out, " + ".join(sources)


def _hand_loop(train_file: Path, steps: int, step_ends: list[float]) -> None:
    """The minimal loop: tokenise, forward under bf16 autocast, contrastive loss, backward, AdamW."""
    import torch

    from tevatron_ext.models.zoo import load_encoder, resolve_contract
    from tevatron_ext.train.data import GroupDataset, read_train_examples
    from tevatron_ext.train.loss import contrastive_loss

    contract = resolve_contract(MODEL)
    from dataclasses import replace

    contract = replace(contract, query_max_length=Q_LEN, passage_max_length=P_LEN)
    enc = load_encoder(MODEL, contract)
    enc.query_model.get_input_embeddings().weight.requires_grad_(False)
    enc.train()
    opt = torch.optim.AdamW([p for p in enc.parameters() if p.requires_grad], lr=LR, weight_decay=0.0)
    data = GroupDataset(read_train_examples([train_file]), GROUP, SEED)
    order = list(range(len(data)))
    random.Random(SEED).shuffle(order)
    step_ends.append((time.perf_counter(), time.process_time()))
    for s in range(steps):
        rows = [data[i] for i in order[s * BATCH:(s + 1) * BATCH]]
        q = enc.tokenize([r["query"] for r in rows], "query")
        p = enc.tokenize([x for r in rows for x in r["passages"]], "passage")
        with torch.autocast("cpu", dtype=torch.bfloat16):
            qv, pv = enc(query=q, passage=p)
            loss = contrastive_loss(qv, pv, GROUP, contract.temperature)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        step_ends.append((time.perf_counter(), time.process_time()))
    del enc, opt


def _trainer(train_file: Path, out: Path, steps: int, step_ends: list[float]) -> dict[str, Any]:
    """The real ``train()``, with a callback that timestamps every optimizer step's end."""
    from transformers import TrainerCallback

    import tevatron_ext.train.trainer as T

    class StepClock(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            step_ends.append((time.perf_counter(), time.process_time()))

        def on_step_end(self, args, state, control, **kwargs):
            step_ends.append((time.perf_counter(), time.process_time()))

    original = T._trainer_class

    def timed_trainer_class():
        dense_trainer, epoch_callback = original()

        class TimedTrainer(dense_trainer):
            def __init__(self, *args, callbacks=None, **kwargs):
                super().__init__(*args, callbacks=[*(callbacks or []), StepClock()], **kwargs)

        return TimedTrainer, epoch_callback

    cfg = T.TrainConfig(model=MODEL, train_files=[str(train_file)], out=str(out), group_size=GROUP, batch_size=BATCH,
                        max_steps=steps, learning_rate=LR, bf16=True, freeze_word_embeddings=True,
                        query_max_length=Q_LEN, passage_max_length=P_LEN, save_steps=100000, logging_steps=100000,
                        seed=SEED, resume=False)
    T._trainer_class = timed_trainer_class
    try:
        return T.train(cfg)
    finally:
        T._trainer_class = original


def run(quick: bool) -> list[dict[str, Any]]:
    import os

    common.torch_threads()
    warm, timed_steps = (1, 2) if quick else (2, 8)
    steps = warm + timed_steps
    rows, source = _train_rows(steps * BATCH, SEED)
    results: dict[str, dict[str, Any]] = {}
    os.environ.setdefault("TQDM_DISABLE", "1")
    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        train_file = Path(tmp) / "train.jsonl"
        train_file.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        for name, fn in (("hand", lambda ends: _hand_loop(train_file, steps, ends)),
                         ("trainer", lambda ends: _trainer(train_file, Path(tmp) / "model", steps, ends))):
            common.release_memory()
            ends: list[float] = []
            t0 = time.perf_counter()
            with common.peak_rss() as mem:
                fn(ends)
            wall = time.perf_counter() - t0
            intervals = [b[0] - a[0] for a, b in zip(ends, ends[1:])]
            cpu = [b[1] - a[1] for a, b in zip(ends, ends[1:])]
            measured = intervals[warm:]
            if len(measured) < timed_steps:
                raise RuntimeError(f"{name}: {len(intervals)} steps timed, expected {steps}")
            results[name] = {"step_seconds": intervals, "step_cpu_seconds": cpu, "median_step_s": common.median(measured),
                             "median_step_cpu_s": common.median(cpu[warm:]),
                             "examples_per_s": BATCH / common.median(measured),
                             "examples_per_s_total": BATCH * len(measured) / sum(measured),
                             "peak_rss_mb": mem["peak_mb"], "start_rss_mb": mem["start_mb"], "phase_wall_s": wall}
            common.release_memory()
    ours, base = results["trainer"], results["hand"]
    overhead = base["examples_per_s"] / ours["examples_per_s"] - 1
    cpu_overhead = ours["median_step_cpu_s"] / base["median_step_cpu_s"] - 1
    setup = (f"E5-small, batch {BATCH} x group {GROUP}, {Q_LEN}/{P_LEN} tokens, bf16 autocast, frozen word embeddings, "
             f"AdamW; median of {timed_steps} steps after {warm} warm-up; {common.threads_note()}; data: {source}")
    return [
        common.result("train examples/s: tevatron-ext trainer vs hand-written PyTorch loop", ours["examples_per_s"],
                      base["examples_per_s"], "examples/s", target=1 / (1 + TARGET_OVERHEAD),
                      target_text=f"overhead < {TARGET_OVERHEAD:.0%} (ratio >= {1 / (1 + TARGET_OVERHEAD):.3f})",
                      short=f"Trainer overhead {overhead:+.1%} per step; batch {BATCH} x group {GROUP}, bf16, frozen word embeddings",
                      note=f"Trainer overhead {overhead:+.1%} per step (CPU time {cpu_overhead:+.1%}); {setup}", details={"phases": results}),
        common.result("train peak RSS: tevatron-ext trainer vs hand loop", ours["peak_rss_mb"], base["peak_rss_mb"], "MB",
                      higher_is_better=False,
                      note=f"psutil RSS sampled every 50 ms; growth over the phase's start: trainer "
                           f"{ours['peak_rss_mb'] - ours['start_rss_mb']:,.0f} MB, hand loop {base['peak_rss_mb'] - base['start_rss_mb']:,.0f} MB; "
                           "each phase loads its own model; the trainer phase also saves it (train() writes the final folder)"),
    ]


if __name__ == "__main__":
    common.main(run)
