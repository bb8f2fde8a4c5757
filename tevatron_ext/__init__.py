"""tevatron_ext: dense retrieval for low-resource languages (Amharic, Khmer) on Pyserini/Anserini."""
from __future__ import annotations

__version__ = "0.1.0"
