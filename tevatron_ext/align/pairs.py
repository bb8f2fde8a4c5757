"""Translation word pairs for alignment probes and injection.

A pair list is a UTF-8 TSV, one pair a line::

    source<TAB>target[<TAB>category[<TAB>split]]

``split`` is ``trained`` (used to train an injection) or ``control`` (held out). Without a split
column, a pair's split is fixed by a salted SHA-256 of the pair (about 10% ``control``): it never
depends on file order, so adding pairs does not move the others. An optional header line starting
``source<TAB>target`` is skipped, as are blank lines and lines starting ``#``. Fields are
stripped and NFC-normalised. Every data line must have the same number of columns (2 to 4), no
field may be empty, and a (source, target) pair may appear once.

``am-en`` and ``km-en`` name the lists shipped in the package
(``tevatron_ext/collections/data/demo/{am,km}/words.tsv``: Amharic or Khmer source, English target).
"""
from __future__ import annotations

import hashlib
import importlib.resources
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ..common.errors import ConfigError, InputError

SPLITS = ("trained", "control")
# Shipped lists: spec -> language folder under collections/data/demo.
SHIPPED: dict[str, str] = {"am-en": "am", "km-en": "km"}
SPLIT_SALT = "tevatron_ext.align.pairs/v1"
CONTROL_SHARE = 10  # one pair in CONTROL_SHARE goes to control when the file has no split column

Pair = tuple[str, str]


@dataclass(frozen=True)
class WordPairs:
    """Translation pairs split into ``trained`` (for injection) and ``control`` (held out)."""

    trained: list[Pair]
    control: list[Pair]
    source: str = ""  # the spec or path the pairs came from

    def limit(self, max_pairs: int | None) -> WordPairs:
        """At most ``max_pairs`` pairs of each split, in file order."""
        if max_pairs is None:
            return self
        if max_pairs < 1:
            raise ConfigError(f"--max-pairs must be positive, got {max_pairs}")
        return WordPairs(self.trained[:max_pairs], self.control[:max_pairs], self.source)

    @property
    def all(self) -> list[Pair]:
        return [*self.trained, *self.control]


def hashed_split(src: str, tgt: str) -> str:
    """The split of a pair in a file without a split column: fixed by a salted hash of the pair."""
    digest = hashlib.sha256(f"{SPLIT_SALT}\t{src}\t{tgt}".encode()).digest()
    return "control" if int.from_bytes(digest[:8], "big") % CONTROL_SHARE == 0 else "trained"


def shipped_path(spec: str) -> Path:
    lang = SHIPPED[spec]
    root = importlib.resources.files("tevatron_ext.collections").joinpath(f"data/demo/{lang}/words.tsv")
    return Path(str(root))


def resolve_pairs(spec: str | Path) -> Path:
    """The TSV a pair spec names: a shipped list (``am-en``, ``km-en``) or a path."""
    key = str(spec)
    if key in SHIPPED:
        path = shipped_path(key)
        if not path.is_file():
            raise InputError(path, None, f"the shipped word list for {key!r} is missing from this installation")
        return path
    path = Path(key).expanduser()
    if path.is_file():
        return path
    raise ConfigError(f"pairs {key!r} is neither a shipped list ({', '.join(SHIPPED)}) nor an existing TSV file")


def load_pairs(spec: str | Path) -> WordPairs:
    """Read and validate a pair list; raise :class:`InputError` naming file and line on a malformed line."""
    from ..common.formats import iter_lines

    path = resolve_pairs(spec)
    ncols: int | None = None
    seen: dict[Pair, int] = {}
    out: dict[str, list[Pair]] = {s: [] for s in SPLITS}
    first = True
    for lineno, line in iter_lines(path):  # BOM, CRLF, invalid UTF-8 and giant lines handled there
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = [unicodedata.normalize("NFC", f.strip()) for f in line.split("\t")]
        if first and [f.lower() for f in fields[:2]] == ["source", "target"]:
            first = False
            if not 2 <= len(fields) <= 4:
                raise InputError(path, lineno, f"header has {len(fields)} columns; expected 2 to 4 "
                                 "(source, target[, category[, split]])")
            ncols = len(fields)
            continue
        first = False
        if not 2 <= len(fields) <= 4:
            raise InputError(path, lineno, f"{len(fields)} tab-separated columns; expected 2 to 4 "
                             "(source, target[, category[, split]])")
        if ncols is None:
            ncols = len(fields)
        elif len(fields) != ncols:
            raise InputError(path, lineno, f"{len(fields)} columns; expected {ncols} like the lines before")
        empty = [name for name, f in zip(("source", "target", "category", "split"), fields) if not f]
        if empty:
            raise InputError(path, lineno, f"empty field: {', '.join(empty)}")
        pair = (fields[0], fields[1])
        if pair in seen:
            raise InputError(path, lineno, f"duplicate pair {pair[0]!r} -> {pair[1]!r} (first on line {seen[pair]})")
        seen[pair] = lineno
        if ncols == 4:
            split = fields[3].lower()
            if split not in SPLITS:
                raise InputError(path, lineno, f"split must be one of {SPLITS}, got {fields[3]!r}")
        else:
            split = hashed_split(*pair)
        out[split].append(pair)
    if not seen:
        raise InputError(path, None, "no word pairs")
    return WordPairs(out["trained"], out["control"], str(spec))
