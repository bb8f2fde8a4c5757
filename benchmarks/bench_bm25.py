"""BM25: the price of correct Amharic/Khmer analysis, against Lucene's default analyzer on the same text.

For each language the same corpus is indexed twice through ``bm25.lucene.build_index``: with the
project's analysis (am: homophone folding + light stemming; km: khmer-nltk word segmentation;
pre-tokenised into Anserini) and with ``analyzer="lucene"`` (Lucene's default English analyzer,
which is what Anserini silently uses for am/km). Indexing docs/s covers everything ``tevatron-ext
bm25 index`` does (analysis, JSONL, the Anserini subprocess with its JVM start); the analysis
alone is timed too. Queries/s: ``search_queries`` (analysis + Pyserini ``batch_search``, k=100,
2 threads) after a warm-up, repeats interleaved. nDCG@10 of both is reported: what the price buys.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import common

SEED = 13


def _collection(root: Path, lang: str, n_docs: int, query_copies: int) -> tuple[Path, dict[str, str], dict, str, list[dict]]:
    docs, source = common.synthetic_docs(lang, n_docs, SEED)
    coll = common.demo_collection(lang)
    if coll is None:
        from tevatron_ext.collections import local_collection

        coll = local_collection(common.FIXTURES / f"tiny-{lang}")
    split = "test" if "test" in coll.splits else coll.splits[0]
    topics, qrels = coll.topics(split), coll.qrels(split)
    queries = {f"{q}#{i}" if i else q: t for i in range(query_copies) for q, t in topics.items()}
    root.mkdir(parents=True)
    (root / "collection.json").write_text(json.dumps({"language": lang, "query_language": lang}), encoding="utf-8")
    with open(root / "corpus.jsonl", "w", encoding="utf-8") as fh:
        for d in docs:
            fh.write(json.dumps({"docid": d["docid"], "title": d.get("title", ""), "text": d["text"]}, ensure_ascii=False) + "\n")
    (root / "topics.tsv").write_text("".join(f"{q}\t{t}\n" for q, t in topics.items()), encoding="utf-8")
    return root, queries, qrels, source, docs


def _analyse_all(analyzer: Any, docs: list[dict]) -> int:
    return sum(len(analyzer.analyze(f"{d.get('title', '')}\n{d['text']}")) for d in docs)


def _segment_all(segment: Any, texts: list[str]) -> int:
    return sum(len(segment(x)) for x in texts)


def run(quick: bool) -> list[dict[str, Any]]:
    from tevatron_ext.analysis.base import get_analyzer
    from tevatron_ext.analysis.khmer import segment
    from tevatron_ext.bm25.lucene import BM25IndexConfig, build_index, search_queries
    from tevatron_ext.evaluation import evaluate

    n_docs = 160 if quick else 4200
    query_copies = 1 if quick else 5
    repeats = 2 if quick else 3
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-bm25-") as tmp:
        for lang in ("am", "km"):
            root, queries, qrels, source, docs = _collection(Path(tmp) / f"coll-{lang}", lang, n_docs, query_copies)
            analyzer = get_analyzer(lang)
            analyzer.analyze(docs[0]["text"])  # load the model / tables once (khmer-nltk: a few seconds)
            t_an, tokens = common.timed(_analyse_all, analyzer, docs)
            idx = {}
            index_s = {}
            for kind in ("auto", "lucene"):
                idx[kind] = Path(tmp) / f"index-{lang}-{kind}"
                cfg = BM25IndexConfig(collection=str(root), index=idx[kind], analyzer=kind, threads=2)
                index_s[kind], _ = common.timed(lambda cfg=cfg: build_index(cfg))
            # warm-up: starts the JVM in this process (once) and opens each index
            for path in idx.values():
                search_queries(path, dict(list(queries.items())[:5]), hits=100)
            times, outs = common.interleave(
                {k: (lambda path=path, qs=queries: search_queries(path, qs, hits=100, threads=2)) for k, path in idx.items()},
                repeats)
            ndcg = {}
            for kind, run_ in outs.items():
                judged = {q: {d: s for d, s in hits} for q, hits in run_.items() if "#" not in q}
                ndcg[kind] = evaluate(qrels, judged, ["nDCG@10"])[0]["nDCG@10"]
            n = len(docs)
            qps = {k: len(queries) / common.median(v) for k, v in times.items()}
            dps = {k: n / s for k, s in index_s.items()}
            what = "khmer-nltk segmentation" if lang == "km" else "homophone folding + light stemming"
            share = t_an / index_s["auto"]
            rows.append(common.result(
                f"bm25 {lang} indexing docs/s: own analysis vs Lucene default analyzer", dps["auto"], dps["lucene"], "docs/s",
                short=f"{n} docs; the analysis ({what}) is {share:.0%} of the indexing time, JVM start included",
                note=f"{n} docs ({source}); the price of {what}: {index_s['auto']:.1f}s vs {index_s['lucene']:.1f}s "
                     f"(analysis alone {t_an:.1f}s = {share:.0%} of it, {tokens / t_an:,.0f} tokens/s); both include "
                     "the Anserini subprocess and its JVM start",
                details={"docs": n, "index_seconds": index_s, "analysis_seconds": t_an, "tokens": tokens}))
            rows.append(common.result(
                f"bm25 {lang} queries/s: own analysis vs Lucene default analyzer", qps["auto"], qps["lucene"], "queries/s",
                short=f"what the price buys: nDCG@10 {ndcg['auto']:.3f} vs {ndcg['lucene']:.3f}",
                note=f"{len(queries)} queries, k=100, 2 threads, median of {repeats}; nDCG@10 own {ndcg['auto']:.3f} "
                     f"vs Lucene default {ndcg['lucene']:.3f} (test topics)",
                details={"seconds": times, "ndcg@10": ndcg, "queries": len(queries)}))
        # khmer-nltk on its own
        docs, source = common.load_docs("km")
        texts = [d["text"] for d in docs[: 50 if quick else len(docs)]]
        segment(texts[0])
        t, words = common.timed(_segment_all, segment, texts)
        chars = sum(len(x) for x in texts)
        rows.append(common.result("khmer-nltk segmentation words/s", words / t, None, "words/s",
                                  note=f"{len(texts)} passages ({source}), {chars / t:,.0f} chars/s; "
                                       "the model loads once per process (a few seconds, not counted)"))
    return rows


if __name__ == "__main__":
    common.main(run)
