"""Collections stage: registry, readers, export (``tevatron-ext collections``)."""
from __future__ import annotations

from .registry import REGISTRY, Collection, default_split, get_collection, local_collection

__all__ = ["REGISTRY", "Collection", "default_split", "get_collection", "local_collection"]
