"""``align probe``: how close translation pairs are at every layer of a model.

For layers 0..L (0 = input embeddings) each word is embedded bare (see
:mod:`tevatron_ext.align.backbone`), and the cosine of every (source, target) pair is summarised
per split (``trained``, ``control``) beside a ``mismatched`` baseline: source i against the target
of pair perm(i), perm a seeded derangement. A layer aligns words only as far as translation pairs
beat mismatched ones; a high raw cosine alone may be anisotropy (all vectors in a narrow cone).

Outputs in ``out/``: ``probe.json``, ``probe.md``, ``probe.png`` and ``manifest.json``.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..common.atomic import atomic_write_json, atomic_write_text, write_manifest
from ..common.errors import ConfigError
from .backbone import Backbone, embed_words, load_model, word_index
from .pairs import WordPairs, load_pairs, resolve_pairs
from .stats import PairCosines, layer_table, pair_cosines


@dataclass(frozen=True)
class ProbeConfig:
    model: str
    pairs: str
    out: str
    batch_size: int = 64
    max_pairs: int | None = None
    seed: int = 0  # of the mismatched-pair derangement
    device: str = "auto"
    load_4bit: bool = False
    progress: bool = True


@dataclass
class Measurement:
    """Per-pair cosines at every layer, the summary table and facts about the words."""

    cosines: PairCosines
    layers: list[dict[str, Any]]
    facts: dict[str, Any]
    seconds: float


def measure(bb: Backbone, pairs: WordPairs, batch_size: int = 64, seed: int = 0, progress: bool = False) -> Measurement:
    """Embed every distinct word of ``pairs`` at every layer and summarise the pair cosines."""
    t0 = time.perf_counter()
    if not pairs.all:
        raise ConfigError("no word pairs to measure")
    words, row = word_index(pairs.all)
    emb, facts = embed_words(bb, words, batch_size, progress)
    cos, pfacts = pair_cosines(emb, row, pairs.trained, pairs.control, seed)
    tokens = facts["tokens"]
    src_rows = [row(s) for s, _ in pairs.all]
    tgt_rows = [row(t) for _, t in pairs.all]
    facts = {
        "num_layers": int(emb.shape[0] - 1),
        "hidden_size": int(emb.shape[2]),
        "distinct_words": len(words),
        "tokens_per_word": {"source": float(np.mean(tokens[src_rows])), "target": float(np.mean(tokens[tgt_rows]))},
        "special_only_words": facts["special_only_words"],
        **pfacts,
    }
    return Measurement(cos, layer_table(cos), facts, time.perf_counter() - t0)


def probe(cfg: ProbeConfig, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the probe and write probe.json, probe.md, probe.png and manifest.json into ``cfg.out``."""
    from .render import probe_markdown, probe_plot

    t0 = time.perf_counter()
    pairs = load_pairs(cfg.pairs).limit(cfg.max_pairs)
    bb = load_model(cfg.model, cfg.device, cfg.load_4bit)
    m = measure(bb, pairs, cfg.batch_size, cfg.seed, cfg.progress)
    if m.facts["num_layers"] != bb.num_layers:
        log(f"note: {m.facts['num_layers'] + 1} hidden states for a {bb.num_layers}-layer config")
    result = {
        "model": str(cfg.model),
        "model_path": str(bb.location),
        "model_type": bb.model_type,
        "pairs": str(cfg.pairs),
        "n_trained": len(pairs.trained),
        "n_control": len(pairs.control),
        "n_mismatched": m.facts["n_mismatched"],
        "seed": cfg.seed,
        "pooling": "mean over word tokens (special tokens and padding excluded), L2-normalised; bare words",
        "layers": m.layers,
        "facts": {k: v for k, v in m.facts.items() if k not in ("n_mismatched",)},
        "seconds": round(time.perf_counter() - t0, 2),
    }
    out = Path(cfg.out)
    atomic_write_json(out / "probe.json", result)
    atomic_write_text(out / "probe.md", probe_markdown(result))
    probe_plot(result, out / "probe.png")
    write_manifest(out, kind="align-probe", seed=cfg.seed, config=asdict(cfg),
                   counts={"trained": result["n_trained"], "control": result["n_control"],
                           "mismatched": result["n_mismatched"], "layers": len(m.layers)},
                   inputs={"pairs": resolve_pairs(cfg.pairs)})
    log(f"wrote {out}/probe.json, probe.md, probe.png ({len(m.layers)} layers, {len(pairs.all)} pairs, "
        f"{result['seconds']:.1f}s)")
    return result
