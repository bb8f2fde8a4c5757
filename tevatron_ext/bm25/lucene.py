"""Language-aware BM25 through Anserini/Pyserini.

Indexing calls Anserini's ``IndexCollection`` from pyserini's own jar with Java 21 (one subprocess:
no JVM in this process). Searching uses Pyserini's ``LuceneSearcher.batch_search`` in-process.
For Amharic and Khmer, Lucene has no analyzer, so passages are analysed here and indexed
``-pretokenized``; queries get the identical analysis and a whitespace analyzer at search time.
The analysis is recorded in the index manifest, and search reads it from there.

The Python analysis of passages runs in ``threads`` worker processes (``analysis.parallel``: spawn,
chunked, order-preserving), so the JSONL handed to Anserini is byte-identical to a 1-worker run; its
sha256 is recorded in the manifest (``anserini_input``) to show it.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..analysis.base import LUCENE_LANGUAGES, WHITESPACE_LANGUAGES, get_analyzer
from ..analysis.parallel import ParallelStats, analyse_texts
from ..collections import default_split, get_collection
from ..common.atomic import atomic_dir, read_manifest, write_manifest
from ..common.errors import ConfigError, TevatronExtError
from ..common.formats import iter_corpus, write_run
from ..common.jvm import anserini_jar, java_env, pyserini_ready

ANALYZERS = ("auto", "own", "lucene")


@dataclass
class BM25IndexConfig:
    collection: str
    index: Path
    language: str | None = None  # passage language; default: the collection's
    analyzer: str = "auto"  # auto: own analysis for am/km, Lucene's for the rest; lucene: Lucene's only
    analyzer_options: dict[str, Any] = field(default_factory=dict)  # e.g. {"stem": False}
    threads: int = 2  # Anserini indexing threads, and worker processes for the project's analysis
    # Analyse in-process below this many corpus characters (None: the analyzer's own estimate; 0: always use workers).
    parallel_min_chars: int | None = None

    def __post_init__(self) -> None:
        if self.analyzer not in ANALYZERS:
            raise ConfigError(f"analyzer must be one of {ANALYZERS}, got {self.analyzer!r}")
        if self.threads < 1:
            raise ConfigError(f"--threads must be >= 1, got {self.threads}")
        self.index = Path(self.index)


def resolve_analysis(language: str, analyzer: str, options: dict[str, Any]) -> dict[str, Any]:
    """The analysis an index uses, as recorded in its manifest."""
    own = get_analyzer(language, **options) if analyzer in ("auto", "own") else None
    if analyzer == "own" and own is None:
        raise ConfigError(f"no project analyzer for {language!r} (there are for am, km)")
    if own is not None:
        out = {"kind": "own", "language": language, "analyzer": own.name, "options": own.config()}
        if language == "km" and out["options"].get("segment_words", True):
            from ..analysis.khmer import segmenter_version

            out["segmenter_version"] = segmenter_version(out["options"]["segmenter"])
        return out
    if analyzer == "lucene" and options:
        raise ConfigError("analyzer options apply only to the project's own analysers (am, km)")
    if language in LUCENE_LANGUAGES or language in WHITESPACE_LANGUAGES:
        return {"kind": "lucene", "language": language}
    return {"kind": "lucene", "language": "en"}  # Lucene's default (English, Porter): what users get otherwise


def _own_options(analysis: dict[str, Any]) -> dict[str, Any]:
    """The analyzer options an index recorded (an index from before ``segmenter`` existed used khmer-nltk)."""
    return {k: v for k, v in analysis["options"].items() if k != "name"}


def _own(analysis: dict[str, Any]):
    return get_analyzer(analysis["language"], **_own_options(analysis))


def build_index(cfg: BM25IndexConfig) -> dict[str, Any]:
    """Build a Lucene index of a collection's corpus; returns its manifest."""
    coll = get_collection(cfg.collection)
    language = cfg.language or coll.language
    analysis = resolve_analysis(language, cfg.analyzer, cfg.analyzer_options)
    corpus = coll.corpus_path()
    own = analysis["kind"] == "own"
    stats = ParallelStats()
    with tempfile.TemporaryDirectory(prefix="tevatron-ext-bm25-") as tmp:
        docs_dir = Path(tmp) / "docs"
        docs_dir.mkdir()
        n = 0
        digest = hashlib.sha256()
        docids: deque[str] = deque()

        def texts():
            for d in iter_corpus(corpus):
                docids.append(d.docid)
                yield f"{d.title}\n{d.text}" if d.title else d.text

        if own:  # docids queue up as texts are read ahead; results come back in the same order
            contents_iter = (" ".join(toks) for toks in analyse_texts(
                analysis["language"], _own_options(analysis), texts(), workers=cfg.threads,
                min_parallel_chars=cfg.parallel_min_chars, stats=stats))
        else:
            contents_iter = texts()
        with open(docs_dir / "docs.jsonl", "w", encoding="utf-8") as fh:
            for contents in contents_iter:
                line = json.dumps({"id": docids.popleft(), "contents": contents}, ensure_ascii=False) + "\n"
                fh.write(line)
                digest.update(line.encode("utf-8"))
                n += 1
        with atomic_dir(cfg.index) as out:
            cmd = ["java", "-cp", str(anserini_jar()), "io.anserini.index.IndexCollection",
                   "-collection", "JsonCollection", "-input", str(docs_dir), "-index", str(out),
                   "-generator", "DefaultLuceneDocumentGenerator", "-threads", str(cfg.threads),
                   "-storePositions", "-storeDocvectors", "-storeRaw"]
            cmd += ["-pretokenized"] if own else (["-language", analysis["language"]] if analysis["language"] != "en" else [])
            proc = subprocess.run(cmd, env=java_env(), capture_output=True, text=True)
            if proc.returncode != 0:
                raise TevatronExtError(f"Anserini indexing failed ({proc.returncode}):\n{proc.stderr[-2000:] or proc.stdout[-2000:]}")
            indexed = _indexed_count(proc.stdout + proc.stderr)
            if indexed is not None and indexed != n:
                raise TevatronExtError(f"Anserini indexed {indexed} documents, the corpus has {n}")
            counts = {"docs": n, **({"tokens": stats.tokens} if own else {})}
            write_manifest(cfg.index, kind="bm25-index", counts=counts,
                           inputs={"corpus": corpus}, manifest=out / "manifest.json",
                           config={"collection": cfg.collection, "analysis": analysis, "threads": cfg.threads,
                                   "analysis_workers": stats.workers if own else 0},
                           extra={"anserini_input": {"sha256": digest.hexdigest(), "docs": n}})
    return read_manifest(cfg.index) or {}


