"""Fuse stage: hybrid runs (MIRACL-style normalised interpolation, reciprocal rank fusion)."""
from __future__ import annotations

from .fusion import fuse_files, interpolate, rrf

__all__ = ["interpolate", "rrf", "fuse_files"]
