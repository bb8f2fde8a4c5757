"""Analyse many texts in worker processes: chunked, in input order, identical to one process.

Workers are started with the ``spawn`` context (never ``fork``: the parent may hold a JVM or torch
threads), each builds the analyzer from its config once (khmer-nltk loads its model: ~1.3 s), and
chunks of texts are analysed with a bounded number in flight, so memory stays flat on any corpus.
Results come back in submission order. The analyzers are deterministic pure functions of the
text, so the tokens are identical to a single-process run; ``tests/test_analysis.py`` checks it.

Small inputs are analysed in-process: below ``min_parallel_chars`` (the analyzer's own estimate of
where workers start to pay, or the caller's), starting workers costs more than it saves.
"""
from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from itertools import chain
from typing import Any

from ..common.errors import TevatronExtError
from .base import Analyzer, get_analyzer

CHUNK_TEXTS = 64  # texts a task: large enough to hide IPC, small enough to balance two workers
IN_FLIGHT_PER_WORKER = 4

_worker: Analyzer | None = None


def _init_worker(language: str, options: dict[str, Any]) -> None:
    global _worker
    _worker = get_analyzer(language, **options)
    if _worker is not None:
        _worker.analyze("warm up")  # load models/tables before the first chunk


def _analyse_chunk(texts: list[str]) -> list[list[str]]:
    assert _worker is not None, "worker not initialised"
    return [_worker.analyze(t) for t in texts]


@dataclass
class ParallelStats:
    """What :func:`analyse_texts` did (filled in as it runs; final once the iterator is exhausted)."""

    workers: int = 1  # processes that analysed: 1 = in-process
    texts: int = 0
    tokens: int = 0


def analyse_texts(language: str, options: dict[str, Any], texts: Iterable[str], workers: int = 1, *,
                  chunk_size: int = CHUNK_TEXTS, min_parallel_chars: int | None = None,
                  stats: ParallelStats | None = None) -> Iterator[list[str]]:
    """The project analyzer's tokens for each text of ``texts``, in order, using up to ``workers`` processes.

    ``language``/``options`` name the analyzer as :func:`get_analyzer` does (they are what an index
    manifest records). It is built here first, so a bad option or a missing package fails before any
    worker starts. With ``workers > 1`` the input is buffered up to ``min_parallel_chars`` characters
    (default: the analyzer's ``min_parallel_chars``); if it ends before that, it is analysed in-process.
    """
    analyzer = get_analyzer(language, **options)
    if analyzer is None:
        raise TevatronExtError(f"no project analyzer for {language!r} (there are for am, km)")
    stats = stats if stats is not None else ParallelStats()
    if chunk_size < 1:
        raise TevatronExtError(f"chunk_size must be >= 1, got {chunk_size}")
    it = iter(texts)
    head: list[str] = []
    if workers > 1:
        threshold = getattr(analyzer, "min_parallel_chars", 0) if min_parallel_chars is None else min_parallel_chars
        chars = 0
        for t in it:
            head.append(t)
            chars += len(t)
            if chars >= threshold and len(head) > chunk_size:
                break
        else:  # the whole input fits under the threshold
            workers = 1
    if workers <= 1:
        stats.workers = 1
        for t in chain(head, it):
            tokens = analyzer.analyze(t)
            stats.texts += 1
            stats.tokens += len(tokens)
            yield tokens
        return
    stats.workers = workers
    yield from _pooled(language, options, chain(head, it), workers, chunk_size, stats)


def _chunks(texts: Iterator[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for t in texts:
        chunk.append(t)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _pooled(language: str, options: dict[str, Any], texts: Iterator[str], workers: int, chunk_size: int,
            stats: ParallelStats) -> Iterator[list[str]]:
    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                               initargs=(language, options))
    pending: deque[Future] = deque()
    chunks = _chunks(texts, chunk_size)
    limit = workers * IN_FLIGHT_PER_WORKER
    try:
        for chunk in chunks:
            pending.append(pool.submit(_analyse_chunk, chunk))
            while len(pending) >= limit:
                yield from _collect(pending.popleft(), stats)
        while pending:
            yield from _collect(pending.popleft(), stats)
    except BrokenProcessPool as e:
        raise TevatronExtError(f"an analysis worker process died ({e}); rerun with --threads 1 to analyse in-process") from e
    finally:
        for f in pending:
            f.cancel()
        pool.shutdown(wait=True, cancel_futures=True)


def _collect(future: Future, stats: ParallelStats) -> Iterator[list[str]]:
    for tokens in future.result():
        stats.texts += 1
        stats.tokens += len(tokens)
        yield tokens
