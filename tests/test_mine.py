"""Filters and mining on fixtures with known answers."""
from __future__ import annotations

import json

import pytest

from tevatron_ext.bm25 import BM25IndexConfig, build_index
from tevatron_ext.mine.filters import containment, script_share
from tevatron_ext.mine.mine import MineConfig, mine
from tevatron_ext.train.data import read_train_examples


def test_filter_primitives():
    assert script_share("የኢትዮጵያ ዋና ከተማ?", "am") == 1.0
    assert script_share("What is Addis?", "am") == 0.0
    assert script_share("តើរាជធានី?", "km") == 1.0
    assert script_share("Where is it?", "en") == 1.0
    assert script_share("Где?", "ru") is None
    p = "አዲስ አበባ የኢትዮጵያ ዋና ከተማ ናት።"
    assert containment("አዲስ አበባ የኢትዮጵያ ዋና ከተማ ናት", p) == 1.0
    assert containment("ጤፍ ለእንጀራ ይውላል", p) < 0.2


@pytest.fixture
def gens(tiny_am, tmp_path):
    recs = [
        {"docid": "am1", "slot": 0, "query": "የኢትዮጵያ መዲና የትኛዋ ከተማ ናት?", "status": "ok", "method": "llm", "query_language": "am", "params": {}},
        {"docid": "am1", "slot": 1, "query": "የኢትዮጵያ መዲና የትኛዋ ከተማ ናት?", "status": "ok", "method": "llm", "query_language": "am", "params": {}},  # duplicate
        {"docid": "am2", "slot": 0, "query": "Where does the Abay river begin?", "status": "ok", "method": "llm", "query_language": "am", "params": {}},  # script
        {"docid": "am3", "slot": 0, "query": "", "status": "failed", "error": "timeout", "method": "llm", "query_language": "am", "params": {}},
        {"docid": "am4", "slot": 0, "query": "ጤፍ", "status": "ok", "method": "llm", "query_language": "am", "params": {}},  # length
        {"docid": "am5", "slot": 0, "query": "ወባ በትንኝ የሚተላለፍ በሽታ ነው", "status": "ok", "method": "llm", "query_language": "am", "params": {}},  # near copy
        {"docid": "am6", "slot": 0, "query": "ጥምቀት መቼ ነው የሚከበረው?", "status": "ok", "method": "llm", "query_language": "am", "params": {}},  # round trip fails: the query is about am7
        {"docid": "am7", "slot": 0, "query": "ጥምቀት በዓል በየትኛው ወር ይከበራል?", "status": "ok", "method": "llm", "query_language": "am", "params": {}},
    ]
    p = tmp_path / "gen.jsonl"
    p.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), encoding="utf-8")
    return p


def test_mine_counts_every_filter(tiny_am, gens, tmp_path):
    build_index(BM25IndexConfig(collection=str(tiny_am), index=tmp_path / "bm25"))
    out = tmp_path / "train.jsonl"
    m = mine(MineConfig(collection=str(tiny_am), generations=[str(gens)], out=str(out), bm25_index=str(tmp_path / "bm25"),
                        round_trip_k=1, neg_window=(1, 8), n_negatives=3))
    c = m["counts"]
    assert c["removed_failed"] == 1 and c["removed_length"] == 1 and c["removed_script"] == 1
    assert c["removed_duplicate"] == 1 and c["removed_near_copy"] == 1
    assert c["removed_round_trip"] == 1
    ex = read_train_examples([out])
    assert {e.positives[0].docid for e in ex} == {"am1", "am7"} and c["kept"] == 2
    for e in ex:
        assert e.negatives and all(n.docid != e.positives[0].docid for n in e.negatives)
    assert "# Synthetic queries" in (tmp_path / "train.report.md").read_text(encoding="utf-8")
    # seeded: the same call gives the same file
    out2 = tmp_path / "train2.jsonl"
    mine(MineConfig(collection=str(tiny_am), generations=[str(gens)], out=str(out2), bm25_index=str(tmp_path / "bm25"),
                    round_trip_k=1, neg_window=(1, 8), n_negatives=3))
    assert out.read_text() == out2.read_text()


def test_unknown_docids_are_reported(tiny_am, tmp_path):
    from tevatron_ext.common.errors import InputError

    p = tmp_path / "g.jsonl"
    p.write_text(json.dumps({"docid": "ghost", "slot": 0, "query": "x", "status": "ok", "method": "llm", "params": {}}) + "\n")
    with pytest.raises(InputError, match="1 generation records name docids that are not in"):
        mine(MineConfig(collection=str(tiny_am), generations=[str(p)], out=str(tmp_path / "o.jsonl"), round_trip="none",
                        negatives_from="bm25", bm25_index=None))


