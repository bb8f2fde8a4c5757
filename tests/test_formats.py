from __future__ import annotations

import json

import pytest

from tevatron_ext.common.errors import InputError
from tevatron_ext.common.formats import (
    rank_hits,
    read_corpus,
    read_qrels,
    read_run,
    read_topics,
    write_run,
)


def write(path, text, mode="w"):
    if mode == "wb":
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_corpus_errors_name_file_and_line(tmp_path):
    p = write(tmp_path / "corpus.jsonl", '{"docid": "a", "text": "x"}\n\n{"docid": "b", "text": "y"\n')
    with pytest.raises(InputError) as e:
        read_corpus(p)
    assert e.value.line == 3 and "corpus.jsonl:3" in str(e.value) and "invalid JSON" in str(e.value)


@pytest.mark.parametrize("line, message", [
    ('{"docid": 12, "text": "x"}', "must be a JSON string"),
    ('{"text": "x"}', "missing field 'docid'"),
    ('{"docid": "a", "text": "  "}', "is empty"),
    ('["a", "b"]', "expected a JSON object"),
])
def test_corpus_field_errors(tmp_path, line, message):
    p = write(tmp_path / "c.jsonl", line + "\n")
    with pytest.raises(InputError, match=message):
        read_corpus(p)


def test_corpus_duplicate_and_strict(tmp_path):
    p = write(tmp_path / "c.jsonl", '{"docid": "a", "text": "x"}\n{"docid": "a", "text": "y"}\n')
    with pytest.raises(InputError, match="duplicate docid 'a' \\(first on line 1\\)"):
        read_corpus(p)
    p = write(tmp_path / "d.jsonl", '{"docid": "a", "text": "x", "lang": "am"}\n')
    assert read_corpus(p)["a"].text == "x"
    with pytest.raises(InputError, match="unexpected fields"):
        read_corpus(p, strict=True)


def test_bom_crlf_and_string_ids(tmp_path):
    p = write(tmp_path / "c.jsonl", b'\xef\xbb\xbf{"docid": "0001", "title": "t", "text": "x"}\r\n', mode="wb")
    docs = read_corpus(p)
    assert list(docs) == ["0001"]
    t = write(tmp_path / "t.tsv", b"\xef\xbb\xbf0001\tquery one\r\n", mode="wb")
    assert read_topics(t) == {"0001": "query one"}


def test_invalid_utf8(tmp_path):
    p = write(tmp_path / "c.jsonl", b'{"docid": "a", "text": "x"}\n{"docid": "b", "text": "\xff"}\n', mode="wb")
    with pytest.raises(InputError, match="c.jsonl:2: invalid UTF-8"):
        read_corpus(p)


def test_topics_qrels_errors(tmp_path):
    with pytest.raises(InputError, match="t.tsv:2: expected 2 tab-separated columns"):
        read_topics(write(tmp_path / "t.tsv", "q1\tone\nq2 two\n"))
    with pytest.raises(InputError, match="duplicate topic id 'q1'"):
        read_topics(write(tmp_path / "t2.tsv", "q1\tone\nq1\ttwo\n"))
    with pytest.raises(InputError, match="q.txt:1: relevance must be an integer"):
        read_qrels(write(tmp_path / "q.txt", "q1 0 d1 x\n"))
    assert read_qrels(write(tmp_path / "q2.txt", "001 0 0007 2\n")) == {"001": {"0007": 2}}
    tj = write(tmp_path / "t.jsonl", json.dumps({"qid": "7", "query": "ሰላም"}, ensure_ascii=False) + "\n")
    assert read_topics(tj) == {"7": "ሰላም"}


@pytest.mark.parametrize("line, message", [
    ("q1 Q0 d1 1 nan t", "score must be finite"),
    ("q1 Q0 d1 1 inf t", "score must be finite"),
    ("q1 Q0 d1 0 1.0 t", "ranks are 1-based"),
    ("q1 Q0 d1 1 x t", "score must be a number"),
    ("q1 Q0 d1 1 1.0", "expected 6 columns"),
])
def test_run_errors(tmp_path, line, message):
    with pytest.raises(InputError, match=message):
        read_run(write(tmp_path / "r.txt", line + "\n"))


def test_run_rank_order(tmp_path):
    with pytest.raises(InputError, match="r.txt:2: ranks out of order"):
        read_run(write(tmp_path / "r.txt", "q1 Q0 a 2 2.0 t\nq1 Q0 b 1 1.0 t\n"))


def test_write_run_ties_and_ranks(tmp_path):
    run = {"q1": {"b": 1.0, "a": 1.0, "c": 2.0, "d": 1.0000000001}}
    p = tmp_path / "run.txt"
    assert write_run(p, run, tag="x", k=3) == 3
    lines = p.read_text().splitlines()
    # ties (after rounding to 6 decimals) broken by docid ascending; ranks 1-based
    assert lines == ["q1 Q0 c 1 2.000000 x", "q1 Q0 a 2 1.000000 x", "q1 Q0 b 3 1.000000 x"]
    assert read_run(p) == {"q1": {"c": 2.0, "a": 1.0, "b": 1.0}}
    assert rank_hits([("z", 1.0), ("y", 1.0)]) == [("y", 1.0), ("z", 1.0)]
    assert not list(tmp_path.glob(".*tmp"))
