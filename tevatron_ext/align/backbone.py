"""Loading a model for alignment work, and embedding bare words at every layer.

A word's embedding at layer ``l`` is the mean of ``hidden_states[l]`` over the word's own tokens,
L2-normalised (layer 0 = the input embeddings). Special tokens the tokenizer adds (CLS/SEP, BOS/EOS)
and padding are left out of the mean: every word shares them, and in causal LMs the BOS state is a
huge "attention sink" vector, so including it makes all words look alike. Words are embedded bare:
no query/passage prefix from an encoder contract (a shared prefix would inflate similarity the
same way). Pooling is :func:`tevatron_ext.models.encoder.pool` (``mean``) over that word mask.

Model families (by ``config.model_type``, an explicit table) decide the loading class and the LoRA
target modules; a probe also accepts other types (loaded with ``AutoModel``), an injection does not.
"""
from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..common.errors import ConfigError, TevatronExtError

MAX_WORD_TOKENS = 32  # a word longer than this (in tokens) is truncated

ENCODER = "encoder"
CAUSAL_LM = "causal-lm"
_BERT_ATTENTION = ("query", "key", "value")
_DECODER_ATTENTION = ("q_proj", "k_proj", "v_proj", "o_proj")


@dataclass(frozen=True)
class Family:
    """How to load one ``model_type`` and where LoRA goes in it."""

    kind: str  # ENCODER | CAUSAL_LM
    lora_targets: tuple[str, ...]  # attention projections (BERT's output projection is named like its FFN's)
    layers_pattern: str  # the module-path segment before the block index (peft ``layers_pattern``)


FAMILIES: dict[str, Family] = {
    "bert": Family(ENCODER, _BERT_ATTENTION, "layer"),
    "roberta": Family(ENCODER, _BERT_ATTENTION, "layer"),
    "xlm-roberta": Family(ENCODER, _BERT_ATTENTION, "layer"),
    "llama": Family(CAUSAL_LM, _DECODER_ATTENTION, "layers"),
    "mistral": Family(CAUSAL_LM, _DECODER_ATTENTION, "layers"),
    "qwen2": Family(CAUSAL_LM, _DECODER_ATTENTION, "layers"),
    "gemma": Family(CAUSAL_LM, _DECODER_ATTENTION, "layers"),
    "gemma2": Family(CAUSAL_LM, _DECODER_ATTENTION, "layers"),
    "gemma3_text": Family(CAUSAL_LM, _DECODER_ATTENTION, "layers"),
}


def family(model_type: str) -> Family:
    try:
        return FAMILIES[model_type]
    except KeyError:
        raise ConfigError(f"no alignment family for model_type {model_type!r}; known: {', '.join(FAMILIES)}") from None


@dataclass
class Backbone:
    """A loaded model, its tokenizer and what the alignment code needs to know about it."""

    model: Any  # the object saved when merging (BertModel, Gemma3ForCausalLM, ...)
    tokenizer: Any
    model_type: str
    family: Family | None
    location: Path | str  # resolved folder or hub id
    device: str
    quantized: bool = False

    @property
    def body(self) -> Any:
        """The transformer stack (``model.model`` of a causal LM, the model itself for an encoder)."""
        return self.model.base_model

    @property
    def num_layers(self) -> int:
        return int(self.model.config.num_hidden_layers)


def pick_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def load_model(spec: str | Path, device: str = "auto", load_4bit: bool = False) -> Backbone:
    """A zoo name, model folder or hub id, loaded in eval mode (float32, or NF4 with ``load_4bit``)."""
    import torch
    from transformers import AutoConfig, AutoModel, AutoModelForCausalLM, AutoTokenizer

    from ..models.encoder import load_backbone
    from ..models.zoo import resolve

    loc = resolve(spec)
    device = pick_device(device)
    config = AutoConfig.from_pretrained(str(loc))
    fam = FAMILIES.get(config.model_type)
    kwargs: dict[str, Any] = {}
    if load_4bit:
        if importlib.util.find_spec("bitsandbytes") is None:
            raise ConfigError("--load-4bit needs bitsandbytes (pip install bitsandbytes); it is optional, "
                              "drop the flag to load in float32")
        if not torch.cuda.is_available() or not device.startswith("cuda"):
            raise ConfigError("--load-4bit needs a CUDA GPU (bitsandbytes NF4); drop the flag on CPU")
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16)
        kwargs["device_map"] = {"": device if ":" in device else f"{device}:0"}
    try:
        if fam is not None and fam.kind == CAUSAL_LM:
            model = AutoModelForCausalLM.from_pretrained(str(loc), **kwargs)
        elif fam is not None and not kwargs:
            model = load_backbone(loc)
        else:
            model = AutoModel.from_pretrained(str(loc), **kwargs)
    except OSError as exc:
        raise TevatronExtError(f"cannot load model {spec!r} from {loc}: {exc}") from None
    if not load_4bit:
        model = model.float().to(device)
    model.eval()
    tok = AutoTokenizer.from_pretrained(str(loc))
    if tok.pad_token is None:
        # only for batching: pad positions are masked out of every mean; the saved tokenizer is reloaded fresh
        tok.pad_token = tok.eos_token or tok.unk_token
        if tok.pad_token is None:
            raise ConfigError(f"the tokenizer of {spec!r} has no pad, eos or unk token to pad batches with")
    return Backbone(model, tok, config.model_type, fam, loc, device, load_4bit)


