"""The embedded demo collections: counts, integrity, script purity, correspondence, word lists."""
from __future__ import annotations

import pytest

from tevatron_ext.collections import get_collection
from tevatron_ext.collections.registry import demo_root
from tevatron_ext.common.formats import read_corpus

RANGES = {"am": (0x1200, 0x139F), "km": (0x1780, 0x17FF)}


def share(text: str, lo: int, hi: int) -> float:
    letters = [c for c in text if c.isalpha()]
    return sum(lo <= ord(c) <= hi for c in letters) / len(letters)


@pytest.mark.parametrize("lang", ["am", "km"])
def test_counts_and_integrity(lang):
    mono, cross = get_collection(f"demo-{lang}"), get_collection(f"demo-en-{lang}")
    docs = read_corpus(mono.corpus_path())
    assert len(docs) >= 400
    texts = [d.text for d in docs.values()]
    assert len(set(texts)) == len(texts), "duplicate passages"
    assert all(d.title.strip() for d in docs.values())
    n_topics = 0
    for split in ("dev", "test"):
        rep = mono.validate(split)
        assert rep.ok and not rep.topics_without_relevant, rep.problems()
        t, te = mono.topics(split), cross.topics(split)
        assert set(t) == set(te)  # the same needs, two languages
        assert mono.qrels(split) == cross.qrels(split)
        assert all(2 in j.values() for j in mono.qrels(split).values())  # each topic has an answering passage
        n_topics += len(t)
    assert n_topics >= 100
    assert 20 <= len(mono.topics("dev")) <= 40


@pytest.mark.parametrize("lang", ["am", "km"])
def test_script_purity_and_length(lang):
    lo, hi = RANGES[lang]
    coll = get_collection(f"demo-{lang}")
    docs = read_corpus(coll.corpus_path())
    assert share(" ".join(d.text for d in docs.values()), lo, hi) >= 0.9
    topics = {**coll.topics("dev"), **coll.topics("test")}
    assert share(" ".join(topics.values()), lo, hi) >= 0.9
    en = {**get_collection(f"demo-en-{lang}").topics("dev"), **get_collection(f"demo-en-{lang}").topics("test")}
    assert share(" ".join(en.values()), 0x41, 0x7A) >= 0.9
    if lang == "am":
        words = [len(d.text.split()) for d in docs.values()]
    else:
        from tevatron_ext.analysis.khmer import segment

        words = [len(segment(d.text)) for d in docs.values()]
    in_range = sum(40 <= w <= 150 for w in words) / len(words)
    assert in_range >= 0.9, f"only {in_range:.0%} of passages have 40-150 words"


@pytest.mark.parametrize("lang", ["am", "km"])
def test_word_lists(lang):
    from tevatron_ext.common.formats import iter_lines

    rows = [line.split("\t") for _, line in iter_lines(demo_root() / lang / "words.tsv")]
    assert len(rows) >= 300 and all(len(r) == 4 for r in rows)
    assert len({r[0] for r in rows}) == len(rows)
    control = sum(r[3] == "control" for r in rows) / len(rows)
    assert 0.08 <= control <= 0.12
    lo, hi = RANGES[lang]
    assert share(" ".join(r[0] for r in rows), lo, hi) >= 0.9


def test_data_card():
    text = (demo_root() / "DATA_CARD.md").read_text(encoding="utf-8")
    for needle in ("License", "domains", "weaknesses", "passages"):
        assert needle.lower() in text.lower()
