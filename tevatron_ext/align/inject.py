"""``align inject``: Targeted Lexical Injection (TLI, arXiv 2506.15415).

LoRA adapters on the early transformer blocks are trained so that each trained translation pair's
embeddings at ``target_layer`` (mean-pooled word tokens, L2-normalised, as the probe measures them)
come together against the other pairs of the batch: a symmetric InfoNCE loss,
``(CE(S/T, I) + CE(S^T/T, I)) / 2`` with ``S`` the source x target cosine matrix. Only ``trained``
pairs are seen; ``control`` pairs measure generalisation. The probe runs before and after at every
layer, and paired t-tests compare each pair's cosine at the output layer and at the target layer.

Defaults and where they come from (:data:`DEFAULT_SOURCES`): the paper's target layer (2) and,
as summaries of the paper report them, its LoRA rank 16, alpha 32 and dropout 0.05; the rest is
chosen here.

Outputs in ``out/``: ``inject.json``, ``inject.md``, ``inject.png``, ``adapter/`` (peft), with
``merge`` a full model folder ``merged/`` (tokenizer and, for a dense encoder, its
``encoder_config.json`` copied along), and ``manifest.json``.
"""
from __future__ import annotations

import random
import shutil
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..common.atomic import (
    atomic_dir,
    atomic_write_json,
    atomic_write_text,
    write_manifest,
)
from ..common.errors import ConfigError
from ..models.contract import CONTRACT_FILE, HUB_PRESETS, PRESETS
from .backbone import Backbone, family, forward_pooled, load_model, tokenize_words
from .pairs import Pair, load_pairs, resolve_pairs
from .probe import Measurement, measure
from .stats import SETS, paired_ttest

DEFAULT_SOURCES: dict[str, str] = {
    "target_layer": "paper: layer 2, where its probe found near-perfect alignment",
    "rank": "paper (as summarised): r=16",
    "alpha": "paper (as summarised): alpha=32",
    "dropout": "paper (as summarised): 0.05",
    "layers": "chosen here: blocks 0 and 1, the only blocks below target layer 2 (hidden state l is block l-1's output)",
    "target_modules": "chosen here: all attention projections of the family (summaries of the paper list q_proj,v_proj)",
    "loss": "chosen here: symmetric InfoNCE with in-batch negatives",
    "temperature": "chosen here: 0.05",
    "steps": "chosen here", "lr": "chosen here", "batch_size": "chosen here", "seed": "chosen here",
}


@dataclass(frozen=True)
class InjectConfig:
    model: str
    pairs: str
    out: str
    rank: int = 16
    alpha: int = 32
    dropout: float = 0.05
    layers: tuple[int, ...] = (0, 1)
    target_layer: int = 2
    target_modules: tuple[str, ...] | None = None  # None: the model family's attention projections
    steps: int = 200
    lr: float = 5e-4
    batch_size: int = 32
    temperature: float = 0.05
    seed: int = 0
    merge: bool = False
    max_pairs: int | None = None
    eval_batch_size: int = 64
    device: str = "auto"
    load_4bit: bool = False
    progress: bool = True

    def check(self, num_layers: int) -> None:
        """Reject settings that cannot work on a model with ``num_layers`` blocks."""
        if self.rank < 1 or self.alpha <= 0:
            raise ConfigError("--rank and --alpha must be positive")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"--dropout must be in [0, 1), got {self.dropout}")
        if self.steps < 1 or self.batch_size < 2 or self.lr <= 0 or self.temperature <= 0:
            raise ConfigError("--steps must be >= 1, --batch-size >= 2, --lr and --temperature > 0")
        if not self.layers:
            raise ConfigError("--layers must name at least one block")
        if not 1 <= self.target_layer <= num_layers:
            raise ConfigError(f"--target-layer must be in 1..{num_layers} (0 is the input embeddings, "
                              "which no LoRA block changes)")
        bad = [x for x in self.layers if not 0 <= x < num_layers]
        if bad:
            raise ConfigError(f"--layers {bad} out of range: the model has blocks 0..{num_layers - 1}")
        above = [x for x in self.layers if x >= self.target_layer]
        if above:
            raise ConfigError(f"--layers {above} are at or above --target-layer {self.target_layer}: hidden state "
                              f"{self.target_layer} is the output of block {self.target_layer - 1}, so those blocks "
                              "cannot change it")
        if self.merge and self.load_4bit:
            raise ConfigError("--merge with --load-4bit is not supported: merge the adapter into the float model")


