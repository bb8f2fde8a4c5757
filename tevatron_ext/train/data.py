"""Tevatron's raw training format and the seeded group sampler.

One JSON object per line::

    {"query_id": "q1", "query": "...", "positive_passages": [{"docid", "title", "text"}],
     "negative_passages": [{"docid", "title", "text"}, ...]}

A training group is the query, one positive (always first) and ``group_size - 1`` negatives,
sampled with ``random.Random`` seeded by ``(seed, epoch, example index)``: no global random state,
and a resumed run sees exactly the groups an uninterrupted one would.
"""
from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..common.atomic import atomic_open
from ..common.errors import InputError
from ..common.formats import iter_jsonl

TRAIN_FIELDS = ("query_id", "query", "positive_passages", "negative_passages")


@dataclass(frozen=True)
class Passage:
    docid: str
    title: str
    text: str


@dataclass(frozen=True)
class TrainExample:
    query_id: str
    query: str
    positives: tuple[Passage, ...]
    negatives: tuple[Passage, ...]


def _passages(path: Path, n: int, obj: dict, key: str) -> tuple[Passage, ...]:
    items = obj.get(key)
    if not isinstance(items, list):
        raise InputError(path, n, f"field {key!r} must be a list of {{docid, title, text}} objects")
    out = []
    for i, p in enumerate(items):
        if not isinstance(p, dict) or not isinstance(p.get("text"), str) or not p["text"].strip():
            raise InputError(path, n, f"{key}[{i}] needs a non-empty string 'text'")
        docid = p.get("docid", "")
        if not isinstance(docid, str):
            raise InputError(path, n, f"{key}[{i}].docid must be a string, got {docid!r}")
        title = p.get("title")
        if title is not None and not isinstance(title, str):
            raise InputError(path, n, f"{key}[{i}].title must be a string, got {title!r}")
        out.append(Passage(docid, title or "", p["text"]))
    return tuple(out)


def read_train_examples(paths: Sequence[str | Path]) -> list[TrainExample]:
    """Read and validate Tevatron raw JSONL files (errors name the file and the line)."""
    examples: list[TrainExample] = []
    for path in paths:
        path = Path(path)
        for n, obj in iter_jsonl(path):
            missing = [k for k in TRAIN_FIELDS if k not in obj]
            if missing:
                raise InputError(path, n, f"missing fields {missing}; expected {list(TRAIN_FIELDS)}")
            qid, query = obj["query_id"], obj["query"]
            if not isinstance(qid, str) or not qid.strip():
                raise InputError(path, n, f"query_id must be a non-empty string, got {qid!r}")
            if not isinstance(query, str) or not query.strip():
                raise InputError(path, n, "query must be a non-empty string")
            pos = _passages(path, n, obj, "positive_passages")
            if not pos:
                raise InputError(path, n, "positive_passages is empty: every example needs a positive")
            examples.append(TrainExample(qid, query, pos, _passages(path, n, obj, "negative_passages")))
    if not examples:
        raise InputError(paths[0] if paths else None, None, "no training examples")
    return examples


def write_train_examples(path: str | Path, rows: Iterable[dict[str, Any]]) -> int:
    n = 0
    with atomic_open(path) as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
            n += 1
    return n


def passage_text(p: Passage) -> str:
    return f"{p.title} {p.text}".strip() if p.title else p.text


class GroupDataset:
    """Index -> (query, [positive, negative, ...]) raw texts; the collator tokenises."""

    def __init__(self, examples: Sequence[TrainExample], group_size: int, seed: int):
        if group_size < 1:
            raise ValueError("group_size counts the positive: it must be >= 1")
        self.examples = list(examples)
        self.group_size = group_size
        self.seed = seed
        self.epoch = 0
        # examples without negatives borrow other examples' positives (in-batch style), seeded
        self._pool = [p for e in self.examples for p in e.positives]

    def __len__(self) -> int:
        return len(self.examples)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def group(self, idx: int, epoch: int | None = None) -> tuple[str, list[str]]:
        ex = self.examples[idx]
        rng = random.Random(f"{self.seed}-{self.epoch if epoch is None else epoch}-{idx}")
        pos = ex.positives[rng.randrange(len(ex.positives))]
        k = self.group_size - 1
        if k == 0:
            negs: list[Passage] = []
        elif ex.negatives:
            negs = rng.sample(ex.negatives, k) if len(ex.negatives) >= k else [rng.choice(ex.negatives) for _ in range(k)]
        else:
            candidates = [p for p in self._pool if p.docid != pos.docid] or self._pool
            negs = [rng.choice(candidates) for _ in range(k)]
        return ex.query, [passage_text(pos), *(passage_text(n) for n in negs)]

    def __getitem__(self, idx: int) -> dict[str, Any]:
        query, passages = self.group(idx)
        return {"query": query, "passages": passages}
