"""BM25 end to end through Anserini on small Amharic and Khmer fixtures."""
from __future__ import annotations

import json

import pytest

from tevatron_ext.bm25 import BM25IndexConfig, BM25SearchConfig, build_index, search
from tevatron_ext.common.formats import read_run
from tevatron_ext.evaluation import evaluate_files


@pytest.mark.parametrize("lang", ["am", "km"])
def test_bm25_end_to_end(lang, request, tmp_path):
    coll = request.getfixturevalue(f"tiny_{lang}")
    index = tmp_path / "index"
    m = build_index(BM25IndexConfig(collection=str(coll), index=index))
    assert m["counts"]["docs"] == 8
    assert m["config"]["analysis"]["kind"] == "own" and m["config"]["analysis"]["language"] == lang
    run = tmp_path / "run.txt"
    rm = search(BM25SearchConfig(index=index, collection=str(coll), run=run, hits=5))
    assert rm["counts"]["topics"] == 4
    r = read_run(run)
    assert set(r) == {"q1", "q2", "q3", "q4"} and all(len(h) <= 5 for h in r.values())
    agg, _ = evaluate_files(coll / "qrels.txt", run, ["nDCG@10"])
    assert agg["nDCG@10"] > 0.5  # the analysis finds the answers on this easy fixture
    assert json.loads((tmp_path / "run.txt.manifest.json").read_text())["complete"] is True
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_lucene_default_analyzer_cannot_segment_khmer(tiny_km, tmp_path):
    """Without segmentation a Khmer clause is one token: most queries find nothing."""
    build_index(BM25IndexConfig(collection=str(tiny_km), index=tmp_path / "i", analyzer="lucene"))
    search(BM25SearchConfig(index=tmp_path / "i", collection=str(tiny_km), run=tmp_path / "r.txt"))
    own = tmp_path / "own"
    build_index(BM25IndexConfig(collection=str(tiny_km), index=own))
    search(BM25SearchConfig(index=own, collection=str(tiny_km), run=tmp_path / "o.txt"))
    lucene = evaluate_files(tiny_km / "qrels.txt", tmp_path / "r.txt", ["nDCG@10"])[0]["nDCG@10"]
    ours = evaluate_files(tiny_km / "qrels.txt", tmp_path / "o.txt", ["nDCG@10"])[0]["nDCG@10"]
    assert ours > lucene


def test_search_refuses_incomplete_index(tiny_am, tmp_path):
    from tevatron_ext.common.errors import TevatronExtError

    (tmp_path / "idx").mkdir()
    with pytest.raises(TevatronExtError, match="not a complete"):
        search(BM25SearchConfig(index=tmp_path / "idx", collection=str(tiny_am), run=tmp_path / "r.txt"))
