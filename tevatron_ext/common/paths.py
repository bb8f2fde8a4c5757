"""Where the toolkit keeps its cache (prepared models, downloaded collections)."""
from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """``$TEVATRON_EXT_HOME``, default ``~/.cache/tevatron_ext``."""
    return Path(os.environ.get("TEVATRON_EXT_HOME") or Path.home() / ".cache" / "tevatron_ext").expanduser()


def models_dir() -> Path:
    return home() / "models"


def collections_dir() -> Path:
    return home() / "collections"
