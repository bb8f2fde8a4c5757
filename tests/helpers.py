"""Builders of tiny models for tests: a random mDPR-like BERT with an English-only WordPiece vocabulary."""
from __future__ import annotations

import string
from pathlib import Path

WORDS = ("the of and to in is was for on with as by city river capital country water health school "
         "what where when how who which why ethiopia cambodia addis ababa phnom penh lake fish rice coffee").split()


def wordpiece_vocab() -> list[str]:
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = list(string.ascii_lowercase + string.digits + string.punctuation)
    return specials + chars + ["##" + c for c in string.ascii_lowercase + string.digits] + WORDS


def wordpiece_tokenizer(vocab: list[str]):
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


def make_tiny_bert(out_dir: Path, pooling: str = "cls", normalize: bool = False, hidden: int = 32, layers: int = 2,
                   seed: int = 0, vocab: list[str] | None = None) -> Path:
    """A random BertModel + BertTokenizerFast (no Ethiopic/Khmer pieces, like mDPR's) + encoder contract."""
    import torch
    from transformers import BertConfig, BertModel

    from tevatron_ext.models.contract import EncoderContract

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    vocab = vocab or wordpiece_vocab()
    tok = wordpiece_tokenizer(vocab)
    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=2,
                     intermediate_size=hidden * 2, max_position_embeddings=128)
    BertModel(cfg, add_pooling_layer=False).save_pretrained(str(out_dir))
    tok.save_pretrained(str(out_dir))
    EncoderContract(pooling=pooling, normalize=normalize, query_max_length=32, passage_max_length=64).save(out_dir)
    return out_dir
