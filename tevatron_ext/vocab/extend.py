"""Vocabulary extension for a script the base tokenizer cannot see (mDPR and Ethiopic/Khmer).

1. Learn pieces from the target corpus with the base tokenizer's own algorithm and pre-processing
   (WordPiece for WordPiece models, Unigram for SentencePiece-Unigram ones).
2. Append the pieces the base vocabulary lacks: old pieces keep their ids (and embeddings).
3. Resize the embedding matrix and initialise each new row (the documented scheme):
   - the mean of the old embeddings of the pieces the OLD tokenizer splits the new piece's string
     into, when at least one of them is known;
   - otherwise (every piece unknown, as for Ethiopic in mBERT) the ``[UNK]`` embedding plus seeded
     Gaussian noise of ``noise`` (default 0.02) x the embedding table's standard deviation, so that new
     rows start where a pretrained model already puts unseen text, yet are distinguishable. For a
     randomly initialised model ``[UNK]`` means nothing and near-identical rows carry no lexical signal
     (measured: an untrained tiny model with 0.02 scored like chance, with 1.0 it did not; see
     scripts/recipes/vocab_ablation.yaml): use ``noise=1``.
The folder written is a normal HF model + tokenizer + encoder contract, with ``vocab_extension.json``
(which also tells ``train`` that the embedding table must not be frozen).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..common.atomic import atomic_dir, read_manifest, write_manifest
from ..common.errors import ConfigError

EXTENSION_FILE = "vocab_extension.json"  # the same name train.trainer checks


@dataclass
class ExtendConfig:
    model: str
    collection: str
    out: str
    vocab_size: int = 8000  # size of the vocabulary learned on the target corpus
    min_frequency: int = 2
    max_input_chars_per_word: int = 400  # WordPiece: Khmer phrases are long "words"
    noise: float = 0.02
    seed: int = 13


def _corpus_texts(collection: str) -> list[str]:
    from ..collections import get_collection
    from ..common.formats import iter_corpus

    return [f"{d.title} {d.text}".strip() for d in iter_corpus(get_collection(collection).corpus_path())]


def learn_pieces(tokenizer: Any, texts: list[str], cfg: ExtendConfig) -> tuple[str, list[tuple[str, float]]]:
    """Pieces learned on ``texts`` with the base tokenizer's algorithm: (kind, [(piece, score)])."""
    from tokenizers import Tokenizer, models, trainers

    base = tokenizer.backend_tokenizer
    kind = type(base.model).__name__
    specials = list(tokenizer.all_special_tokens)
    if kind == "WordPiece":
        tk = Tokenizer(models.WordPiece(unk_token=tokenizer.unk_token, max_input_chars_per_word=cfg.max_input_chars_per_word))
        trainer = trainers.WordPieceTrainer(vocab_size=cfg.vocab_size, min_frequency=cfg.min_frequency,
                                            special_tokens=specials, continuing_subword_prefix=base.model.continuing_subword_prefix)
    elif kind == "Unigram":
        tk = Tokenizer(models.Unigram())
        trainer = trainers.UnigramTrainer(vocab_size=cfg.vocab_size, special_tokens=specials, unk_token=tokenizer.unk_token)
    else:
        raise ConfigError(f"vocabulary extension supports WordPiece and Unigram tokenizers, not {kind}")
    tk.normalizer = base.normalizer
    tk.pre_tokenizer = base.pre_tokenizer
    tk.train_from_iterator(texts, trainer=trainer)
    if kind == "WordPiece":
        return kind, [(p, 0.0) for p, _ in sorted(tk.get_vocab().items(), key=lambda x: x[1])]
    return kind, [tuple(x) for x in json.loads(tk.to_str())["model"]["vocab"]]


def extend_tokenizer(tokenizer: Any, kind: str, pieces: list[tuple[str, float]], cfg: ExtendConfig) -> list[str]:
    """Append unseen pieces to the tokenizer's model in place; returns the added pieces in id order."""
    from tokenizers import models

    base = tokenizer.backend_tokenizer
    vocab = tokenizer.get_vocab()
    specials = set(tokenizer.all_special_tokens)
    added = [p for p, _ in pieces if p not in vocab and p not in specials]
    if kind == "WordPiece":
        old = json.loads(base.to_str())["model"]["vocab"]
        new_vocab = dict(old)
        for p in added:
            new_vocab[p] = len(new_vocab)
        base.model = models.WordPiece(new_vocab, unk_token=tokenizer.unk_token,
                                      continuing_subword_prefix=base.model.continuing_subword_prefix,
                                      max_input_chars_per_word=max(cfg.max_input_chars_per_word, base.model.max_input_chars_per_word))
    else:
        state = json.loads(base.to_str())["model"]
        scores = dict(pieces)
        new_vocab = [tuple(x) for x in state["vocab"]] + [(p, float(scores[p])) for p in added]
        base.model = models.Unigram(new_vocab, unk_id=state.get("unk_id"), byte_fallback=state.get("byte_fallback", False))
    return added


