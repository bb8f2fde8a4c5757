"""Tevatron-style fine-tuning on Hugging Face's ``Trainer``.

The Trainer brings mixed precision, gradient accumulation, checkpointing, gradient checkpointing,
schedulers, logging and torchrun/accelerate multi-GPU; this module adds the dense encoder (tied or
untied, pooling and prefixes from the encoder contract), the group collator and the loss.
A killed run resumes from its last checkpoint; the final folder is a normal HF model + tokenizer +
``encoder_config.json``, written atomically with a manifest.
"""
from __future__ import annotations

import json
import resource
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import torch

from ..common.atomic import atomic_dir, inputs_unchanged, read_manifest, write_manifest
from ..common.errors import ConfigError, InputError
from .data import GroupDataset, read_train_examples
from .loss import distributed_contrastive_loss

VOCAB_EXTENSION_FILE = "vocab_extension.json"


@dataclass
class TrainConfig:
    """Everything ``tevatron-ext train`` needs, and nothing else."""

    model: str
    train_files: list[str]
    out: str
    group_size: int = 2  # 1 positive + (group_size - 1) hard negatives
    batch_size: int = 16  # queries per device per step
    epochs: float = 1.0
    max_steps: int = -1
    learning_rate: float = 2e-5
    warmup_ratio: float = 0.1
    weight_decay: float = 0.0
    lr_scheduler: str = "linear"
    temperature: float | None = None  # default: the contract's
    query_max_length: int | None = None
    passage_max_length: int | None = None
    untied: bool = False
    freeze_word_embeddings: bool = False
    bf16: bool = False
    fp16: bool = False
    gradient_accumulation_steps: int = 1
    gradient_checkpointing: bool = False
    save_steps: int = 500
    save_total_limit: int = 2
    logging_steps: int = 10
    seed: int = 42
    device: str = "cpu"
    resume: bool = True

    @classmethod
    def from_file(cls, path: str | Path, **overrides: Any) -> TrainConfig:
        """Read a YAML or JSON config (unknown keys are errors); CLI flags override it."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(path, None, f"cannot read: {exc.strerror}") from None
        import yaml

        try:
            data = yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else json.loads(text)
        except (yaml.YAMLError, ValueError) as exc:
            raise InputError(path, getattr(getattr(exc, "problem_mark", None), "line", None), f"invalid config: {exc}") from None
        if not isinstance(data, dict):
            raise InputError(path, 1, "expected a mapping of training options")
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise InputError(path, None, f"unknown training options {sorted(unknown)}; known: {sorted(known)}")
        data.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**data)

    def validate(self) -> None:
        if self.group_size < 1:
            raise ConfigError("group_size must be >= 1 (it counts the positive)")
        if self.bf16 and self.fp16:
            raise ConfigError("choose bf16 or fp16, not both")
        if self.temperature is not None and self.temperature <= 0:
            raise ConfigError("temperature must be positive")


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (Linux >= 4.0), so that a training step run inside a longer process (the
    recipe runner) reports its own peak, not the process's; False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _peak_rss_mb(scope: str) -> float:
    if scope == "training":
        try:
            with open("/proc/self/status") as fh:
                for line in fh:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _collator(encoder, group_size: int):
    def collate(rows: list[dict[str, Any]]) -> dict[str, Any]:
        queries = [r["query"] for r in rows]
        passages = [p for r in rows for p in r["passages"]]
        return {"query": dict(encoder.tokenize(queries, "query")), "passage": dict(encoder.tokenize(passages, "passage"))}

    return collate


def _trainer_class():
    from transformers import Trainer, TrainerCallback

    class EpochCallback(TrainerCallback):
        def __init__(self, dataset: GroupDataset):
            self.dataset = dataset

        def on_epoch_begin(self, args, state, control, **kwargs):
            self.dataset.set_epoch(int(state.epoch or 0))

    class DenseTrainer(Trainer):
        group_size: int = 2
        temperature: float = 1.0

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            q, p = model(query=inputs["query"], passage=inputs["passage"])
            loss = distributed_contrastive_loss(q, p, self.group_size, self.temperature)
            return (loss, (q, p)) if return_outputs else loss

    return DenseTrainer, EpochCallback


def last_checkpoint(work_dir: Path) -> Path | None:
    ckpts = sorted(work_dir.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1]) if p.name.split("-")[-1].isdigit() else -1)
    complete = [c for c in ckpts if (c / "trainer_state.json").is_file()]
    return complete[-1] if complete else None


def train(cfg: TrainConfig) -> dict[str, Any]:
    """Fine-tune; returns the manifest of the final model folder (skips if it is already complete)."""
    from transformers import TrainingArguments

    from ..models.zoo import load_encoder, resolve, resolve_contract

    cfg.validate()
    out = Path(cfg.out)
    done = read_manifest(out)
    if done is not None and done.get("config", {}).get("train_config") == asdict(cfg) and inputs_unchanged(done):
        return done
    src = resolve(cfg.model)
    if cfg.freeze_word_embeddings and isinstance(src, Path) and (src / VOCAB_EXTENSION_FILE).exists():
        raise ConfigError("this model's vocabulary was extended: its new embedding rows must train, "
                          "so --freeze-word-embeddings cannot be used")
    contract = resolve_contract(cfg.model)
    contract = replace(contract, **{k: v for k, v in (("query_max_length", cfg.query_max_length),
                                                       ("passage_max_length", cfg.passage_max_length),
                                                       ("temperature", cfg.temperature)) if v is not None})
    examples = read_train_examples(cfg.train_files)
    encoder = load_encoder(cfg.model, contract)
    if cfg.untied:
        encoder.untie()
    if cfg.freeze_word_embeddings:
        for m in {id(encoder.query_model): encoder.query_model, id(encoder.passage_model): encoder.passage_model}.values():
            m.get_input_embeddings().weight.requires_grad_(False)
    if cfg.gradient_checkpointing:
        for m in {id(encoder.query_model): encoder.query_model, id(encoder.passage_model): encoder.passage_model}.values():
            m.gradient_checkpointing_enable()
    dataset = GroupDataset(examples, cfg.group_size, cfg.seed)
    work = out.with_name(out.name + ".work")
    work.mkdir(parents=True, exist_ok=True)
    args = TrainingArguments(
        output_dir=str(work), per_device_train_batch_size=cfg.batch_size, num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps, learning_rate=cfg.learning_rate, warmup_steps=cfg.warmup_ratio,  # < 1: a ratio (transformers 5)
        weight_decay=cfg.weight_decay, lr_scheduler_type=cfg.lr_scheduler, bf16=cfg.bf16, fp16=cfg.fp16,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps, save_strategy="steps", save_steps=cfg.save_steps,
        save_total_limit=cfg.save_total_limit, logging_steps=cfg.logging_steps, seed=cfg.seed, data_seed=cfg.seed,
        report_to="none", remove_unused_columns=False, dataloader_num_workers=0, use_cpu=cfg.device == "cpu",
        disable_tqdm=False, save_only_model=False,
    )
    DenseTrainer, EpochCallback = _trainer_class()
    trainer = DenseTrainer(model=encoder, args=args, train_dataset=dataset, data_collator=_collator(encoder, cfg.group_size),
                           callbacks=[EpochCallback(dataset)])
    trainer.group_size = cfg.group_size
    trainer.temperature = contract.temperature
    resume = last_checkpoint(work) if cfg.resume else None
    rss_scope = "training" if _reset_peak_rss() else "process"
    t0 = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    seconds = time.perf_counter() - t0
    peak_mb = _peak_rss_mb(rss_scope)
    steps = trainer.state.global_step
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    with atomic_dir(out) as tmp:
        encoder.contract = contract = replace(contract, tied=encoder.tied)
        encoder.save(tmp)
        write_manifest(out, kind="model", manifest=tmp / "manifest.json",
                       counts={"examples": len(examples), "steps": steps},
                       inputs={**{f"train{i}": Path(f) for i, f in enumerate(cfg.train_files)},
                               **({"base_model_manifest": src / "manifest.json"}
                                  if isinstance(src, Path) and (src / "manifest.json").is_file() else {})},
                       config={"train_config": asdict(cfg), "base_model": str(src), "contract": contract.to_dict()},
                       seed=cfg.seed,
                       extra={"metrics": {k: v for k, v in result.metrics.items() if isinstance(v, (int, float))},
                              "resumed_from": str(resume) if resume else None,
                              "seconds_this_run": round(seconds, 2), "peak_rss_mb": round(peak_mb, 1), "peak_rss_scope": rss_scope,
                              "loss_first": losses[0] if losses else None, "loss_last": losses[-1] if losses else None})
    import shutil

    shutil.rmtree(work, ignore_errors=True)
    return read_manifest(out) or {}


def config_from_cli(**kw: Any) -> TrainConfig:
    cfg_file = kw.pop("config", None)
    kw = {k: v for k, v in kw.items() if v is not None}
    if cfg_file:
        return TrainConfig.from_file(cfg_file, **kw)
    missing = [k for k in ("model", "train_files", "out") if not kw.get(k)]
    if missing:
        raise ConfigError(f"missing {missing} (give them as options or in --config)")
    return TrainConfig(**kw)


__all__ = ["TrainConfig", "train", "last_checkpoint", "config_from_cli", "field", "torch"]
