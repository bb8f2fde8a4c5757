"""BM25 analysis in worker processes gives the same index input and runs as one process; the Khmer
segmenter is recorded in the index and reused for queries."""
from __future__ import annotations

import pytest

from tevatron_ext.analysis.parallel import ParallelStats, analyse_texts
from tevatron_ext.bm25 import BM25IndexConfig, BM25SearchConfig, build_index, search
from tevatron_ext.common.errors import ConfigError
from tevatron_ext.common.formats import iter_corpus


@pytest.mark.parametrize("lang,fixture", [("km", "tiny_km"), ("am", "tiny_am")])
def test_worker_processes_give_identical_tokens(lang, fixture, request):
    coll = request.getfixturevalue(fixture)
    texts = [d.text for d in iter_corpus(coll / "corpus.jsonl")] * 3
    one = list(analyse_texts(lang, {}, texts, workers=1))
    stats = ParallelStats()
    two = list(analyse_texts(lang, {}, iter(texts), workers=2, chunk_size=4, min_parallel_chars=0, stats=stats))
    assert stats.workers == 2 and stats.texts == len(texts)
    assert two == one


@pytest.mark.slow
def test_bm25_index_threads_identical_runs(tiny_km, tmp_path):
    import json

    docs = [json.loads(line) for line in (tiny_km / "corpus.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    with open(tiny_km / "corpus.jsonl", "w", encoding="utf-8") as fh:  # enough passages for two workers to share
        for i in range(20):
            for d in docs:
                fh.write(json.dumps({**d, "docid": d["docid"] if i == 0 else f"{d['docid']}-{i}"}, ensure_ascii=False) + "\n")
    runs, shas = [], []
    for threads in (1, 2):
        idx = tmp_path / f"i{threads}"
        m = build_index(BM25IndexConfig(collection=str(tiny_km), index=idx, threads=threads, parallel_min_chars=0))
        assert m["config"]["analysis_workers"] == threads
        shas.append(m["anserini_input"]["sha256"])
        search(BM25SearchConfig(index=idx, collection=str(tiny_km), run=tmp_path / f"r{threads}.txt"))
        runs.append((tmp_path / f"r{threads}.txt").read_text())
    assert shas[0] == shas[1] and runs[0] == runs[1]


def test_khmer_segmenter_recorded_and_validated(tiny_km, tmp_path):
    pytest.importorskip("icu4py")
    m = build_index(BM25IndexConfig(collection=str(tiny_km), index=tmp_path / "icu",
                                    analyzer_options={"segmenter": "icu"}))
    analysis = m["config"]["analysis"]
    assert analysis["options"]["segmenter"] == "icu" and "ICU" in analysis["segmenter_version"]
    search(BM25SearchConfig(index=tmp_path / "icu", collection=str(tiny_km), run=tmp_path / "r.txt"))
    assert (tmp_path / "r.txt").read_text().strip()
    with pytest.raises(ConfigError, match="khmer-segmenter"):
        build_index(BM25IndexConfig(collection=str(tiny_km), index=tmp_path / "bad",
                                    analyzer_options={"segmenter": "nope"}))
