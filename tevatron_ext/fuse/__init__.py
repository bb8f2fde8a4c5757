"""Fuse stage: hybrid runs (MIRACL-style normalised interpolation, reciprocal rank fusion)."""
from __future__ import annotations

from .fusion import interpolate, rrf, fuse_files

__all__ = ["interpolate", "rrf", "fuse_files"]
