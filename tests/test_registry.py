from __future__ import annotations

import json

import pytest

from tevatron_ext.collections import registry
from tevatron_ext.collections.registry import REGISTRY, get_collection, local_collection
from tevatron_ext.common.errors import InputError, TevatronExtError


def test_local_collection_and_export(tiny_am, tmp_path):
    coll = get_collection(str(tiny_am))
    assert coll.language == "am" and coll.splits == ("default",)
    rep = coll.validate("default")
    assert rep.ok and rep.n_docs == 8 and rep.n_topics == 4
    counts = coll.export(tmp_path / "out", "default")
    assert counts == {"docs": 8, "topics": 4, "judgments": 4}
    assert {p.name for p in (tmp_path / "out").iterdir()} == {"corpus.jsonl", "topics.tsv", "qrels.txt"}


def test_validation_reports_unknown_ids(tiny_am):
    (tiny_am / "qrels.txt").write_text("q1 0 am1 2\nq1 0 ghost 1\nq9 0 am2 1\n", encoding="utf-8")
    rep = local_collection(tiny_am).validate("default")
    assert rep.unknown_docids == [("q1", "ghost")]
    assert rep.unknown_topics == ["q9"]
    assert rep.topics_without_qrels == ["q2", "q3", "q4"]
    text = "\n".join(rep.problems())
    assert "ghost" in text and "1 qrels point at unknown docids" in text


def test_unknown_name_lists_known():
    with pytest.raises(TevatronExtError, match="demo-am"):
        get_collection("no-such-collection")


def test_registry_knows_the_real_collections():
    for name in ("miracl-sw", "miracl-yo", "africlirmatrix-en-am", "amharic-news", "belebele-am", "belebele-en-km",
                 "mkqa-km", "demo-am", "demo-km", "demo-en-am", "demo-en-km"):
        assert name in REGISTRY, name
    assert REGISTRY["miracl-sw"]().published["nDCG@10"] == {"bm25": 0.383, "mdpr": 0.299, "hybrid": 0.446}


def test_missing_corpus_is_reported(tmp_path):
    (tmp_path / "topics.tsv").write_text("q\tx\n")
    with pytest.raises(InputError, match="corpus.jsonl"):
        local_collection(tmp_path)


@pytest.fixture
def fake_hub(monkeypatch, tmp_path):
    """Replace datasets.load_dataset with local rows shaped like each source's schema."""
    home = tmp_path / "home"
    monkeypatch.setenv("TEVATRON_EXT_HOME", str(home))
    calls = []
    miracl_topics = [
        {"query_id": "0", "query": "Swali la kwanza", "positive_passages": [{"docid": "1#0", "title": "A", "text": "a"}],
         "negative_passages": [{"docid": "2#0", "title": "B", "text": "b"}]},
        {"query_id": "01", "query": "Swali la pili", "positive_passages": [{"docid": "2#0", "title": "B", "text": "b"}],
         "negative_passages": []},
    ]
    corpus = [{"docid": "1#0", "title": "A", "text": "maandishi a"}, {"docid": "2#0", "title": "B", "text": "maandishi b"}]
    belebele = [
        {"link": "L1", "question_number": 1, "flores_passage": "P one", "question": "Q1?", "dialect": "amh_Ethi"},
        {"link": "L1", "question_number": 2, "flores_passage": "P one", "question": "Q2?", "dialect": "amh_Ethi"},
        {"link": "L2", "question_number": 1, "flores_passage": "P two", "question": "Q3?", "dialect": "amh_Ethi"},
    ]
    pairs = [{"query": "ጥያቄ", "passage": "ጽሑፍ አንድ", "category": "x"}, {"query": "ሌላ", "passage": "ጽሑፍ አንድ", "category": "x"}]

    def load(path, name=None, split=None, **kw):
        calls.append((path, name, split))
        if path == "miracl/miracl":
            return miracl_topics
        if path == "miracl/miracl-corpus":
            return corpus
        if path == "facebook/belebele":
            return belebele
        if path == "rasyosef/amharic-news-retrieval-dataset":
            return pairs
        raise AssertionError(path)

    monkeypatch.setattr(registry, "_load_dataset", load)
    return calls


def test_miracl_loader_schema(fake_hub, tmp_path):
    coll = get_collection("miracl-sw")
    assert coll.qrels("dev") == {"0": {"2#0": 0, "1#0": 1}, "01": {"2#0": 1}}
    assert coll.topics("train")["01"] == "Swali la pili"  # ids stay strings
    assert ("miracl/miracl", "sw", "dev") in fake_hub
    n = len(fake_hub)
    get_collection("miracl-sw").topics("dev")  # materialised once, then read from the cache
    assert len(fake_hub) == n
    manifest = json.loads((coll.root / "manifest.json").read_text())
    assert manifest["complete"] is True


def test_belebele_and_pairs_loaders(fake_hub):
    b = get_collection("belebele-en-am")
    assert b.qrels("test") == {"L1#1": {"L1": 1}, "L1#2": {"L1": 1}, "L2#1": {"L2": 1}}
    assert b.validate("test").ok
    n = get_collection("amharic-news")
    assert n.validate("train").ok and n.validate("train").n_docs == 1
