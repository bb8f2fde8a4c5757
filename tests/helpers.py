"""Builders of tiny models for tests: a random mDPR-like BERT with an English-only WordPiece vocabulary."""
from __future__ import annotations

from tevatron_ext.models.tiny import WORDS, make_tiny_bert, wordpiece_tokenizer, wordpiece_vocab

__all__ = ["WORDS", "make_tiny_bert", "wordpiece_tokenizer", "wordpiece_vocab"]