def test_echoes_of_few_shot_examples_are_removed(tiny_am, tmp_path):
    from tevatron_ext.generate.templates import load_prompt_file, prompts_dir

    example = load_prompt_file(prompts_dir() / "fewshot.am-am.txt", "am", "am").example_questions[0]
    p = tmp_path / "g.jsonl"
    p.write_text(json.dumps({"docid": "am1", "slot": 0, "query": example, "status": "ok", "method": "llm", "params": {},
                             "prompt_id": "fewshot.am-am.txt", "query_language": "am"}, ensure_ascii=False) + "\n",
                 encoding="utf-8")
    m = mine(MineConfig(collection=str(tiny_am), generations=[str(p)], out=str(tmp_path / "o.jsonl"), round_trip="none",
                        negatives_from="bm25", bm25_index=None))
    assert m["counts"]["removed_echo"] == 1 and m["counts"]["kept"] == 0


def test_filter_report_compares_sources_per_direction(tiny_am, gens, tmp_path):
    from click.testing import CliRunner

    from tevatron_ext.cli import main
    from tevatron_ext.mine.compare import best_by_direction, load_rows

    build_index(BM25IndexConfig(collection=str(tiny_am), index=tmp_path / "bm25"))
    kw = dict(collection=str(tiny_am), bm25_index=str(tmp_path / "bm25"), round_trip_k=1, neg_window=(1, 8), n_negatives=3)
    mine(MineConfig(generations=[str(gens)], out=str(tmp_path / "a.jsonl"), **kw))
    # a second source: the two queries that survive in the first, tagged with a prompt and a model
    recs = [json.loads(line) for line in gens.read_text(encoding="utf-8").splitlines()]
    other = [dict(r, prompt_id="p.txt", model="m") for r in recs if r["docid"] in ("am1", "am7") and r["slot"] == 0]
    (tmp_path / "g2.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in other), encoding="utf-8")
    mine(MineConfig(generations=[str(tmp_path / "g2.jsonl")], out=str(tmp_path / "b.jsonl"), **kw))
    rows = load_rows([tmp_path / "a.jsonl", tmp_path / "b.jsonl"], ["A", "B"])
    a, b = rows
    assert (a["label"], a["direction"], a["candidates"], a["kept"]) == ("A", "am->am", 8, 2)
    assert a["failed"] == a["length"] == a["script"] == a["duplicate"] == a["near_copy"] == a["round_trip"] == 1
    assert (b["prompt"], b["model"], b["candidates"], b["kept"], b["kept_share"]) == ("p.txt", "m", 2, 2, 1.0)
    assert best_by_direction(rows)["am->am"]["label"] == "B"
    res = CliRunner().invoke(main, ["filter-report", str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl"),
                                    "--label", "A", "--label", "B"])
    assert res.exit_code == 0, res.output
    assert "| A | am->am | llm |  |  | 8 | 1 | 1 | 1 | 0 | 1 | 1 | 1 | 2 | 25.0 |" in res.output
    assert "Most kept per direction: am->am: B (p.txt, 2/2 = 100.0 %)" in res.output
    res = CliRunner().invoke(main, ["filter-report", str(gens)])  # not a mined file
    assert res.exit_code != 0 and "no complete `tevatron-ext mine` manifest" in res.output


def test_echoes_of_chat_instructions_are_removed(tiny_am, tmp_path):
    # gemma-3-270m given the chat prompt wrote this (the prompt's own instructions) for an Amharic passage
    echo = ("You write a search query for a retrieval test collection. Given a passage in Amharic, write one natural "
            "question in English that a person could type into a")
    fine = "Where does the Blue Nile begin?"
    p = tmp_path / "g.jsonl"
    p.write_text("".join(json.dumps({"docid": d, "slot": 0, "query": q, "status": "ok", "method": "llm", "params": {},
                                     "prompt_id": "chat.xx-yy.json", "query_language": "en"}) + "\n"
                         for d, q in (("am1", echo), ("am2", fine))), encoding="utf-8")
    build_index(BM25IndexConfig(collection=str(tiny_am), index=tmp_path / "bm25"))
    m = mine(MineConfig(collection=str(tiny_am), generations=[str(p)], out=str(tmp_path / "o.jsonl"), round_trip="none",
                        negatives_from="bm25", bm25_index=str(tmp_path / "bm25"), neg_window=(1, 8)))
    assert m["counts"]["removed_echo"] == 1 and m["counts"]["kept"] == 1
