"""Filters for synthetic queries; each returns a rejection reason or None."""
from __future__ import annotations

import unicodedata

SCRIPT_RANGES = {"am": [(0x1200, 0x139F), (0x2D80, 0x2DDF), (0xAB00, 0xAB2F)], "km": [(0x1780, 0x17FF), (0x19E0, 0x19FF)]}
LATIN_LANGS = frozenset("en sw yo ha so id es fr de fi it nl pt da no sv pl tr".split())


def script_share(text: str, lang: str) -> float | None:
    """Share of letters written in ``lang``'s script (None when the script is not known here)."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    if lang in SCRIPT_RANGES:
        ranges = SCRIPT_RANGES[lang]
        return sum(any(lo <= ord(c) <= hi for lo, hi in ranges) for c in letters) / len(letters)
    if lang in LATIN_LANGS:
        return sum("LATIN" in unicodedata.name(c, "") for c in letters) / len(letters)
    return None


def char_ngrams(text: str, n: int = 5) -> set[str]:
    t = " ".join(unicodedata.normalize("NFC", text).lower().split())
    return {t[i:i + n] for i in range(max(len(t) - n + 1, 1))}


def containment(query: str, passage: str, n: int = 5) -> float:
    """Share of the query's character n-grams that occur in the passage (1.0 = a copied span)."""
    q = char_ngrams(query, n)
    return len(q & char_ngrams(passage, n)) / len(q) if q else 0.0


def normalise_query(q: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", q).lower().strip(" ?？፧!.።។").split())
