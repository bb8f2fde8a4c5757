"""Readers and writers of the files that connect the stages, each with one validated schema.

* corpus JSONL: ``{"docid", "title", "text"}`` (MIRACL / Pyserini);
* topics TSV: ``qid<TAB>query`` (or JSONL ``{"qid", "query"}``);
* qrels: ``qid 0 docid rel`` (TREC);
* runs: ``qid Q0 docid rank score tag`` (TREC, 1-based ranks, ties broken by ``(-score, docid)``).

Every id is a string everywhere (``0001`` never becomes ``1``). Every reader raises
:class:`~tevatron_ext.common.errors.InputError` naming the file, the line and what was expected.
"""
from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from .atomic import atomic_open
from .errors import InputError

MAX_LINE_BYTES = 16 * 1024 * 1024  # a single line longer than this is rejected, not swallowed
SCORE_DECIMALS = 6


@dataclass(frozen=True)
class Doc:
    docid: str
    title: str
    text: str

    def as_dict(self) -> dict[str, str]:
        return {"docid": self.docid, "title": self.title, "text": self.text}


def iter_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, line)`` decoded as UTF-8, without BOM or line ending; skips blank lines."""
    path = Path(path)
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        raise InputError(path, None, "file not found") from None
    except OSError as exc:
        raise InputError(path, None, f"cannot read: {exc.strerror}") from None
    with fh:
        for n, raw in enumerate(fh, start=1):
            if len(raw) > MAX_LINE_BYTES:
                raise InputError(path, n, f"line longer than {MAX_LINE_BYTES} bytes")
            if n == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(path, n, f"invalid UTF-8 at byte {exc.start}") from None
            line = line.rstrip("\r\n")
            if line.strip():
                yield n, line


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, dict]]:
    """Yield ``(line_number, object)``; every non-blank line must be one JSON object."""
    for n, line in iter_lines(path):
        try:
            obj = json.loads(line)
        except ValueError as exc:
            raise InputError(path, n, f"invalid JSON ({exc.msg} at column {exc.colno}); expected one JSON object per line") from None
        if not isinstance(obj, dict):
            raise InputError(path, n, f"expected a JSON object, got {type(obj).__name__}")
        yield n, obj


def _string_field(path: str | Path, n: int, obj: Mapping, key: str, *, required: bool = True,
                  allow_empty: bool = False) -> str:
    if key not in obj:
        if required:
            raise InputError(path, n, f"missing field {key!r} (have {sorted(obj)})")
        return ""
    value = obj[key]
    if not isinstance(value, str):
        kind = "number" if isinstance(value, (int, float)) and not isinstance(value, bool) else type(value).__name__
        raise InputError(path, n, f"field {key!r} must be a JSON string, got {kind} {value!r}"
                         + (" (quote ids so that 0001 stays 0001)" if key.endswith("id") else ""))
    if not allow_empty and not value.strip():
        raise InputError(path, n, f"field {key!r} is empty")
    return value


CORPUS_FIELDS = {"docid", "title", "text"}


def iter_corpus(path: str | Path, *, strict: bool = False) -> Iterator[Doc]:
    """Yield the documents of a corpus JSONL; duplicate docids are an error (they make runs ambiguous)."""
    seen: dict[str, int] = {}
    for n, obj in iter_jsonl(path):
        docid = _string_field(path, n, obj, "docid")
        text = _string_field(path, n, obj, "text")
        title = _string_field(path, n, obj, "title", required=False, allow_empty=True)
        if strict and (extra := set(obj) - CORPUS_FIELDS):
            raise InputError(path, n, f"unexpected fields {sorted(extra)}; expected {sorted(CORPUS_FIELDS)}")
        if docid in seen:
            raise InputError(path, n, f"duplicate docid {docid!r} (first on line {seen[docid]})")
        seen[docid] = n
        yield Doc(docid, title, text)


def read_corpus(path: str | Path, *, strict: bool = False) -> dict[str, Doc]:
    return {d.docid: d for d in iter_corpus(path, strict=strict)}


def write_corpus(path: str | Path, docs: Iterable[Doc | Mapping]) -> int:
    n = 0
    with atomic_open(path) as fh:
        for d in docs:
            obj = d.as_dict() if isinstance(d, Doc) else {"docid": d["docid"], "title": d.get("title", ""), "text": d["text"]}
            fh.write(json.dumps(obj, ensure_ascii=False) + "\n")
            n += 1
    return n


def read_topics(path: str | Path) -> dict[str, str]:
    """Topics as ``{qid: query}`` from ``qid<TAB>query`` TSV, or JSONL with ``qid``/``query`` fields."""
    path = Path(path)
    topics: dict[str, str] = {}
    lines: dict[str, int] = {}
    if path.suffix == ".jsonl":
        rows = ((n, _string_field(path, n, o, "qid"), _string_field(path, n, o, "query")) for n, o in iter_jsonl(path))
    else:
        rows = (_split_topic(path, n, line) for n, line in iter_lines(path))
    for n, qid, query in rows:
        if qid in topics:
            raise InputError(path, n, f"duplicate topic id {qid!r} (first on line {lines[qid]})")
        topics[qid], lines[qid] = query, n
    return topics


def _split_topic(path: Path, n: int, line: str) -> tuple[int, str, str]:
    parts = line.split("\t")
    if len(parts) != 2:
        raise InputError(path, n, f"expected 2 tab-separated columns (qid, query), got {len(parts)}")
    qid, query = parts[0].strip(), parts[1].strip()
    if not qid:
        raise InputError(path, n, "empty topic id")
    if not query:
        raise InputError(path, n, f"empty query for topic {qid!r}")
    return n, qid, query


def write_topics(path: str | Path, topics: Mapping[str, str]) -> int:
    with atomic_open(path) as fh:
        for qid, query in topics.items():
            if "\t" in query or "\n" in query:
                query = " ".join(query.split())
            fh.write(f"{qid}\t{query}\n")
    return len(topics)


Qrels = dict[str, dict[str, int]]


def read_qrels(path: str | Path) -> Qrels:
    """TREC qrels ``qid iter docid rel`` as ``{qid: {docid: rel}}`` (rel an int)."""
    qrels: Qrels = {}
    for n, line in iter_lines(path):
        parts = line.split()
        if len(parts) != 4:
            raise InputError(path, n, f"expected 4 columns 'qid 0 docid rel', got {len(parts)}")
        qid, _, docid, rel = parts
        try:
            grade = int(rel)
        except ValueError:
            raise InputError(path, n, f"relevance must be an integer, got {rel!r}") from None
        if docid in qrels.setdefault(qid, {}):
            raise InputError(path, n, f"duplicate judgment for topic {qid!r}, doc {docid!r}")
        qrels[qid][docid] = grade
    return qrels


def write_qrels(path: str | Path, qrels: Mapping[str, Mapping[str, int]]) -> int:
    n = 0
    with atomic_open(path) as fh:
        for qid, judged in qrels.items():
            for docid, rel in judged.items():
                fh.write(f"{qid} 0 {docid} {int(rel)}\n")
                n += 1
    return n


Run = dict[str, dict[str, float]]


def read_run(path: str | Path) -> Run:
    """A 6-column TREC run as ``{qid: {docid: score}}``; checks finite scores and 1-based increasing ranks."""
    run: Run = {}
    last_rank: dict[str, int] = {}
    for n, line in iter_lines(path):
        parts = line.split()
        if len(parts) != 6:
            raise InputError(path, n, f"expected 6 columns 'qid Q0 docid rank score tag', got {len(parts)}")
        qid, _, docid, rank_s, score_s, _tag = parts
        try:
            rank = int(rank_s)
        except ValueError:
            raise InputError(path, n, f"rank must be an integer, got {rank_s!r}") from None
        try:
            score = float(score_s)
        except ValueError:
            raise InputError(path, n, f"score must be a number, got {score_s!r}") from None
        if not math.isfinite(score):
            raise InputError(path, n, f"score must be finite, got {score_s!r}")
        if rank < 1:
            raise InputError(path, n, f"ranks are 1-based, got {rank}")
        if qid in last_rank and rank <= last_rank[qid]:
            raise InputError(path, n, f"ranks out of order for topic {qid!r}: {rank} after {last_rank[qid]}")
        last_rank[qid] = rank
        if docid in run.setdefault(qid, {}):
            raise InputError(path, n, f"doc {docid!r} appears twice for topic {qid!r}")
        run[qid][docid] = score
    return run


def rank_hits(hits: Mapping[str, float] | Iterable[tuple[str, float]], k: int | None = None) -> list[tuple[str, float]]:
    """Sort hits by ``(-score, docid)`` on the scores as written (6 decimals), keeping the top ``k``."""
    items = hits.items() if isinstance(hits, Mapping) else hits
    ranked = sorted(((d, round(float(s), SCORE_DECIMALS)) for d, s in items), key=lambda x: (-x[1], x[0]))
    return ranked[:k] if k is not None else ranked


def write_run(path: str | Path, run: Mapping[str, Mapping[str, float] | Iterable[tuple[str, float]]],
              tag: str = "tevatron_ext", k: int | None = None) -> int:
    """Write a TREC run atomically; returns the number of lines."""
    if any(c.isspace() for c in tag) or not tag:
        raise ValueError(f"run tag must be one non-empty word, got {tag!r}")
    n = 0
    with atomic_open(path) as fh:
        for qid, hits in run.items():
            for rank, (docid, score) in enumerate(rank_hits(hits, k), start=1):
                if not math.isfinite(score):
                    raise ValueError(f"non-finite score for topic {qid}, doc {docid}")
                fh.write(f"{qid} Q0 {docid} {rank} {score:.{SCORE_DECIMALS}f} {tag}\n")
                n += 1
    return n
