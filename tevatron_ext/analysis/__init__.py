"""Language analysis for BM25: Amharic and Khmer, which Lucene does not know.

``analyze(text, lang)`` returns the list of index terms; the same function is applied to passages
and to queries. Lucene's own analyzers are used for the languages it knows (see :data:`LUCENE_LANGUAGES`).
"""
from __future__ import annotations

from .amharic import AmharicAnalyzer
from .base import LUCENE_LANGUAGES, WHITESPACE_LANGUAGES, Analyzer, get_analyzer
from .khmer import KhmerAnalyzer

__all__ = ["Analyzer", "AmharicAnalyzer", "KhmerAnalyzer", "get_analyzer", "LUCENE_LANGUAGES", "WHITESPACE_LANGUAGES"]
