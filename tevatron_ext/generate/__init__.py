"""The ``generate`` stage: synthetic queries for passages (LLM prompting, ICT, cropping).

Output: an append-only JSONL cache of one record per (passage, query slot); see :mod:`.records`.
"""
from __future__ import annotations

from .core import GenerateConfig, generate
from .records import latest, read_generations

__all__ = ["GenerateConfig", "generate", "latest", "read_generations"]
