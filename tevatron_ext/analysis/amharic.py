"""Amharic analysis: Ethiopic punctuation, homophone folding, an optional light clitic stemmer.

Amharic writes several sounds with interchangeable letters (FACTS.md): the h-families ሀ ሐ ኀ ኸ,
ሰ/ሠ, አ/ዐ, ጸ/ፀ, and the first/fourth orders of ሀ and አ (ሀ=ሃ, አ=ኣ). Folding maps each family,
in every vowel order, onto one representative, so that ሓይል, ኃይል and ሀይል match.
"""
from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass
from typing import Any

from .base import split_words

# (source series base, target series base); each Ethiopic series has 7 vowel orders at base+0..6,
# and most an 8th (labialised, base+7).
_FAMILIES = [
    (0x1210, 0x1200),  # ሐ -> ሀ
    (0x1280, 0x1200),  # ኀ -> ሀ
    (0x12B8, 0x1200),  # ኸ -> ሀ
    (0x1220, 0x1230),  # ሠ -> ሰ
    (0x12D0, 0x12A0),  # ዐ -> አ
    (0x1340, 0x1338),  # ፀ -> ጸ
]
# Orders pronounced alike: the 4th order of ሀ and አ is written for the 1st (ሃ=ሀ, ኣ=አ).
_ORDER_FOLDS = {0x1203: 0x1200, 0x12A3: 0x12A0}
ETHIOPIC_PUNCT = "\u1360\u1361\u1362\u1363\u1364\u1365\u1366\u1367\u1368"  # ፠ ፡ ። ፣ ፤ ፥ ፦ ፧ ፨


def _build_fold_table() -> dict[int, int]:
    table: dict[int, int] = {}
    for src, dst in _FAMILIES:
        for order in range(8):
            s, d = src + order, dst + order
            if unicodedata.name(chr(s), "") and unicodedata.name(chr(d), ""):
                table[s] = d
    for s, d in list(table.items()):
        if d in _ORDER_FOLDS:
            table[s] = _ORDER_FOLDS[d]
    table.update(_ORDER_FOLDS)
    return table


FOLD_TABLE = _build_fold_table()
PUNCT_TABLE = {ord(c): " " for c in ETHIOPIC_PUNCT}

# Clitics written as whole syllables (longest first). Prefixes: of, in/by, for, from, like, towards,
# about, until; suffixes: -ን (object), -ም (also), -ና (and), -ንም, -ዎች (plural after a vowel).
PREFIXES = ("እንደ", "ወደ", "ስለ", "እስከ", "የ", "በ", "ለ", "ከ")
SUFFIXES = ("ንም", "ዎች", "ን", "ም", "ና")


def fold(text: str) -> str:
    """Fold homophone letters to one representative per family (every vowel order)."""
    return text.translate(FOLD_TABLE)


def light_stem(token: str, min_stem: int = 3) -> str:
    """Strip at most one clitic prefix and one suffix, keeping at least ``min_stem`` characters."""
    for p in PREFIXES:
        if token.startswith(p) and len(token) - len(p) >= min_stem:
            token = token[len(p):]
            break
    for s in SUFFIXES:
        if token.endswith(s) and len(token) - len(s) >= min_stem:
            token = token[: -len(s)]
            break
    return token


@dataclass
class AmharicAnalyzer:
    """Amharic analysis; every step can be switched off."""

    fold_homophones: bool = True
    stem: bool = True
    remove_punctuation: bool = True
    name: str = "amharic"

    def analyze(self, text: str) -> list[str]:
        text = unicodedata.normalize("NFC", text).lower()
        if self.remove_punctuation:
            text = text.translate(PUNCT_TABLE)
        if self.fold_homophones:
            text = fold(text)
        tokens = split_words(text) if self.remove_punctuation else text.split()
        if self.stem:
            tokens = [light_stem(t) for t in tokens]
        return tokens

    @property
    def min_parallel_chars(self) -> int:
        """Below this many characters, worker processes cost more than they save (the analysis is ~400k tokens/s)."""
        return 4_000_000

    def config(self) -> dict[str, Any]:
        return asdict(self)