def info_nce(src: Any, tgt: Any, temperature: float) -> Any:
    """Symmetric InfoNCE over in-batch negatives; ``src[i]`` and ``tgt[i]`` are unit vectors of a pair."""
    import torch

    logits = src @ tgt.T / temperature
    labels = torch.arange(src.shape[0], device=src.device)
    return (torch.nn.functional.cross_entropy(logits, labels) + torch.nn.functional.cross_entropy(logits.T, labels)) / 2


def sample_batch(pairs: list[Pair], batch_size: int, rng: random.Random) -> list[Pair]:
    """Up to ``batch_size`` distinct pairs, none sharing a source or a target word (no false negatives)."""
    batch: list[Pair] = []
    srcs: set[str] = set()
    tgts: set[str] = set()
    for i in rng.sample(range(len(pairs)), k=len(pairs)):
        s, t = pairs[i]
        if s in srcs or t in tgts:
            continue
        batch.append(pairs[i])
        srcs.add(s)
        tgts.add(t)
        if len(batch) == batch_size:
            break
    return batch


def _ttests(before: Measurement, after: Measurement, layer: int) -> dict[str, Any]:
    """Paired t-tests per set at ``layer``, and each split's margin over the mismatched baseline.

    The margin matters where raw cosines mislead: if mismatched pairs move as much as translation
    pairs, the injection changed the geometry (anisotropy), not the alignment.
    """
    tests: dict[str, Any] = {"layer": layer}
    for name in SETS:
        tests[name] = paired_ttest(after.cosines.get(name)[layer], before.cosines.get(name)[layer])
    margin: dict[str, Any] = {}
    for name in ("trained", "control"):
        t, m = tests[name], tests["mismatched"]
        margin[name] = {when: (None if t[f"mean_{when}"] is None or m[f"mean_{when}"] is None
                               else t[f"mean_{when}"] - m[f"mean_{when}"]) for when in ("before", "after")}
    tests["margin_over_mismatched"] = margin
    return tests


