"""A tiny, randomly initialised mBERT-like encoder: a cased WordPiece vocabulary of English letters,
digits, punctuation and a few dozen English words, and no Ethiopic or Khmer pieces (like mDPR's
mBERT vocabulary, which maps Amharic and Khmer words to [UNK]; FACTS.md).

It serves the tests and the vocabulary-extension ablation (``scripts/vocab_ablation.sh``): a model
that cannot see a script is trained with and without ``tevatron-ext vocab extend``, offline, in
minutes. It is not a retriever anyone should use.
"""
from __future__ import annotations

import string
from pathlib import Path
from typing import Any

WORDS = ("the of and to in is was for on with as by city river capital country water health school "
         "what where when how who which why ethiopia cambodia addis ababa phnom penh lake fish rice coffee").split()


def wordpiece_vocab() -> list[str]:
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = list(string.ascii_lowercase + string.digits + string.punctuation)
    return specials + chars + ["##" + c for c in string.ascii_lowercase + string.digits] + WORDS


def wordpiece_tokenizer(vocab: list[str]) -> Any:
    """A BERT-style (cased, like mBERT) WordPiece fast tokenizer over ``vocab``, built with the tokenizers library."""
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece
    from transformers import PreTrainedTokenizerFast

    ids = {t: i for i, t in enumerate(vocab)}
    tk = Tokenizer(WordPiece(ids, unk_token="[UNK]"))
    tk.normalizer = normalizers.BertNormalizer(lowercase=False, strip_accents=False)  # cased, as mBERT/mDPR
    tk.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tk.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", ids["[CLS]"]), ("[SEP]", ids["[SEP]"])])
    tk.decoder = decoders.WordPiece()
    return PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]")


def make_tiny_bert(out_dir: str | Path, pooling: str = "cls", normalize: bool = False, hidden: int = 32, layers: int = 2,
                   seed: int = 0, vocab: list[str] | None = None, max_length: int = 64) -> Path:
    """A random BertModel + BertTokenizerFast + encoder contract, written into ``out_dir`` (no manifest)."""
    import torch
    from transformers import BertConfig, BertModel

    from .contract import EncoderContract

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    vocab = vocab or wordpiece_vocab()
    tok = wordpiece_tokenizer(vocab)
    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=2,
                     intermediate_size=hidden * 2, max_position_embeddings=max(128, 2 * max_length))
    BertModel(cfg, add_pooling_layer=False).save_pretrained(str(out_dir))
    tok.save_pretrained(str(out_dir))
    EncoderContract(pooling=pooling, normalize=normalize, query_max_length=min(32, max_length),
                    passage_max_length=max_length).save(out_dir)
    return out_dir


def build(out: str | Path, *, hidden: int = 64, layers: int = 2, seed: int = 0, pooling: str = "cls",
          normalize: bool = False, max_length: int = 128) -> dict[str, Any]:
    """``make_tiny_bert`` written atomically, with a manifest (so recipes can skip and track it)."""
    from ..common.atomic import atomic_dir, read_manifest, write_manifest

    cfg = {"hidden": hidden, "layers": layers, "seed": seed, "pooling": pooling, "normalize": normalize,
           "max_length": max_length, "vocab": "English-only WordPiece (tevatron_ext.models.tiny)"}
    with atomic_dir(out) as tmp:
        make_tiny_bert(tmp, pooling=pooling, normalize=normalize, hidden=hidden, layers=layers, seed=seed,
                       max_length=max_length)
        write_manifest(out, kind="model", manifest=tmp / "manifest.json", config=cfg, seed=seed,
                       counts={"vocab_size": len(wordpiece_vocab())})
    return read_manifest(out) or {}