def _indexed_count(log: str) -> int | None:
    import re

    m = re.search(r"Total (\d+) documents indexed", log) or re.search(r"indexed:\s+([\d,]+)", log)
    return int(m.group(1).replace(",", "")) if m else None


@dataclass
class BM25SearchConfig:
    index: Path
    collection: str
    run: Path
    split: str | None = None
    hits: int = 100
    k1: float = 0.9
    b: float = 0.4
    threads: int = 2
    tag: str = "bm25"

    def __post_init__(self) -> None:
        self.index, self.run = Path(self.index), Path(self.run)


def analyse_queries(analysis: dict[str, Any], topics: dict[str, str]) -> dict[str, str]:
    if analysis["kind"] != "own":
        return dict(topics)
    own = _own(analysis)
    return {q: " ".join(own.analyze(t)) for q, t in topics.items()}


def index_analysis(index: str | Path) -> dict[str, Any]:
    manifest = read_manifest(index)
    if manifest is None:
        raise TevatronExtError(f"{index}: not a complete tevatron-ext BM25 index (no manifest); build it with `tevatron-ext bm25 index`")
    return manifest["config"]["analysis"]


def search_queries(index: str | Path, queries: dict[str, str], hits: int = 100, k1: float = 0.9, b: float = 0.4,
                   threads: int = 2) -> dict[str, list[tuple[str, float]]]:
    """BM25 hits for raw queries, analysed as the index's passages were; every qid gets a (maybe empty) list."""
    analysis = index_analysis(index)
    analysed = analyse_queries(analysis, queries)
    pyserini_ready()
    from pyserini.search.lucene import LuceneSearcher

    searcher = LuceneSearcher(str(index))
    try:
        if analysis["kind"] == "own":
            from pyserini.analysis import JWhiteSpaceAnalyzer

            searcher.set_analyzer(JWhiteSpaceAnalyzer())
        elif analysis["language"] != "en":
            searcher.set_language(analysis["language"])
        searcher.set_bm25(k1, b)
        nonempty = {q: t for q, t in analysed.items() if t.strip()}
        results = searcher.batch_search(list(nonempty.values()), list(nonempty), k=hits, threads=threads) if nonempty else {}
        return {q: [(h.docid, h.score) for h in results.get(q, [])] for q in queries}
    finally:
        searcher.close()


def search(cfg: BM25SearchConfig) -> dict[str, Any]:
    """Search a collection's topics against a BM25 index and write a TREC run; returns the run manifest."""
    analysis = index_analysis(cfg.index)
    coll = get_collection(cfg.collection)
    split = default_split(coll, cfg.split)
    topics = coll.topics(split)
    run = search_queries(cfg.index, topics, hits=cfg.hits, k1=cfg.k1, b=cfg.b, threads=cfg.threads)
    empty = sum(1 for q in topics if not analyse_queries(analysis, {q: topics[q]})[q].strip())
    n = write_run(cfg.run, run, tag=cfg.tag, k=cfg.hits)
    write_manifest(cfg.run, kind="run", counts={"topics": len(topics), "lines": n, "empty_queries": empty},
                   inputs={"topics": coll.topics_path(split), "index_manifest": cfg.index / "manifest.json"},
                   config={**asdict(cfg), "index": str(cfg.index), "run": str(cfg.run), "split": split, "analysis": analysis})
    return read_manifest(cfg.run) or {}