def _train(bb: Backbone, peft_model: Any, trained: list[Pair], cfg: InjectConfig,
           log: Callable[[str], None]) -> dict[str, Any]:
    import torch

    rng = random.Random(cfg.seed)
    params = [p for p in peft_model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr)
    losses: list[float] = []
    steps: Any = range(cfg.steps)
    bar = None
    if cfg.progress:
        from tqdm import tqdm

        steps = bar = tqdm(steps, desc="inject", unit="step")
    peft_model.train()
    t0 = time.perf_counter()
    for _ in steps:
        batch = sample_batch(trained, cfg.batch_size, rng)
        inputs, mask, _ = tokenize_words(bb, [s for s, _ in batch] + [t for _, t in batch])
        (reps,) = forward_pooled(bb, inputs, mask, [cfg.target_layer])
        loss = info_nce(reps[:len(batch)], reps[len(batch):], cfg.temperature)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        losses.append(float(loss.detach()))
        if bar is not None:
            bar.set_postfix(loss=f"{losses[-1]:.4f}")
    peft_model.eval()
    window = max(1, min(10, len(losses) // 5))
    first, last = sum(losses[:window]) / window, sum(losses[-window:]) / window
    log(f"trained {cfg.steps} steps in {time.perf_counter() - t0:.1f}s: loss {first:.4f} -> {last:.4f}")
    return {"steps": cfg.steps, "loss_first": first, "loss_last": last, "loss_window": window,
            "losses": [round(x, 6) for x in losses], "seconds": round(time.perf_counter() - t0, 2)}


def _save_merged(bb: Backbone, peft_model: Any, dest: Path, cfg: InjectConfig) -> Path:
    from transformers import AutoTokenizer

    merged = peft_model.merge_and_unload()
    with atomic_dir(dest) as tmp:
        merged.save_pretrained(str(tmp))
        AutoTokenizer.from_pretrained(str(bb.location)).save_pretrained(str(tmp))  # fresh: no padding tweaks
        if isinstance(bb.location, Path) and (bb.location / CONTRACT_FILE).is_file():
            shutil.copy2(bb.location / CONTRACT_FILE, tmp / CONTRACT_FILE)
        elif str(bb.location) in HUB_PRESETS:  # a hub encoder with a known contract stays a dense encoder
            PRESETS[HUB_PRESETS[str(bb.location)]].save(tmp)
        write_manifest(dest, kind="model", manifest=tmp / "manifest.json",
                       config={"name": dest.name, "kind": bb.family.kind if bb.family else None,
                               "source": f"{cfg.model} + Targeted Lexical Injection (LoRA merged)",
                               "base_model": str(bb.location)})
    return dest


def inject(cfg: InjectConfig, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train the injection, probe before and after, test, and write everything into ``cfg.out``."""
    import torch
    from peft import LoraConfig, get_peft_model

    t0 = time.perf_counter()
    if cfg.merge and cfg.load_4bit:
        raise ConfigError("--merge with --load-4bit is not supported: merge the adapter into the float model")
    pairs = load_pairs(cfg.pairs).limit(cfg.max_pairs)
    if len(pairs.trained) < 2:
        raise ConfigError(f"{cfg.pairs}: {len(pairs.trained)} trained pairs; InfoNCE needs at least 2")
    bb = load_model(cfg.model, cfg.device, cfg.load_4bit)
    fam = family(bb.model_type)
    cfg.check(bb.num_layers)
    torch.manual_seed(cfg.seed)

    before = measure(bb, pairs, cfg.eval_batch_size, cfg.seed, cfg.progress)
    log(f"probed before in {before.seconds:.1f}s")
    if cfg.load_4bit:
        from peft import prepare_model_for_kbit_training

        prepare_model_for_kbit_training(bb.model, use_gradient_checkpointing=False)
    targets = list(cfg.target_modules or fam.lora_targets)
    lora = LoraConfig(r=cfg.rank, lora_alpha=cfg.alpha, lora_dropout=cfg.dropout, target_modules=targets,
                      layers_to_transform=list(cfg.layers), layers_pattern=fam.layers_pattern, bias="none")
    try:
        with warnings.catch_warnings():  # peft asks transformers a deprecated question; not ours to fix
            warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
            peft_model = get_peft_model(bb.model, lora)
    except ValueError as exc:
        raise ConfigError(f"cannot place LoRA on {targets} of layers {list(cfg.layers)} "
                          f"(model_type {bb.model_type}): {exc}") from None
    trainable = sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
    log(f"LoRA r={cfg.rank} on {','.join(targets)} of blocks {list(cfg.layers)}: {trainable:,} trainable parameters")

    train = _train(bb, peft_model, pairs.trained, cfg, log)
    after = measure(bb, pairs, cfg.eval_batch_size, cfg.seed, cfg.progress)
    log(f"probed after in {after.seconds:.1f}s")

    out = Path(cfg.out)
    with atomic_dir(out / "adapter") as tmp:
        peft_model.save_pretrained(str(tmp))
    merged = str(_save_merged(bb, peft_model, out / "merged", cfg)) if cfg.merge else None

    num_layers = before.cosines.num_layers
    result = {
        "model": str(cfg.model),
        "model_path": str(bb.location),
        "model_type": bb.model_type,
        "pairs": str(cfg.pairs),
        "n_trained": len(pairs.trained),
        "n_control": len(pairs.control),
        "n_mismatched": before.facts["n_mismatched"],
        "config": asdict(cfg),
        "default_sources": DEFAULT_SOURCES,
        "lora": {"target_modules": targets, "layers_to_transform": list(cfg.layers),
                 "layers_pattern": fam.layers_pattern, "trainable_parameters": trainable},
        "train": train,
        "tests": {"output_layer": _ttests(before, after, num_layers),
                  "target_layer": _ttests(before, after, cfg.target_layer)},
        "before": {"layers": before.layers, "seconds": round(before.seconds, 2)},
        "after": {"layers": after.layers, "seconds": round(after.seconds, 2)},
        "facts": {k: v for k, v in before.facts.items() if k != "n_mismatched"},
        "adapter": str(out / "adapter"),
        "merged": merged,
        "seconds": round(time.perf_counter() - t0, 2),
    }
    from .render import inject_markdown, inject_plot

    atomic_write_json(out / "inject.json", result)
    atomic_write_text(out / "inject.md", inject_markdown(result))
    inject_plot(result, out / "inject.png")
    write_manifest(out, kind="align-inject", seed=cfg.seed, config=asdict(cfg),
                   counts={"trained": len(pairs.trained), "control": len(pairs.control), "steps": cfg.steps},
                   inputs={"pairs": resolve_pairs(cfg.pairs)})
    log(f"wrote {out}/inject.json, inject.md, inject.png, adapter/" + (", merged/" if merged else "")
        + f" ({result['seconds']:.1f}s)")
    return result
