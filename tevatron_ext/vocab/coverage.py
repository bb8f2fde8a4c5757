"""Tokenizer coverage: per script, the share of words containing an unknown token, and pieces per word.

mDPR's WordPiece vocabulary has no Ethiopic or Khmer pieces (FACTS.md), so every Amharic and
Khmer word becomes ``[UNK]``; XLM-R's SentencePiece vocabulary covers both.
"""
from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

SCRIPTS = {"Ethiopic": (0x1200, 0x139F), "Khmer": (0x1780, 0x17FF)}


def script_of(word: str) -> str:
    """The script of most of a word's letters: Ethiopic, Khmer, Latin, or Other."""
    counts: Counter[str] = Counter()
    for ch in word:
        cp = ord(ch)
        for name, (lo, hi) in SCRIPTS.items():
            if lo <= cp <= hi:
                counts[name] += 1
                break
        else:
            if ch.isalpha():
                counts["Latin" if "LATIN" in unicodedata.name(ch, "") else "Other"] += 1
    return counts.most_common(1)[0][0] if counts else "Other"


def words_of(text: str) -> list[str]:
    """Words for coverage: whitespace words, Khmer runs segmented with khmer-nltk, punctuation dropped."""
    from ..analysis.base import split_words
    from ..analysis.khmer import INVISIBLE, KHMER_PUNCT, segment

    text = unicodedata.normalize("NFC", text).translate({ord(c): " " for c in INVISIBLE + KHMER_PUNCT + "።፣፤፥፦፧፡"})
    out: list[str] = []
    for w in split_words(text):
        out.extend(segment(w) if script_of(w) == "Khmer" else [w])
    return out


@dataclass
class ScriptCoverage:
    script: str
    words: int
    unique_words: int
    unknown_word_share: float  # share of word occurrences containing at least one unknown piece
    pieces_per_word: float


def coverage(tokenizer: Any, texts: Iterable[str]) -> dict[str, ScriptCoverage]:
    counts: Counter[str] = Counter()
    for t in texts:
        counts.update(words_of(t))
    unk = getattr(tokenizer, "unk_token_id", None)
    by_script: dict[str, list[tuple[int, bool, int]]] = {}
    for word, n in counts.items():
        ids = tokenizer(word, add_special_tokens=False)["input_ids"]
        by_script.setdefault(script_of(word), []).append((n, unk is not None and unk in ids, len(ids)))
    out = {}
    for script, rows in sorted(by_script.items()):
        total = sum(n for n, _, _ in rows)
        out[script] = ScriptCoverage(
            script=script, words=total, unique_words=len(rows),
            unknown_word_share=sum(n for n, u, _ in rows if u) / total,
            pieces_per_word=sum(n * p for n, _, p in rows) / total,
        )
    return out


def coverage_report(model: str, collection: str, max_docs: int | None = None) -> dict[str, Any]:
    from transformers import AutoTokenizer

    from ..collections import get_collection
    from ..common.formats import iter_corpus
    from ..models.zoo import resolve

    loc = resolve(model)
    tok = AutoTokenizer.from_pretrained(str(loc))
    coll = get_collection(collection)
    texts = []
    for i, d in enumerate(iter_corpus(coll.corpus_path())):
        if max_docs is not None and i >= max_docs:
            break
        texts.append(f"{d.title} {d.text}")
    cov = coverage(tok, texts)
    return {"model": str(loc), "collection": collection, "docs": len(texts),
            "vocab_size": len(tok), "scripts": {k: asdict(v) for k, v in cov.items()}}
