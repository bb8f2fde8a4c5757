"""Turn generations into Tevatron training data: filters (each counted), round-trip consistency,
hard negatives from BM25 (or a dense index) sampled from a rank window, seeded.

Filters, in order: failed generation, too short/long, wrong script, echo of the prompt (one of its
few-shot example questions, or a chat prompt's instructions: small models repeat both), duplicate, near-copy of the passage (character 5-gram containment above a threshold), round trip (the source passage must be in
the top-k of BM25 or a dense model for the query, as Promptagator).
"""
from __future__ import annotations

import random
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..collections import get_collection
from ..common.atomic import atomic_write_text, read_manifest, write_manifest
from ..common.errors import ConfigError, InputError
from ..common.formats import iter_corpus, iter_jsonl
from ..train.data import write_train_examples
from .filters import containment, normalise_query, script_share

FILTERS = ("failed", "length", "script", "echo", "duplicate", "near_copy", "round_trip")


@dataclass
class MineConfig:
    collection: str
    generations: list[str]
    out: str
    bm25_index: str | None = None
    dense_index: str | None = None
    round_trip: str = "auto"  # auto: bm25 when the query is in the passage language, else dense; none to skip
    round_trip_k: int = 10
    negatives_from: str = "auto"  # bm25 | dense | auto (as round_trip)
    neg_window: tuple[int, int] = (3, 30)  # 1-based ranks [start, end) to sample negatives from
    n_negatives: int = 8
    min_chars: int = 8
    max_chars: int = 200
    min_script_share: float = 0.6
    max_containment: float = 0.8
    duplicate_text_threshold: float = 0.9  # negatives this similar to the positive are skipped
    report_examples: int = 8
    seed: int = 13
    report: str | None = None

    def validate(self) -> None:
        for name, value in (("round_trip", self.round_trip), ("negatives_from", self.negatives_from)):
            if value not in ("auto", "bm25", "dense", "none"):
                raise ConfigError(f"{name} must be auto, bm25, dense or none, got {value!r}")
        if self.negatives_from == "none":
            raise ConfigError("negatives_from cannot be none: training needs hard negatives")
        if self.neg_window[0] < 1 or self.neg_window[1] <= self.neg_window[0]:
            raise ConfigError(f"bad negative window {self.neg_window}")


@dataclass
class Candidate:
    key: str
    docid: str
    query: str
    positive_text: str
    method: str
    query_language: str
    prompt: str | None = None  # the prompt id (llm), None for ict/crop
    model: str | None = None
    rejected: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def load_generations(paths: list[str]) -> list[dict[str, Any]]:
    """Latest record per (file, docid, slot, method); records are validated."""
    from ..generate.records import validate_record

    latest: dict[tuple, dict[str, Any]] = {}
    for p in paths:
        wanted = _items_of_last_run(p)
        for n, rec in iter_jsonl(p):
            validate_record(p, n, rec)
            if wanted is not None and (rec["docid"], rec["slot"]) not in wanted:
                continue  # left in the cache by an earlier run with another sample: not this run's data
            latest[(p, rec["docid"], rec.get("slot", 0), rec.get("method", "llm"))] = rec
    return list(latest.values())


def _items_of_last_run(path: str) -> set[tuple[str, int]] | None:
    """The (docid, slot) items of the generate run that finished the file (from its manifest), so that a
    cache grown by earlier runs with other samples gives the same training data as a fresh run."""
    from ..common.atomic import read_manifest
    from ..generate.core import sample_docs

    m = read_manifest(path)
    cfg = (m or {}).get("config") or {}
    if not m or "collection" not in cfg:
        return None
    docs = sample_docs(list(iter_corpus(get_collection(cfg["collection"]).corpus_path())), cfg.get("sample"), cfg.get("seed", 0))
    return {(d.docid, slot) for d in docs for slot in range(cfg.get("per_passage") or 1)}


