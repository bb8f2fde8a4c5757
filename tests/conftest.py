"""Shared fixtures. Tests never reach the network: HF hub access is switched off here."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Prepared models are cached across test runs in the checkout (git-ignored), not in the user's home.
os.environ.setdefault("TEVATRON_EXT_HOME", str(ROOT / ".cache" / "test-home"))


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def tiny_am(tmp_path: Path) -> Path:
    dest = tmp_path / "tiny-am"
    shutil.copytree(FIXTURES / "tiny-am", dest)
    return dest


@pytest.fixture
def tiny_km(tmp_path: Path) -> Path:
    dest = tmp_path / "tiny-km"
    shutil.copytree(FIXTURES / "tiny-km", dest)
    return dest
