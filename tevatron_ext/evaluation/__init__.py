"""Evaluation stage: trec_eval semantics through pytrec_eval (``tevatron-ext eval``)."""
from __future__ import annotations

from .metrics import DEFAULT_METRICS, METRICS, evaluate, evaluate_files

__all__ = ["METRICS", "DEFAULT_METRICS", "evaluate", "evaluate_files"]