def tokenize_words(bb: Backbone, words: Sequence[str]) -> tuple[dict[str, Any], Any, int]:
    """Model inputs (right-padded), the word-token mask (no specials, no padding) and the fallback count."""
    import torch

    enc = bb.tokenizer(list(words), padding=True, truncation=True, max_length=MAX_WORD_TOKENS,
                       return_special_tokens_mask=True, return_tensors="pt", padding_side="right")
    special = enc.pop("special_tokens_mask").bool()
    tok = bb.tokenizer
    added = {i for i in (tok.bos_token_id, tok.eos_token_id, tok.cls_token_id, tok.sep_token_id, tok.pad_token_id)
             if i is not None}
    if added:
        special |= torch.isin(enc["input_ids"], torch.tensor(sorted(added)))
    attention = enc["attention_mask"].bool()
    mask = attention & ~special
    empty = ~mask.any(dim=1)  # a word made only of special tokens: fall back to all its tokens
    if empty.any():
        mask[empty] = attention[empty]
    inputs = {k: v.to(bb.device) for k, v in enc.items()}
    return inputs, mask.to(bb.device).long(), int(empty.sum())


def pooled_layers(bb: Backbone, words: Sequence[str], layers: Sequence[int] | None = None) -> list[Any]:
    """L2-normalised mean-pooled word embeddings, one ``[len(words), hidden]`` tensor per layer.

    ``layers`` None means every layer 0..L. Differentiable: the injection trains through this.
    """
    inputs, mask, _ = tokenize_words(bb, words)
    return forward_pooled(bb, inputs, mask, layers)


def forward_pooled(bb: Backbone, inputs: dict[str, Any], mask: Any, layers: Sequence[int] | None = None) -> list[Any]:
    """:func:`pooled_layers` on already tokenised words."""
    import torch

    from ..models.encoder import pool

    out = bb.body(**inputs, output_hidden_states=True)
    states = out.hidden_states
    wanted = range(len(states)) if layers is None else layers
    return [torch.nn.functional.normalize(pool(states[i].float(), mask, "mean"), p=2, dim=-1) for i in wanted]


def embed_words(bb: Backbone, words: Sequence[str], batch_size: int = 64,
                progress: bool = False) -> tuple[np.ndarray, dict[str, Any]]:
    """Every word at every layer: a float32 ``[L+1, len(words), hidden]`` array of unit vectors, and facts."""
    import torch

    if batch_size < 1:
        raise ConfigError(f"batch size must be positive, got {batch_size}")
    order = sorted(range(len(words)), key=lambda i: (len(words[i]), i))
    out: np.ndarray | None = None
    fallbacks = 0
    tokens = np.zeros(len(words), dtype=np.int64)
    batches: Any = range(0, len(order), batch_size)
    if progress:
        from tqdm import tqdm

        batches = tqdm(batches, total=math.ceil(len(order) / batch_size), desc="embed words", unit="batch")
    bb.model.eval()
    with torch.inference_mode():
        for start in batches:
            idx = order[start:start + batch_size]
            chunk = [words[i] for i in idx]
            inputs, mask, empty = tokenize_words(bb, chunk)
            fallbacks += empty
            tokens[idx] = mask.sum(1).cpu().numpy()
            reps = forward_pooled(bb, inputs, mask)
            if out is None:
                out = np.zeros((len(reps), len(words), reps[0].shape[-1]), dtype=np.float32)
            for layer, r in enumerate(reps):
                out[layer, idx] = r.float().cpu().numpy()
    if out is None:
        raise ConfigError("no words to embed")
    return out, {"special_only_words": fallbacks, "tokens": tokens}


def word_index(pairs: Sequence[tuple[str, str]]) -> tuple[list[str], Callable[[str], int]]:
    """The distinct words of ``pairs`` (first-seen order) and a word -> row lookup."""
    rows: dict[str, int] = {}
    for s, t in pairs:
        for w in (s, t):
            rows.setdefault(w, len(rows))
    return list(rows), rows.__getitem__
