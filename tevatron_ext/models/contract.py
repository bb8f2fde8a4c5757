"""The encoder contract: how a dense retriever turns text into vectors, saved beside the weights.

Every model folder the project writes or prepares carries ``encoder_config.json``; encode, search
and train read it, and refuse flags that contradict it.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from ..common.atomic import atomic_write_json
from ..common.errors import ConfigError, InputError

CONTRACT_FILE = "encoder_config.json"
POOLINGS = ("cls", "mean")
SIMILARITIES = ("dot",)  # inner product; with normalize=True this is cosine


@dataclass(frozen=True)
class EncoderContract:
    pooling: str = "cls"
    normalize: bool = False
    query_prefix: str = ""
    passage_prefix: str = ""
    query_max_length: int = 64
    passage_max_length: int = 256
    similarity: str = "dot"
    tied: bool = True
    temperature: float = 1.0  # the training temperature; does not change rankings
    preset: str | None = None

    def __post_init__(self) -> None:
        if self.pooling not in POOLINGS:
            raise ConfigError(f"pooling must be one of {POOLINGS}, got {self.pooling!r}")
        if self.similarity not in SIMILARITIES:
            raise ConfigError(f"similarity must be one of {SIMILARITIES}, got {self.similarity!r}")
        if self.query_max_length < 1 or self.passage_max_length < 1:
            raise ConfigError("max lengths must be positive")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def save(self, model_dir: str | Path) -> Path:
        return atomic_write_json(Path(model_dir) / CONTRACT_FILE, self.to_dict())

    @classmethod
    def from_dict(cls, d: dict[str, Any], path: str | Path | None = None, text: str | None = None) -> EncoderContract:
        """Validate every field (type and range); errors name the file and, given the text, the line."""

        def line_of(key: str) -> int | None:
            if text is None:
                return None
            for n, line in enumerate(text.splitlines(), start=1):
                if f'"{key}"' in line:
                    return n
            return None

        known = {f.name for f in fields(cls)}
        for key in d:
            if key not in known:
                raise InputError(path, line_of(key), f"unknown encoder-contract field {key!r}; known: {sorted(known)}")
        for key in REQUIRED_FIELDS:
            if key not in d:
                raise InputError(path, None, f"missing field {key!r}: a contract must say how it pools and normalises")
        for key, value in d.items():
            problem = _field_problem(key, value)
            if problem:
                raise InputError(path, line_of(key), f"field {key!r}: {problem}")
        try:
            return cls(**d)
        except (TypeError, ConfigError) as exc:
            raise InputError(path, None, f"invalid encoder contract: {exc}") from None

    @classmethod
    def load(cls, model_dir: str | Path) -> EncoderContract:
        from ..common.formats import read_utf8

        p = Path(model_dir) / CONTRACT_FILE
        text = read_utf8(p, "no encoder contract (encoder_config.json) in this model folder")
        try:
            d = json.loads(text, parse_constant=lambda c: _reject_constant(p, text, c))
        except ValueError as exc:
            raise InputError(p, getattr(exc, "lineno", None), f"invalid JSON: {exc}") from None
        if not isinstance(d, dict):
            raise InputError(p, 1, "expected a JSON object")
        return cls.from_dict(d, p, text)

    def merged(self, **overrides: Any) -> EncoderContract:
        """Apply command-line flags; a flag that contradicts the contract is an error, not a silent override."""
        given = {k: v for k, v in overrides.items() if v is not None}
        conflicts = {k: (getattr(self, k), v) for k, v in given.items()
                     if k in ("pooling", "normalize", "query_prefix", "passage_prefix", "similarity") and getattr(self, k) != v}
        if conflicts:
            desc = ", ".join(f"{k}: contract {a!r} vs flag {b!r}" for k, (a, b) in conflicts.items())
            raise ConfigError(f"flags conflict with the model's encoder contract ({desc}); "
                              "drop the flags or edit encoder_config.json")
        return replace(self, **given)


REQUIRED_FIELDS = ("pooling", "normalize")
_TYPES: dict[str, tuple[type, ...]] = {
    "pooling": (str,), "normalize": (bool,), "query_prefix": (str,), "passage_prefix": (str,),
    "query_max_length": (int,), "passage_max_length": (int,), "similarity": (str,), "tied": (bool,),
    "temperature": (int, float), "preset": (str, type(None)),
}


def _field_problem(key: str, value: Any) -> str | None:
    import math

    types = _TYPES[key]
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        return f"expected {' or '.join('null' if t is type(None) else t.__name__ for t in types)}, got {value!r}"
    if key in ("query_max_length", "passage_max_length") and value < 1:
        return f"must be a positive integer, got {value}"
    if key == "temperature" and not (math.isfinite(value) and value > 0):
        return f"must be a finite positive number, got {value}"
    if key == "pooling" and value not in POOLINGS:
        return f"must be one of {POOLINGS}, got {value!r}"
    if key == "similarity" and value not in SIMILARITIES:
        return f"must be one of {SIMILARITIES}, got {value!r}"
    return None


def _reject_constant(path: Path, text: str, constant: str) -> Any:
    line = next((n for n, l in enumerate(text.splitlines(), start=1) if constant in l), None)
    raise InputError(path, line, f"{constant} is not a valid value in an encoder contract")


PRESETS: dict[str, EncoderContract] = {
    # mDPR as MIRACL used it: CLS pooling, no normalisation, no prefixes, tied encoder.
    "mdpr": EncoderContract(pooling="cls", normalize=False, query_max_length=64, passage_max_length=256, preset="mdpr"),
    "multilingual-e5": EncoderContract(pooling="mean", normalize=True, query_prefix="query: ", passage_prefix="passage: ",
                                       query_max_length=64, passage_max_length=256, temperature=0.01,
                                       preset="multilingual-e5"),
    "bge-m3": EncoderContract(pooling="cls", normalize=True, query_max_length=64, passage_max_length=512,
                              temperature=0.02, preset="bge-m3"),
}

# Hub ids whose contract is known (explicit table, never a substring match on a name).
HUB_PRESETS: dict[str, str] = {
    "castorini/mdpr-tied-pft-msmarco": "mdpr",
    "castorini/mdpr-tied-pft-msmarco-ft-all": "mdpr",
    "castorini/mdpr-tied-pft-msmarco-ft-miracl-sw": "mdpr",
    "intfloat/multilingual-e5-small": "multilingual-e5",
    "intfloat/multilingual-e5-base": "multilingual-e5",
    "intfloat/multilingual-e5-large": "multilingual-e5",
    "BAAI/bge-m3": "bge-m3",
}


def preset(name: str) -> EncoderContract:
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"unknown contract preset {name!r}; known: {', '.join(PRESETS)}") from None
