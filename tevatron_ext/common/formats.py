"""Readers and writers of the files that connect the stages, each with one validated schema.

* corpus JSONL: ``{"docid", "title", "text"}`` (MIRACL / Pyserini);
* topics TSV: ``qid<TAB>query`` (or JSONL ``{"qid", "query"}``);
* qrels: ``qid 0 docid rel`` (TREC);
* runs: ``qid Q0 docid rank score tag`` (TREC, 1-based ranks, ties broken by ``(-score, docid)``).

Every id is a string everywhere (``0001`` never becomes ``1``) without whitespace (run and qrels files are
whitespace-separated); writers refuse ids and texts that their readers would reject. Every reader raises
:class:`~tevatron_ext.common.errors.InputError` naming the file, the line and what was expected.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from .atomic import atomic_open
from .errors import InputError

MAX_LINE_BYTES = 16 * 1024 * 1024  # a single line longer than this is rejected, not swallowed
SCORE_DECIMALS = 6
_BOM = b"\xef\xbb\xbf"
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Doc:
    docid: str
    title: str
    text: str

    def as_dict(self) -> dict[str, str]:
        return {"docid": self.docid, "title": self.title, "text": self.text}


def read_utf8(path: str | Path, missing: str = "file not found") -> str:
    """A whole small file (config, contract, recipe) as text; a BOM is dropped, invalid UTF-8 names its line."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(path, None, missing) from None
    except OSError as exc:
        raise InputError(path, None, f"cannot read: {exc.strerror}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(path, raw[: exc.start].count(b"\n") + 1, f"invalid UTF-8 at byte {exc.start}") from None


def iter_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, line)`` decoded as UTF-8, without BOM or line ending; skips blank lines.

    Lines are split on line feeds only (not on U+2028, NEL, form feed...), so line numbers are what editors show.
    A BOM is accepted at the start of the file only; a line over ``MAX_LINE_BYTES`` is an error.
    """
    path = Path(path)
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        raise InputError(path, None, "file not found") from None
    except OSError as exc:
        raise InputError(path, None, f"cannot read: {exc.strerror}") from None
    limit = MAX_LINE_BYTES
    with fh:
        n = 0
        # readline with a limit: a gigantic line is rejected without being read into memory whole
        while raw := fh.readline(limit + 1):
            n += 1
            if len(raw) > limit:
                raise InputError(path, n, f"line longer than {limit} bytes")
            if raw.startswith(_BOM):
                if n > 1:
                    raise InputError(path, n, "byte-order mark inside the file (concatenated files?); "
                                              "only the first line may start with one")
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
        if _SURROGATE_ESCAPE.search(line) and _has_lone_surrogate(obj):
            raise InputError(path, n, "a \\uD800-\\uDFFF escape that is not part of a surrogate pair "
                                      "(not valid Unicode; the text cannot be written back as UTF-8)")
        yield n, obj


def _has_lone_surrogate(value: object) -> bool:
    if isinstance(value, str):
        return _SURROGATE.search(value) is not None
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False


def _bad_id(value: str) -> str | None:
    """Why ``value`` cannot be an id of a whitespace-separated TREC file, or None when it can."""
    if not value:
        return "is empty"
    if len(value.split()) != 1 or value != value.strip():
        return "contains whitespace (TREC run and qrels files are whitespace-separated)"
    if "\ufeff" in value:
        return "contains a byte-order mark (U+FEFF)"
    return None


def _check_id(kind: str, value: object) -> str:
    """Writers refuse ids that their own readers would reject or read back differently."""
    if not isinstance(value, str):
        raise ValueError(f"{kind} must be a string, got {type(value).__name__} {value!r}")
    if why := _bad_id(value):
        raise ValueError(f"{kind} {value!r} {why}")
    return value


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
        if why := _bad_id(docid):
            raise InputError(path, n, f"docid {docid!r} {why}")
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
            _check_id("docid", obj["docid"])
            if not isinstance(obj["text"], str) or not obj["text"].strip():
                raise ValueError(f"doc {obj['docid']!r}: text must be a non-empty string, got {obj['text']!r}")
            if not isinstance(obj["title"], str):
                raise ValueError(f"doc {obj['docid']!r}: title must be a string, got {obj['title']!r}")
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
        if why := _bad_id(qid):
            raise InputError(path, n, f"topic id {qid!r} {why}")
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
            _check_id("topic id", qid)
            if "\t" in query or "\n" in query:
                query = " ".join(query.split())
            if not query.strip():
                raise ValueError(f"topic {qid!r}: empty query")
            fh.write(f"{qid}\t{query}\n")
    return len(topics)


Qrels = dict[str, dict[str, int]]


def _plain_number(token: str) -> str:
    """``token`` if it is an ASCII number as trec_eval reads it; Python alone would also take ``1_000`` and ``١``."""
    if not token.isascii() or "_" in token:
        raise ValueError(token)
    return token


def read_qrels(path: str | Path) -> Qrels:
    """TREC qrels ``qid iter docid rel`` as ``{qid: {docid: rel}}`` (rel an int)."""
    qrels: Qrels = {}
    for n, line in iter_lines(path):
        parts = line.split()
        if len(parts) != 4:
            raise InputError(path, n, f"expected 4 columns 'qid 0 docid rel', got {len(parts)}")
        qid, _, docid, rel = parts
        try:
            grade = int(_plain_number(rel))
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
            _check_id("topic id", qid)
            for docid, rel in judged.items():
                _check_id("docid", docid)
                fh.write(f"{qid} 0 {docid} {int(rel)}\n")
                n += 1
    return n


Run = dict[str, dict[str, float]]


def read_run(path: str | Path) -> Run:
    """A 6-column TREC run as ``{qid: {docid: score}}``; checks finite scores, 1-based increasing ranks and
    scores that do not increase with rank (evaluation orders by score, so the two orders must agree)."""
    run: Run = {}
    last_rank: dict[str, int] = {}
    last_score: dict[str, float] = {}
    for n, line in iter_lines(path):
        parts = line.split()
        if len(parts) != 6:
            raise InputError(path, n, f"expected 6 columns 'qid Q0 docid rank score tag', got {len(parts)}")
        qid, _, docid, rank_s, score_s, _tag = parts
        try:
            rank = int(_plain_number(rank_s))
        except ValueError:
            raise InputError(path, n, f"rank must be an integer, got {rank_s!r}") from None
        try:
            score = float(_plain_number(score_s))
        except ValueError:
            raise InputError(path, n, f"score must be a number, got {score_s!r}") from None
        if not math.isfinite(score):
            raise InputError(path, n, f"score must be finite, got {score_s!r}")
        if rank < 1:
            raise InputError(path, n, f"ranks are 1-based, got {rank}")
        if qid in last_rank and rank <= last_rank[qid]:
            raise InputError(path, n, f"ranks out of order for topic {qid!r}: {rank} after {last_rank[qid]}")
        if qid in last_score and score > last_score[qid]:
            # evaluation (trec_eval) orders by score and ignores ranks: a run whose scores rise with rank
            # would be scored in another order than the one it states
            raise InputError(path, n, f"score {score_s} at rank {rank} of topic {qid!r} is higher than the score "
                                      f"{last_score[qid]} at rank {last_rank[qid]}; scores must not increase with rank")
        last_rank[qid], last_score[qid] = rank, score
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
            _check_id("topic id", qid)
            for rank, (docid, score) in enumerate(rank_hits(hits, k), start=1):
                _check_id("docid", docid)
                if not math.isfinite(score):
                    raise ValueError(f"non-finite score for topic {qid}, doc {docid}")
                fh.write(f"{qid} Q0 {docid} {rank} {score:.{SCORE_DECIMALS}f} {tag}\n")
                n += 1
    return n
