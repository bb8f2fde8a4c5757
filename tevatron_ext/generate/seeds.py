"""Explicit, stable seeds: never Python's salted ``hash()``, never global random state."""
from __future__ import annotations

import hashlib


def derive_seed(seed: int, *parts: object) -> int:
    """A 63-bit seed from ``seed`` and any parts (ids, slots, batch starts), stable across runs and machines."""
    body = "\x1f".join([str(seed), *(str(p) for p in parts)])
    return int.from_bytes(hashlib.sha256(body.encode("utf-8")).digest()[:8], "big") >> 1
