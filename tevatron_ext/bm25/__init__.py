"""BM25 stage: Lucene indexes (Anserini) and runs, with project analysis for am/km."""
from __future__ import annotations

from .lucene import BM25IndexConfig, BM25SearchConfig, build_index, search

__all__ = ["BM25IndexConfig", "BM25SearchConfig", "build_index", "search"]
