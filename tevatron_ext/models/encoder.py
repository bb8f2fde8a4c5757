"""The dense encoder used by training, encoding and search: ONE pooling implementation.

``DenseEncoder`` wraps a Hugging Face backbone (or two, untied) and an :class:`EncoderContract`.
Its forward pass is what the contrastive loss trains; ``encode`` is what indexing and search run
(inference mode, length-sorted batches, mixed precision by ``tevatron_ext.common.device`` rules).
The model lives on ONE device (``load(..., device=)`` or ``to_device``); every batch follows it.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..common.device import autocast, cpu_has_bf16, resolve_device
from ..common.errors import TevatronExtError
from .contract import EncoderContract

bf16_supported = cpu_has_bf16  # the name the benchmarks and older callers use


def pool(last_hidden_state: torch.Tensor, attention_mask: torch.Tensor, pooling: str) -> torch.Tensor:
    """The single pooling implementation: ``cls`` (first token) or ``mean`` over the attention mask."""
    if pooling == "cls":
        return last_hidden_state[:, 0]
    if pooling == "mean":
        mask = attention_mask.unsqueeze(-1).to(last_hidden_state.dtype)
        return (last_hidden_state * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    raise ValueError(f"unknown pooling {pooling!r}")


def _load_error(spec: str | Path, exc: Exception) -> TevatronExtError:
    """One clear error for a model that cannot be loaded: which model, why, and what to do."""
    where = Path(str(spec)).expanduser()
    if where.is_dir():
        fix = (f"{where} is a folder but not a loadable model (expected config.json, weights and tokenizer files, "
               "as written by save_pretrained / `tevatron-ext train`)")
    else:
        fix = (f"{spec!r} looks like a hub id and could not be fetched (no network, or HF_HUB_OFFLINE=1 is set, as the "
               "Makefile does). On a machine with a network run `huggingface-cli download "
               f"{spec} --local-dir DIR`, then pass -m DIR; or use a zoo model (`tevatron-ext models list`)")
    return TevatronExtError(f"cannot load model {str(spec)!r}: {fix}. ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})")


def load_backbone(path: str | Path) -> Any:
    from transformers import AutoModel

    try:
        try:
            return AutoModel.from_pretrained(str(path), add_pooling_layer=False)
        except TypeError:
            return AutoModel.from_pretrained(str(path))
    except (OSError, ValueError) as exc:
        raise _load_error(path, exc) from None


def load_tokenizer(path: str | Path) -> Any:
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(path))
    except (OSError, ValueError) as exc:
        raise _load_error(path, exc) from None


class DenseEncoder(torch.nn.Module):
    def __init__(self, query_model: Any, tokenizer: Any, contract: EncoderContract, passage_model: Any | None = None):
        super().__init__()
        self.query_model = query_model
        # tied: one backbone, registered once (so state dicts hold no shared tensors)
        self.untied_passage_model = passage_model
        self.tokenizer = tokenizer
        self.contract = contract

    @property
    def passage_model(self) -> Any:
        return self.untied_passage_model if self.untied_passage_model is not None else self.query_model

    @property
    def tied(self) -> bool:
        return self.untied_passage_model is None

    # ------------------------------------------------------------------ loading and saving
    @classmethod
    def load(cls, model_dir: str | Path, contract: EncoderContract | None = None, device: Any = "cpu") -> DenseEncoder:
        model_dir = Path(model_dir)
        contract = contract or EncoderContract.load(model_dir)
        if contract.tied:
            enc = cls(load_backbone(model_dir), load_tokenizer(model_dir), contract)
        else:
            enc = cls(load_backbone(model_dir / "query_model"), load_tokenizer(model_dir / "query_model"), contract,
                      load_backbone(model_dir / "passage_model"))
        return enc.to_device(device)

    @classmethod
    def from_hub(cls, hub_id: str, contract: EncoderContract, device: Any = "cpu") -> DenseEncoder:
        """A model by hub id (needs a network or a local HF cache)."""
        return cls(load_backbone(hub_id), load_tokenizer(hub_id), contract).to_device(device)

    # ------------------------------------------------------------------ device
    @property
    def device(self) -> torch.device:
        """Where the model's parameters are; ``encode`` puts every batch here."""
        return next(self.parameters()).device

    def to_device(self, device: Any) -> DenseEncoder:
        """Move the whole model (both towers when untied) to a ``--device`` value (cpu, cuda, cuda:N, auto)."""
        return self.to(resolve_device(device))

    def untie(self) -> None:
        import copy

        if self.tied:
            self.untied_passage_model = copy.deepcopy(self.query_model)
        from dataclasses import replace

        self.contract = replace(self.contract, tied=False)

    def save(self, out_dir: str | Path) -> None:
        """A normal HF model folder (tied) or query_model/ + passage_model/ (untied), with the contract."""
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        if self.tied:
            self.query_model.save_pretrained(str(out_dir))
            self.tokenizer.save_pretrained(str(out_dir))
        else:
            for sub, m in (("query_model", self.query_model), ("passage_model", self.passage_model)):
                m.save_pretrained(str(out_dir / sub))
                self.tokenizer.save_pretrained(str(out_dir / sub))
                self.contract.save(out_dir / sub)
        self.contract.save(out_dir)

    # ------------------------------------------------------------------ forward (training)
    def tokenize(self, texts: Sequence[str], kind: str, max_length: int | None = None) -> dict[str, torch.Tensor]:
        c = self.contract
        prefix = c.query_prefix if kind == "query" else c.passage_prefix
        limit = max_length or (c.query_max_length if kind == "query" else c.passage_max_length)
        return self.tokenizer([prefix + t for t in texts], padding=True, truncation=True, max_length=limit,
                              return_tensors="pt")

    def embed(self, batch: dict[str, torch.Tensor], kind: str) -> torch.Tensor:
        model = self.query_model if kind == "query" else self.passage_model
        out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                    **({"token_type_ids": batch["token_type_ids"]} if "token_type_ids" in batch else {}))
        reps = pool(out.last_hidden_state, batch["attention_mask"], self.contract.pooling)
        if self.contract.normalize:
            reps = torch.nn.functional.normalize(reps, p=2, dim=-1)
        return reps

    def forward(self, query: dict[str, torch.Tensor] | None = None, passage: dict[str, torch.Tensor] | None = None):
        q = self.embed(query, "query") if query is not None else None
        p = self.embed(passage, "passage") if passage is not None else None
        return q, p

    # ------------------------------------------------------------------ inference
    @property
    def dimension(self) -> int:
        return int(self.passage_model.config.hidden_size)

    @torch.inference_mode()
    def encode(self, texts: Sequence[str], kind: str, batch_size: int = 32, precision: str = "fp32",
               sort_by_length: bool = True, progress: bool = False) -> np.ndarray:
        """Embed texts as float32 rows in input order, on the model's device, under ``precision`` autocast
        (``fp32``, ``bf16`` or ``fp16``; see ``tevatron_ext.common.device.resolve_precision``).
        Length-sorted batches waste less padding."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i])) if sort_by_length else list(range(len(texts)))
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        self.eval()
        batches = range(0, len(order), batch_size)
        if progress:
            from tqdm import tqdm

            batches = tqdm(batches, total=math.ceil(len(order) / batch_size), desc=f"encode {kind}s", unit="batch")
        device = self.device
        for start in batches:
            idx = order[start:start + batch_size]
            batch = {k: v.to(device) for k, v in self.tokenize([texts[i] for i in idx], kind).items()}
            with autocast(device, precision):
                reps = self.embed(batch, kind)
            out[idx] = reps.float().cpu().numpy()
        return out

