"""The generation cache: an append-only JSONL file, one record per (passage, query slot).

Record fields: ``docid, slot, query, status ("ok"|"failed"|"unparsed"), error, method ("llm"|"ict"|"crop"),
backend, model, prompt_id, prompt_hash, params, seed, passage_language, query_language, raw`` and,
for ict/crop, ``positive_text``; LLM records add ``stop`` (hf: ``newline``/``eos``/``length``, the last a
run-on; openai: the server's finish_reason) and may add ``summary`` (summarize prompts),
``passage_truncated`` (hf) and ``attempts`` (openai). ``failed`` is an error on the way (network,
server, timeout, a malformed response): a rerun retries it. ``unparsed`` is the model's own answer with no
query in it (a run-on, no question line): final like ``ok``, so that a rerun does not resample it and
change the data (and a comparison of prompts counts every prompt's first answers). The latest record of a
``(docid, slot)`` wins. Records are appended a batch at a time, each batch flushed and fsynced, so a
killed run loses at most the batch in flight plus a torn last line, which resuming truncates.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from ..common.errors import InputError, OutputError

log = logging.getLogger(__name__)

STATUSES = ("ok", "failed", "unparsed")
FINAL_STATUSES = ("ok", "unparsed")  # a rerun keeps these; "failed" items are generated again
METHODS = ("llm", "ict", "crop")
# the fields that decide whether a stored record answers the current run (besides docid and slot)
FINGERPRINT_FIELDS = ("method", "backend", "model", "prompt_hash", "params", "seed", "passage_language", "query_language")
_REQUIRED: dict[str, tuple[type, ...]] = {
    "docid": (str,), "slot": (int,), "query": (str,), "status": (str,), "method": (str,), "params": (dict,),
}
_OPTIONAL_STR = ("error", "backend", "model", "prompt_id", "prompt_hash", "passage_language", "query_language",
                 "raw", "positive_text", "summary", "stop")


def fingerprint(record: Mapping[str, Any]) -> str:
    """A canonical string of what produced a record; equal fingerprints mean "same prompt, model, params"."""
    return json.dumps({k: record.get(k) for k in FINGERPRINT_FIELDS}, sort_keys=True, ensure_ascii=False)


def validate_record(path: str | Path, n: int | None, obj: Any) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise InputError(path, n, f"expected a JSON object, got {type(obj).__name__}")
    for key, types in _REQUIRED.items():
        if key not in obj:
            raise InputError(path, n, f"missing field {key!r} (have {sorted(obj)})")
        if not isinstance(obj[key], types) or isinstance(obj[key], bool):
            raise InputError(path, n, f"field {key!r} must be {types[0].__name__}, got {type(obj[key]).__name__}")
    for key in _OPTIONAL_STR:
        if obj.get(key) is not None and not isinstance(obj[key], str):
            raise InputError(path, n, f"field {key!r} must be a string or null, got {type(obj[key]).__name__}")
    if obj["slot"] < 0:
        raise InputError(path, n, f"field 'slot' must be >= 0, got {obj['slot']}")
    if obj["status"] not in STATUSES:
        raise InputError(path, n, f"field 'status' must be one of {STATUSES}, got {obj['status']!r}")
    if obj["method"] not in METHODS:
        raise InputError(path, n, f"field 'method' must be one of {METHODS}, got {obj['method']!r}")
    if obj["status"] == "ok" and not obj["query"].strip():
        raise InputError(path, n, "a record with status 'ok' has an empty query")
    return obj


def _parse_line(path: str | Path, n: int, raw: bytes) -> dict[str, Any]:
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(path, n, f"invalid UTF-8 at byte {exc.start}") from None
    try:
        obj = json.loads(line)
    except ValueError as exc:
        raise InputError(path, n, f"invalid JSON ({exc.msg} at column {exc.colno}); expected one record per line") from None
    return validate_record(path, n, obj)


def _iter_raw_lines(data: bytes) -> Iterator[tuple[int, int, bytes, bool]]:
    """``(line_number, byte_offset, line_without_newline, ended_by_newline)`` of non-blank lines."""
    pos = 0
    n = 0
    while pos < len(data):
        n += 1
        end = data.find(b"\n", pos)
        ended = end >= 0
        stop = end if ended else len(data)
        raw = data[pos:stop].rstrip(b"\r")
        if n == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        if raw.strip():
            yield n, pos, raw, ended
        pos = stop + 1 if ended else len(data)


def read_generations(path: str | Path) -> list[dict[str, Any]]:
    """Every record of a generation file, in file order; raises :class:`InputError` on a malformed line."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(path, None, "file not found") from None
    except OSError as exc:
        raise InputError(path, None, f"cannot read: {exc.strerror}") from None
    return [_parse_line(path, n, raw) for n, _, raw, _ in _iter_raw_lines(data)]


