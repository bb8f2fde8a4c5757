"""Khmer analysis: invisible separators become boundaries, khmer-nltk segments words, punctuation goes.

Khmer writes no spaces between words (FACTS.md); U+200B is used only sometimes. Lucene's default
analyzer would index whole clauses as single tokens.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

from .base import split_words

INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
# ។ ៕ ៖ ៗ ៘ ៙ ៚ and the Khmer currency sign / bariyoosan marks
KHMER_PUNCT = "\u17d4\u17d5\u17d6\u17d7\u17d8\u17d9\u17da\u17db\u19e0\u19e1"
_SEPARATORS = {ord(c): " " for c in INVISIBLE + KHMER_PUNCT}
_KHMER = re.compile(r"[\u1780-\u17FF\u19E0-\u19FF]")


@cache
def _segmenter():
    import logging

    logging.getLogger("khmer-nltk").setLevel(logging.WARNING)
    from khmernltk import word_tokenize

    logging.getLogger("khmer-nltk").setLevel(logging.WARNING)
    return word_tokenize


def segment(text: str) -> list[str]:
    """Khmer word segmentation (khmer-nltk) of text that may contain spaces and other scripts."""
    out: list[str] = []
    for chunk in text.split():
        if _KHMER.search(chunk):
            out.extend(t for t in (w.strip() for w in _segmenter()(chunk)) if t)
        else:
            out.append(chunk)
    return out


@dataclass
class KhmerAnalyzer:
    """Khmer analysis; segmentation can be switched off (then only separators split)."""

    segment_words: bool = True
    remove_punctuation: bool = True
    name: str = "khmer"

    def analyze(self, text: str) -> list[str]:
        text = unicodedata.normalize("NFC", text).lower()
        text = text.translate({ord(c): " " for c in INVISIBLE})
        if self.remove_punctuation:
            text = text.translate(_SEPARATORS)
        tokens = segment(text) if self.segment_words else text.split()
        if self.remove_punctuation:
            tokens = [w for t in tokens for w in split_words(t)]
        return tokens

    def config(self) -> dict[str, Any]:
        return asdict(self)
