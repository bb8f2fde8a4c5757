"""Non-LLM pseudo-queries: the Inverse Cloze Task and independent cropping.

* ICT (Lee et al., 2019, ORQA): a random sentence of the passage is the query, the passage without
  it is the positive.
* Cropping (Izacard et al., 2022, Contriever): two independent random spans, each 10-50 % of the
  passage's words; the first is the query, the second the positive. Khmer words are counted with
  the project's Khmer segmentation (khmer-nltk), since Khmer writes no spaces between words.

Both are deterministic per ``(seed, docid, slot)`` through a local :class:`random.Random`.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass

from .seeds import derive_seed

# always sentence-final: Ethiopic full stop and question mark, Khmer khan and bariyoosan, ? and !
_STRONG = "።፧។៕?!？！"
_NATIVE_STOP = re.compile("[።។៕]")
_STRONG_END = re.compile(f"[{_STRONG}]+[\"'”’)»]*")
# "." ends a sentence only before whitespace or the end (and only where the text has no native full stop,
# since Amharic writes abbreviations such as ዓ.ም. with it)
_DOT_END = re.compile(r"\.+[\"'”’)»]*(?=\s|$)")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans ``(start, end)`` of the sentences of ``text`` (terminators kept, spaces trimmed)."""
    ends = [m.end() for m in _STRONG_END.finditer(text)]
    if not _NATIVE_STOP.search(text):
        ends += [m.end() for m in _DOT_END.finditer(text)]
    spans: list[tuple[int, int]] = []
    start = 0
    for end in sorted(set(ends)) + [len(text)]:
        if end <= start:
            continue
        s, e = start, end
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if s < e and any(ch.isalnum() for ch in text[s:e]):
            spans.append((s, e))
        start = end
    return spans


def _join_around(text: str, start: int, end: int) -> str:
    left, right = text[:start].rstrip(), text[end:].lstrip()
    return f"{left} {right}" if left and right else left or right


@dataclass(frozen=True)
class Pseudo:
    query: str
    positive_text: str
    error: str | None = None


def ict(text: str, seed: int, docid: str, slot: int) -> Pseudo:
    """One sentence as the query, the rest of the passage as the positive."""
    spans = split_sentences(text)
    if len(spans) < 2:
        return Pseudo("", "", f"ICT needs a passage of at least 2 sentences, found {len(spans)}")
    rng = random.Random(derive_seed(seed, "ict", docid, slot))
    s, e = spans[rng.randrange(len(spans))]
    return Pseudo(text[s:e], _join_around(text, s, e))


def word_spans(text: str, language: str) -> list[tuple[int, int]]:
    """Character spans of the words of ``text`` (Khmer segmented with khmer-nltk); punctuation is no word."""
    spans = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    if language == "km":
        spans = _khmer_spans(text, spans)
    return [(s, e) for s, e in spans if any(ch.isalnum() for ch in text[s:e])]


def _khmer_spans(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    from ..analysis.khmer import segment

    out: list[tuple[int, int]] = []
    for s, e in spans:
        chunk = text[s:e]
        pos = 0
        for word in segment(chunk):
            i = chunk.find(word, pos)
            if i < 0:  # the segmenter changed the text: keep the rest of the chunk as one word
                if pos < len(chunk):
                    out.append((s + pos, e))
                pos = len(chunk)
                break
            out.append((s + i, s + i + len(word)))
            pos = i + len(word)
        if pos < len(chunk) and chunk[pos:].strip():
            out.append((s + pos, e))
    return out


CROP_MIN, CROP_MAX = 0.1, 0.5


def crop(text: str, seed: int, docid: str, slot: int, language: str,
         min_ratio: float = CROP_MIN, max_ratio: float = CROP_MAX) -> Pseudo:
    """Two independent random spans of ``min_ratio``-``max_ratio`` of the words: query, positive."""
    words = word_spans(text, language)
    if len(words) < 2:
        return Pseudo("", "", f"cropping needs a passage of at least 2 words, found {len(words)}")
    rng = random.Random(derive_seed(seed, "crop", docid, slot))

    def span() -> str:
        length = max(1, int(len(words) * rng.uniform(min_ratio, max_ratio)))
        first = rng.randint(0, len(words) - length)
        return text[words[first][0]:words[first + length - 1][1]]

    query = span()
    return Pseudo(query, span())
