"""``tevatron-ext report``: leaderboards of a recipe (alias of ``tevatron-ext recipe report``)."""
from __future__ import annotations

from ..recipe.cli import report

__all__ = ["report"]