def init_new_rows(model: Any, old_tokenizer: Any, added: list[str], old_size: int, kind: str, cfg: ExtendConfig) -> dict[str, int]:
    import torch

    emb = model.get_input_embeddings().weight
    gen = torch.Generator().manual_seed(cfg.seed)
    std = float(emb[:old_size].detach().std())
    unk = old_tokenizer.unk_token_id
    stats = {"mean_of_pieces": 0, "unk_plus_noise": 0}
    with torch.no_grad():
        for i, piece in enumerate(added):
            text = piece[2:] if kind == "WordPiece" and piece.startswith("##") else piece.replace("▁", " ").strip()
            ids = [t for t in old_tokenizer(text, add_special_tokens=False)["input_ids"] if t != unk and t < old_size]
            if ids:
                emb[old_size + i] = emb[ids].mean(0)
                stats["mean_of_pieces"] += 1
            else:
                emb[old_size + i] = emb[unk] + torch.randn(emb.shape[1], generator=gen) * cfg.noise * std
                stats["unk_plus_noise"] += 1
    return stats


def extend(cfg: ExtendConfig) -> dict[str, Any]:
    from transformers import AutoTokenizer

    from ..models.contract import EncoderContract
    from ..models.encoder import load_backbone
    from ..models.zoo import resolve, resolve_contract
    from .coverage import coverage

    out = Path(cfg.out)
    if read_manifest(out) is not None:
        return read_manifest(out) or {}
    src = resolve(cfg.model)
    contract: EncoderContract = resolve_contract(cfg.model)
    if not contract.tied:
        raise ConfigError("vocabulary extension of untied encoders is not supported; extend the base model, then train untied")
    old_tok = AutoTokenizer.from_pretrained(str(src))
    tok = AutoTokenizer.from_pretrained(str(src))
    if not getattr(tok, "is_fast", False):
        raise ConfigError("vocabulary extension needs a fast (tokenizers) tokenizer")
    texts = _corpus_texts(cfg.collection)
    before = {k: asdict(v) for k, v in coverage(old_tok, texts).items()}
    kind, pieces = learn_pieces(tok, texts, cfg)
    model = load_backbone(src)
    old_size = model.get_input_embeddings().weight.shape[0]
    if len(old_tok) > old_size:
        raise ConfigError(f"tokenizer has {len(old_tok)} entries but the embedding table only {old_size} rows")
    added = extend_tokenizer(tok, kind, pieces, cfg)
    # pieces get ids after every old row (an embedding table can be larger than the tokenizer)
    model.resize_token_embeddings(old_size + len(added))
    if len(tok) != old_size + len(added):
        _align_ids(tok, kind, old_size, added)
    init = init_new_rows(model, old_tok, added, old_size, kind, cfg)
    after = {k: asdict(v) for k, v in coverage(tok, texts).items()}
    info = {"base_model": str(src), "collection": cfg.collection, "algorithm": kind, "added_pieces": len(added),
            "old_vocab": len(old_tok), "old_embedding_rows": old_size, "new_embedding_rows": old_size + len(added),
            "initialisation": init, "coverage_before": before, "coverage_after": after, "config": asdict(cfg)}
    with atomic_dir(out) as tmp:
        model.save_pretrained(str(tmp))
        tok.save_pretrained(str(tmp))
        contract.save(tmp)
        (tmp / EXTENSION_FILE).write_text(json.dumps(info, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        write_manifest(out, kind="model", manifest=tmp / "manifest.json", counts={"added_pieces": len(added)},
                       config={"extend_config": asdict(cfg), "base_model": str(src)}, seed=cfg.seed,
                       extra={"coverage_before": before, "coverage_after": after})
    return read_manifest(out) or {}


def _align_ids(tok: Any, kind: str, old_size: int, added: list[str]) -> None:
    """When the embedding table has spare rows beyond the tokenizer, pad the vocabulary so that the
    first added piece gets id ``old_size``."""
    from tokenizers import models

    base = tok.backend_tokenizer
    state = json.loads(base.to_str())["model"]
    if kind == "WordPiece":
        vocab = {p: i for p, i in state["vocab"].items() if p not in added}
        for k in range(len(vocab), old_size):
            vocab[f"[unused-pad-{k}]"] = k
        for p in added:
            vocab[p] = len(vocab)
        base.model = models.WordPiece(vocab, unk_token=tok.unk_token, continuing_subword_prefix=base.model.continuing_subword_prefix,
                                      max_input_chars_per_word=base.model.max_input_chars_per_word)
    else:
        vocab = [tuple(x) for x in state["vocab"] if x[0] not in added]
        vocab += [(f"<unused-pad-{k}>", -100.0) for k in range(len(vocab), old_size)]
        scores = {p: s for p, s in (tuple(x) for x in state["vocab"])}
        vocab += [(p, scores[p]) for p in added]
        base.model = models.Unigram(vocab, unk_id=state.get("unk_id"), byte_fallback=state.get("byte_fallback", False))