def _echo_sources(prompt_id: str | None, qlang: str, plang: str, cache: dict) -> list[str]:
    """The few-shot questions (or chat instructions) of a shipped prompt, filled for the language pair
    (none for custom prompts)."""
    key = (prompt_id, qlang, plang)
    if key not in cache:
        from ..generate.templates import load_prompt_file, prompts_dir

        path = prompts_dir() / prompt_id if prompt_id else None
        prompt = load_prompt_file(path, qlang, plang) if path and path.is_file() else None
        cache[key] = prompt.example_questions + prompt.instructions if prompt else []
    return cache[key]


def _which(choice: str, qlang: str, plang: str, cfg: MineConfig) -> str:
    if choice != "auto":
        return choice
    if qlang == plang and cfg.bm25_index:
        return "bm25"
    if cfg.dense_index:
        return "dense"
    return "bm25" if cfg.bm25_index else "none"


def _search(kind: str, cfg: MineConfig, queries: dict[str, str], hits: int) -> dict[str, list[tuple[str, float]]]:
    if not queries:
        return {}
    if kind == "bm25":
        if not cfg.bm25_index:
            raise ConfigError("BM25 round trip/negatives need --bm25-index")
        from ..bm25.lucene import search_queries

        return search_queries(cfg.bm25_index, queries, hits=hits)
    if not cfg.dense_index:
        raise ConfigError("dense round trip/negatives need --dense-index")
    from ..dense.search import search_queries as dense_search

    return dense_search(cfg.dense_index, queries, hits=hits)


