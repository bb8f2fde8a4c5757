"""Khmer analysis: invisible separators become boundaries, a word segmenter splits words, punctuation goes.

Khmer writes no spaces between words (FACTS.md); U+200B is used only sometimes. Lucene's default
analyzer would index whole clauses as single tokens. Two segmenters:

- ``khmer-nltk`` (default): a CRF model shipped in the ``khmer-nltk`` package (~19k words/s here).
- ``icu``: ICU's dictionary-based word break iterator for ``km`` through ``icu4py`` (a wheel that
  bundles ICU 78; ``pip install 'tevatron_ext[icu]'``), ~30x faster, coarser on compounds.

The segmenter is part of the analyzer's config, so an index records it and queries get the same one.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

from ..common.errors import ConfigError
from .base import split_words

INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
# ។ ៕ ៖ ៗ ៘ ៙ ៚ and the Khmer currency sign / bariyoosan marks
KHMER_PUNCT = "\u17d4\u17d5\u17d6\u17d7\u17d8\u17d9\u17da\u17db\u19e0\u19e1"
_SEPARATORS = {ord(c): " " for c in INVISIBLE + KHMER_PUNCT}
_INVISIBLE = {ord(c): " " for c in INVISIBLE}
_KHMER = re.compile(r"[\u1780-\u17FF\u19E0-\u19FF]")

SEGMENTERS = ("khmer-nltk", "icu")
DEFAULT_SEGMENTER = "khmer-nltk"
ICU_INSTALL = "pip install 'tevatron_ext[icu]' (or: pip install icu4py==1.2.0)"


def _khmer_nltk() -> Callable[[str], list[str]]:
    import logging

    logging.getLogger("khmer-nltk").setLevel(logging.WARNING)
    try:
        from khmernltk import word_tokenize
    except ImportError as e:
        raise ConfigError(f"the Khmer segmenter 'khmer-nltk' needs the khmer-nltk package ({e}); "
                          "install it with: pip install khmer-nltk==1.6") from e
    logging.getLogger("khmer-nltk").setLevel(logging.WARNING)
    return word_tokenize


def _icu() -> Callable[[str], list[str]]:
    try:
        from icu4py.breakers import WordBreaker
    except ImportError as e:
        raise ConfigError(f"--khmer-segmenter icu needs the icu4py package ({e}); install it with: {ICU_INSTALL}") from e

    def word_break(text: str) -> list[str]:
        return list(WordBreaker(text, "km"))

    return word_break


@cache
def segmenter(name: str = DEFAULT_SEGMENTER) -> Callable[[str], list[str]]:
    """The word segmenter ``name`` (loaded once per process); ConfigError if unknown or not installed."""
    if name == "khmer-nltk":
        return _khmer_nltk()
    if name == "icu":
        return _icu()
    raise ConfigError(f"unknown Khmer segmenter {name!r}; choose one of {', '.join(SEGMENTERS)} (--khmer-segmenter)")


def segmenter_version(name: str) -> str | None:
    """The version of the library behind a segmenter (recorded in index manifests)."""
    from importlib import metadata

    try:
        if name == "icu":
            import icu4py

            return f"icu4py {metadata.version('icu4py')}, ICU {icu4py.icu_version}"
        if name == "khmer-nltk":
            return f"khmer-nltk {metadata.version('khmer-nltk')}"
    except (ImportError, metadata.PackageNotFoundError):
        return None
    return None


def segment(text: str, segmenter_name: str = DEFAULT_SEGMENTER) -> list[str]:
    """Khmer word segmentation of text that may contain spaces and other scripts.

    Whitespace-separated chunks with no Khmer letter are kept whole; the others go to the segmenter,
    whose pieces are stripped and empty ones dropped.
    """
    seg = segmenter(segmenter_name)
    out: list[str] = []
    for chunk in text.split():
        if _KHMER.search(chunk):
            out.extend(t for t in (w.strip() for w in seg(chunk)) if t)
        else:
            out.append(chunk)
    return out


@dataclass
class KhmerAnalyzer:
    """Khmer analysis; segmentation can be switched off (then only separators split)."""

    segment_words: bool = True
    remove_punctuation: bool = True
    segmenter: str = DEFAULT_SEGMENTER
    name: str = "khmer"

    def __post_init__(self) -> None:
        if self.segmenter not in SEGMENTERS:
            raise ConfigError(f"unknown Khmer segmenter {self.segmenter!r}; choose one of {', '.join(SEGMENTERS)} "
                              "(--khmer-segmenter)")
        if self.segment_words:
            segmenter(self.segmenter)  # fail now, naming the install command, not half-way through a corpus

    @property
    def min_parallel_chars(self) -> int:
        """Below this many characters, worker processes cost more than they save (benchmarks/bench_bm25.py):
        khmer-nltk loads its model in each worker (~1.3 s); ICU and plain splitting are ~30x faster."""
        return 300_000 if self.segment_words and self.segmenter == "khmer-nltk" else 4_000_000

    def analyze(self, text: str) -> list[str]:
        text = unicodedata.normalize("NFC", text).lower()
        text = text.translate(_INVISIBLE)
        if self.remove_punctuation:
            text = text.translate(_SEPARATORS)
        tokens = segment(text, self.segmenter) if self.segment_words else text.split()
        if self.remove_punctuation:
            tokens = [w for t in tokens for w in split_words(t)]
        return tokens

    def config(self) -> dict[str, Any]:
        return asdict(self)