def latest(records: Iterable[Mapping[str, Any]]) -> dict[tuple[str, int], dict[str, Any]]:
    """The latest record of each ``(docid, slot)`` (later lines win)."""
    out: dict[tuple[str, int], dict[str, Any]] = {}
    for r in records:
        out[(r["docid"], r["slot"])] = dict(r)
    return out


class GenerationFile:
    """The output file opened for appending, locked against a second writer, with a torn tail repaired."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.records: list[dict[str, Any]] = []
        self.repaired: str | None = None  # what was done to a torn last line, if anything
        self._fh: IO[bytes] | None = None

    def __enter__(self) -> GenerationFile:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fh = open(self.path, "a+b")
        except OSError as exc:
            raise OutputError(f"cannot write {self.path}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            raise OutputError(f"{self.path} is being written by another process (locked)") from None
        self._fh = fh
        try:
            self._load()
        except BaseException:
            self.close()
            raise
        return self

    def _load(self) -> None:
        assert self._fh is not None
        self._fh.seek(0)
        data = self._fh.read()
        lines = list(_iter_raw_lines(data))
        for i, (n, offset, raw, ended) in enumerate(lines):
            last = i == len(lines) - 1
            if last and (not ended or not _parses(raw)):
                try:
                    rec = _parse_line(self.path, n, raw)
                except InputError as exc:
                    self._truncate(offset)
                    self.repaired = f"truncated a torn last line {n} ({exc.message})"
                    log.warning("%s: %s", self.path, self.repaired)
                    break
                self._fh.write(b"\n")  # a complete record that lost only its newline
                self._sync()
                self.repaired = f"added the missing newline after the last line {n}"
                log.warning("%s: %s", self.path, self.repaired)
                self.records.append(rec)
                break
            self.records.append(_parse_line(self.path, n, raw))
        else:
            if data and not data.endswith(b"\n"):  # a trailing blank fragment (spaces) without a newline
                self._fh.write(b"\n")
                self._sync()

    def _truncate(self, offset: int) -> None:
        assert self._fh is not None
        self._fh.truncate(offset)
        self._fh.seek(0, os.SEEK_END)
        self._sync()

    def _sync(self) -> None:
        assert self._fh is not None
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def append(self, records: Iterable[Mapping[str, Any]]) -> int:
        """Append a batch as one write, then flush and fsync."""
        assert self._fh is not None
        blob = b"".join(json.dumps(r, ensure_ascii=False).encode("utf-8") + b"\n" for r in records)
        if not blob:
            return 0
        try:
            self._fh.write(blob)
            self._sync()
        except OSError as exc:
            raise OutputError(f"cannot write {self.path}: {exc.strerror or exc}") from None
        return blob.count(b"\n")

    def close(self) -> None:
        if self._fh is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None

    def __exit__(self, *exc: object) -> None:
        self.close()


def _parses(raw: bytes) -> bool:
    try:
        validate_record("", None, json.loads(raw.decode("utf-8")))
    except (ValueError, InputError):
        return False
    return True