def mine(cfg: MineConfig) -> dict[str, Any]:
    cfg.validate()
    coll = get_collection(cfg.collection)
    docs = {d.docid: d for d in iter_corpus(coll.corpus_path())}
    plang = coll.language
    records = load_generations(cfg.generations)
    cands: list[Candidate] = []
    counts: Counter[str] = Counter()
    seen: set[str] = set()
    echo_cache: dict = {}
    unknown = 0
    for r in records:
        if r["docid"] not in docs:
            unknown += 1
            continue
        doc = docs[r["docid"]]
        c = Candidate(key=f"{r.get('method', 'llm')}:{r['docid']}#{r.get('slot', 0)}", docid=r["docid"],
                      query=(r.get("query") or "").strip(), positive_text=r.get("positive_text") or doc.text,
                      method=r.get("method", "llm"), query_language=r.get("query_language") or plang,
                      prompt=r.get("prompt_id"), model=r.get("model"))
        cands.append(c)
        if r["status"] != "ok" or not c.query:
            c.rejected = "failed"
        elif not cfg.min_chars <= len(c.query) <= cfg.max_chars:
            c.rejected = "length"
        elif (share := script_share(c.query, c.query_language)) is not None and share < cfg.min_script_share:
            c.rejected = "script"
        elif any(normalise_query(c.query) == normalise_query(q) or containment(c.query, q) > cfg.max_containment
                 for q in _echo_sources(r.get("prompt_id"), c.query_language, plang, echo_cache)):
            c.rejected = "echo"
        elif normalise_query(c.query) in seen:
            c.rejected = "duplicate"
        elif containment(c.query, c.positive_text) > cfg.max_containment:
            c.rejected = "near_copy"
        if c.rejected is None:
            seen.add(normalise_query(c.query))
    if unknown:
        raise InputError(cfg.generations[0], None, f"{unknown} generation records name docids that are not in {cfg.collection}")
    # round trip + negatives, grouped by the retriever each query language uses
    rng_base = cfg.seed
    hits_needed = max(cfg.round_trip_k, cfg.neg_window[1])
    kept: list[Candidate] = []
    for rt_kind in ("bm25", "dense", "none"):
        group = [c for c in cands if c.rejected is None and _which(cfg.round_trip, c.query_language, plang, cfg) == rt_kind]
        if not group:
            continue
        if rt_kind != "none":
            res = _search(rt_kind, cfg, {c.key: c.query for c in group}, hits_needed)
            for c in group:
                top = [d for d, _ in res.get(c.key, [])[: cfg.round_trip_k]]
                c.extra["round_trip_rank"] = top.index(c.docid) + 1 if c.docid in top else None
                if c.docid not in top:
                    c.rejected = "round_trip"
        kept.extend(c for c in group if c.rejected is None)
    # negatives
    rows = []
    for neg_kind in ("bm25", "dense"):
        group = [c for c in kept if _which(cfg.negatives_from, c.query_language, plang, cfg) == neg_kind]
        if not group:
            continue
        res = _search(neg_kind, cfg, {c.key: c.query for c in group}, cfg.neg_window[1])
        for c in group:
            rng = random.Random(f"{rng_base}-{c.key}")
            pos_doc = docs[c.docid]
            window = [d for d, _ in res.get(c.key, [])[cfg.neg_window[0] - 1: cfg.neg_window[1] - 1]]
            pool = [d for d in window if d != c.docid
                    and containment(docs[d].text, pos_doc.text) < cfg.duplicate_text_threshold]
            negs = rng.sample(pool, min(cfg.n_negatives, len(pool)))
            c.extra["negatives"] = len(negs)
            rows.append({"query_id": c.key, "query": c.query,
                         "positive_passages": [{"docid": c.docid, "title": pos_doc.title if c.method == "llm" else "",
                                                "text": c.positive_text}],
                         "negative_passages": [{"docid": d, "title": docs[d].title, "text": docs[d].text} for d in negs]})
    rows.sort(key=lambda r: r["query_id"])
    for c in cands:
        counts[c.rejected or "kept"] += 1
    by_direction = Counter((c.method, c.query_language, c.prompt, c.model, c.rejected or "kept") for c in cands)
    n = write_train_examples(cfg.out, rows)
    report = cfg.report or str(Path(cfg.out).with_suffix(".report.md"))
    atomic_write_text(report, sample_report(cands, docs, cfg))
    write_manifest(cfg.out, kind="training-data", seed=cfg.seed,
                   counts={"candidates": len(cands), "kept": n, **{f"removed_{f}": counts.get(f, 0) for f in FILTERS}},
                   inputs={f"generations{i}": Path(g) for i, g in enumerate(cfg.generations)},
                   config={**asdict(cfg), "passage_language": plang},
                   extra={"by_direction": [{"method": m, "query_language": q, "prompt": p, "model": md, "outcome": o, "n": k}
                                           for (m, q, p, md, o), k in sorted(by_direction.items(), key=_sort_key)],
                          "report": report})
    return read_manifest(cfg.out) or {}


def _sort_key(item: tuple[tuple, int]) -> tuple:
    return tuple("" if v is None else v for v in item[0])


def sample_report(cands: list[Candidate], docs: dict, cfg: MineConfig) -> str:
    """A handful of passages with their kept and rejected queries (Markdown)."""
    by_doc: dict[str, list[Candidate]] = {}
    for c in cands:
        by_doc.setdefault(c.docid, []).append(c)
    rng = random.Random(cfg.seed)
    chosen = sorted(rng.sample(sorted(by_doc), min(cfg.report_examples, len(by_doc))))
    counts = Counter(c.rejected or "kept" for c in cands)
    lines = ["<!-- generated by tevatron-ext mine; do not edit -->", f"# Synthetic queries for {cfg.collection}", "",
             "| outcome | queries |", "|---|---:|"]
    lines += [f"| {k} | {counts.get(k, 0)} |" for k in ("kept", *FILTERS)]
    for d in chosen:
        doc = docs[d]
        lines += ["", f"## {d}: {doc.title}", "", f"> {doc.text[:400]}{'…' if len(doc.text) > 400 else ''}", ""]
        for c in by_doc[d]:
            mark = "kept" if c.rejected is None else f"rejected ({c.rejected})"
            lines.append(f"- [{c.method}/{c.query_language}] {c.query or '∅'} — **{mark}**")
    return "\n".join(lines) + "\n"
