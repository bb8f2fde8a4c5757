"""``align``: word-pair lists, the layer probe, Targeted Lexical Injection and its statistics (tiny models)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import make_tiny_bert

from tevatron_ext.align.backbone import family, load_model, tokenize_words
from tevatron_ext.align.inject import InjectConfig, info_nce, inject, sample_batch
from tevatron_ext.align.pairs import hashed_split, load_pairs
from tevatron_ext.align.probe import ProbeConfig, measure, probe
from tevatron_ext.align.stats import derangement, paired_ttest
from tevatron_ext.common.errors import ConfigError, InputError

# words the tiny WordPiece vocabulary knows whole (one token each)
KNOWN = [
    "city", "river", "capital", "country", "water", "health", "school", "what", "where", "when",
    "how", "who", "which", "why", "ethiopia", "cambodia", "addis", "ababa", "phnom", "penh", "lake",
    "fish", "rice", "coffee",
]


def write_tsv(path: Path, rows: list[tuple[str, ...]], header: bool = False) -> Path:
    lines = (["source\ttarget" + ("\tcategory\tsplit" if rows and len(rows[0]) == 4 else "")] if header else [])
    path.write_text("\n".join(lines + ["\t".join(r) for r in rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_bert(tmp_path_factory.mktemp("align") / "tiny-bert", hidden=32, layers=3)


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random LlamaForCausalLM whose tokenizer adds a BOS to every input (like Llama/Gemma)."""
    import torch
    from tokenizers import Tokenizer, pre_tokenizers, processors
    from tokenizers.models import WordLevel
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    out = tmp_path_factory.mktemp("align") / "tiny-llama"
    vocab = ["<pad>", "<unk>", "<s>", "</s>", *KNOWN]
    ids = {t: i for i, t in enumerate(vocab)}
    tk = Tokenizer(WordLevel(ids, unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    tk.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", ids["<s>"])])
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                                  pad_token="<pad>", padding_side="left")
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=3,
                      num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=64,
                      bos_token_id=2, eos_token_id=3, pad_token_id=0)
    LlamaForCausalLM(cfg).save_pretrained(str(out))
    tok.save_pretrained(str(out))
    return out


# ----------------------------------------------------------------------------------------- pairs
def test_load_pairs_split_column_header_and_nfc(tmp_path: Path) -> None:
    p = write_tsv(tmp_path / "w.tsv", [("ውሃ", "water", "noun", "trained"), ("ቤት", "house", "noun", "control"),
                                       ("e\u0301", "é", "x", "Trained")], header=True)
    wp = load_pairs(p)
    assert wp.trained == [("ውሃ", "water"), ("\u00e9", "é")]  # NFC-normalised, split case-insensitive
    assert wp.control == [("ቤት", "house")]
    assert wp.limit(1).trained == [("ውሃ", "water")]


def test_load_pairs_hashed_split_is_fixed_and_order_free(tmp_path: Path) -> None:
    rows = [(f"src{i}", f"tgt{i}") for i in range(400)]
    a = load_pairs(write_tsv(tmp_path / "a.tsv", rows))
    b = load_pairs(write_tsv(tmp_path / "b.tsv", rows[::-1]))
    assert set(a.control) == set(b.control) and set(a.trained) == set(b.trained)
    assert 0.05 < len(a.control) / 400 < 0.16
    assert all(hashed_split(*pair) == "control" for pair in a.control)


@pytest.mark.parametrize("body, line, words", [
    ("a\tb\nc\n", 2, "1 tab-separated columns"),
    ("a\tb\tc\td\te\n", 1, "5 tab-separated columns"),
    ("a\tb\n# comment\n\nc\td\tnoun\n", 4, "3 columns; expected 2"),
    ("a\tb\n\tc\n", 2, "empty field: source"),
    ("a\tb\tnoun\ttrained\nc\td\t\tcontrol\n", 2, "empty field: category"),
    ("a\tb\nc\td\na\tb\n", 3, "duplicate pair 'a' -> 'b' (first on line 1)"),
    ("source\ttarget\tcategory\tsplit\na\tb\tnoun\ttest\n", 2, "split must be one of"),
])
def test_load_pairs_errors_name_file_and_line(tmp_path: Path, body: str, line: int, words: str) -> None:
    p = tmp_path / "bad.tsv"
    p.write_text(body, encoding="utf-8")
    with pytest.raises(InputError) as ei:
        load_pairs(p)
    assert ei.value.path == str(p) and ei.value.line == line
    assert f"{p}:{line}:" in str(ei.value) and words in str(ei.value)


def test_load_pairs_unknown_spec_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="am-en, km-en"):
        load_pairs("xx-en")
    (tmp_path / "empty.tsv").write_text("# nothing\n", encoding="utf-8")
    with pytest.raises(InputError, match="no word pairs"):
        load_pairs(tmp_path / "empty.tsv")


# ----------------------------------------------------------------------------------------- statistics
def test_derangement_has_no_fixed_point_and_is_seeded() -> None:
    for n in (2, 3, 10, 101):
        perm = derangement(n, seed=7)
        assert sorted(perm) == list(range(n)) and all(i != j for i, j in enumerate(perm))
        assert perm == derangement(n, seed=7)
    assert derangement(50, 1) != derangement(50, 2)
    assert derangement(1, 0) == []


def test_paired_ttest_equals_scipy() -> None:
    from scipy import stats

    rng = np.random.default_rng(42)
    before = rng.uniform(0.2, 0.5, size=37)
    after = before + rng.normal(0.05, 0.04, size=37)
    res = paired_ttest(after, before)
    ref = stats.ttest_rel(after, before)
    assert res["statistic"] == pytest.approx(float(ref.statistic), rel=1e-12)
    assert res["pvalue"] == pytest.approx(float(ref.pvalue), rel=1e-9)
    assert res["n"] == 37 and res["df"] == 36
    assert res["mean_diff"] == pytest.approx(float((after - before).mean()))
    assert res["relative_change"] == pytest.approx(float((after - before).mean() / before.mean()))
    # no variance in the differences, or one pair: no statistic rather than NaN in the JSON
    assert paired_ttest([-0.1, -0.1], [-0.2, -0.25])["relative_change"] > 0  # a rise from a negative mean
    assert paired_ttest([0.5, 0.6], [0.5, 0.6])["pvalue"] is None
    assert paired_ttest([0.5], [0.4])["statistic"] is None


def test_info_nce_prefers_aligned_pairs() -> None:
    import torch

    x = torch.nn.functional.normalize(torch.randn(6, 16, generator=torch.Generator().manual_seed(0)), dim=-1)
    assert float(info_nce(x, x, 0.05)) < float(info_nce(x, x.flip(0), 0.05))


def test_sample_batch_avoids_shared_words() -> None:
    import random

    pairs = [("a", "x"), ("a", "y"), ("b", "x"), ("c", "z")]
    for seed in range(20):
        batch = sample_batch(pairs, 4, random.Random(seed))
        assert len({s for s, _ in batch}) == len(batch) == len({t for _, t in batch})


# ----------------------------------------------------------------------------------------- probe
def test_special_tokens_are_excluded_from_the_word_mean(tiny_bert: Path, tiny_llama: Path) -> None:
    for model in (tiny_bert, tiny_llama):
        bb = load_model(model, device="cpu")
        inputs, mask, fallback = tokenize_words(bb, ["city", "addis ababa"])
        assert mask.sum(1).tolist() == [1, 2] and fallback == 0
        first_special = inputs["input_ids"][:, 0]  # [CLS] / <s>
        assert set(first_special.tolist()) == {bb.tokenizer.cls_token_id or bb.tokenizer.bos_token_id}
        assert mask[:, 0].sum() == 0


def test_probe_identical_pairs_give_cosine_one(tiny_bert: Path, tmp_path: Path) -> None:
    rows = [(w, w, "noun", "control" if i % 5 == 0 else "trained") for i, w in enumerate(KNOWN)]
    pairs = write_tsv(tmp_path / "same.tsv", rows, header=True)
    res = probe(ProbeConfig(model=str(tiny_bert), pairs=str(pairs), out=str(tmp_path / "out"), batch_size=7,
                            progress=False), log=lambda _: None)
    assert [row["layer"] for row in res["layers"]] == [0, 1, 2, 3]  # L+1 entries, 0 = input embeddings
    assert res["n_trained"] == 19 and res["n_control"] == 5 and res["n_mismatched"] == 24
    for row in res["layers"]:
        for split in ("trained", "control"):
            assert row[split]["mean"] == pytest.approx(1.0, abs=1e-5)
            assert row[split]["std"] == pytest.approx(0.0, abs=1e-5)
        assert row["mismatched"]["mean"] < 0.999  # the baseline pairs different words
    on_disk = json.loads((tmp_path / "out" / "probe.json").read_text(encoding="utf-8"))
    assert set(on_disk) >= {"model", "pairs", "n_trained", "n_control", "layers"}
    assert set(on_disk["layers"][0]) == {"layer", "trained", "control", "mismatched"}
    assert set(on_disk["layers"][0]["trained"]) == {"mean", "std"}
    md = (tmp_path / "out" / "probe.md").read_text(encoding="utf-8")
    assert "| 3 | 1.0000 ± 0.0000 | 1.0000 ± 0.0000 |" in md
    assert (tmp_path / "out" / "probe.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["complete"] is True


def test_probe_causal_lm_identical_pairs(tiny_llama: Path, tmp_path: Path) -> None:
    rows = [(w, w) for w in KNOWN[:12]]
    res = probe(ProbeConfig(model=str(tiny_llama), pairs=str(write_tsv(tmp_path / "s.tsv", rows)),
                            out=str(tmp_path / "out"), batch_size=5, progress=False), log=lambda _: None)
    assert len(res["layers"]) == 4
    assert all(row["trained"]["mean"] == pytest.approx(1.0, abs=1e-5) for row in res["layers"])
    assert res["layers"][-1]["mismatched"]["mean"] < 0.999


def test_load_4bit_without_gpu_is_a_clear_error(tiny_bert: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(ConfigError, match="4bit"):
        load_model(tiny_bert, device="cpu", load_4bit=True)


# ----------------------------------------------------------------------------------------- inject
def _translation_pairs(tmp_path: Path) -> Path:
    """Arbitrary word pairings (not identical words): the injection has to pull them together."""
    words = KNOWN[:24]
    rows = [(words[i], words[i + 12], "x", "control" if i >= 9 else "trained") for i in range(12)]
    return write_tsv(tmp_path / "pairs.tsv", rows)


def test_inject_raises_trained_similarity_and_merges(tiny_bert: Path, tmp_path: Path) -> None:
    from transformers import AutoModel

    out = tmp_path / "tli"
    res = inject(InjectConfig(model=str(tiny_bert), pairs=str(_translation_pairs(tmp_path)), out=str(out), steps=30,
                              batch_size=8, lr=5e-3, merge=True, progress=False), log=lambda _: None)
    assert res["train"]["loss_last"] < res["train"]["loss_first"]
    target = res["tests"]["target_layer"]
    assert target["layer"] == 2
    assert target["trained"]["mean_after"] > target["trained"]["mean_before"]
    assert target["control"]["n"] == 3 and target["control"]["mean_after"] is not None
    assert res["tests"]["output_layer"]["layer"] == 3
    margin = target["margin_over_mismatched"]["trained"]
    assert margin["before"] == pytest.approx(target["trained"]["mean_before"] - target["mismatched"]["mean_before"])
    assert res["lora"]["target_modules"] == ["query", "key", "value"]
    # layer 0 (input embeddings) is untouched by LoRA on blocks 0 and 1
    assert res["after"]["layers"][0]["trained"]["mean"] == pytest.approx(res["before"]["layers"][0]["trained"]["mean"])
    for name in ("inject.json", "inject.md", "inject.png", "manifest.json", "adapter/adapter_config.json"):
        assert (out / name).is_file(), name
    # the merged folder is a full model (and still a dense encoder) that reproduces the adapter's numbers
    merged = out / "merged"
    assert (merged / "encoder_config.json").is_file() and (merged / "tokenizer.json").is_file()
    assert type(AutoModel.from_pretrained(str(merged))).__name__ == "BertModel"
    again = measure(load_model(merged, device="cpu"), load_pairs(out.parent / "pairs.tsv"))
    for got, want in zip(again.layers, res["after"]["layers"]):
        assert got["trained"]["mean"] == pytest.approx(want["trained"]["mean"], abs=1e-5)


def test_inject_causal_lm_targets_decoder_projections(tiny_llama: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    res = inject(InjectConfig(model=str(tiny_llama), pairs=str(_translation_pairs(tmp_path)), out=str(tmp_path / "o"),
                              steps=5, batch_size=4, layers=(0,), target_layer=1, merge=True, progress=False),
                 log=lambda _: None)
    assert res["lora"]["target_modules"] == ["q_proj", "k_proj", "v_proj", "o_proj"]
    assert res["lora"]["layers_to_transform"] == [0]
    assert type(AutoModelForCausalLM.from_pretrained(str(tmp_path / "o" / "merged"))).__name__ == "LlamaForCausalLM"


def test_inject_rejects_blocks_that_cannot_reach_the_target(tiny_bert: Path, tmp_path: Path) -> None:
    cfg = InjectConfig(model=str(tiny_bert), pairs=str(_translation_pairs(tmp_path)), out=str(tmp_path / "o"),
                       layers=(0, 2), target_layer=2, progress=False)
    with pytest.raises(ConfigError, match=r"--layers \[2\] are at or above --target-layer 2"):
        inject(cfg, log=lambda _: None)
    with pytest.raises(ConfigError, match="known: bert"):
        family("t5")


def test_cli_align_probe(tiny_bert: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from tevatron_ext.cli import main

    pairs = write_tsv(tmp_path / "p.tsv", [(w, w) for w in KNOWN[:6]])
    runner = CliRunner()
    assert "inject" in runner.invoke(main, ["align", "--help"]).output
    r = runner.invoke(main, ["align", "probe", "-m", str(tiny_bert), "-p", str(pairs), "-o", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    assert "output layer 3: trained 1.0000" in r.output
    r = runner.invoke(main, ["align", "inject", "-m", str(tiny_bert), "-p", str(pairs), "-o", str(tmp_path / "i"),
                             "--layers", "0,x"])
    assert r.exit_code != 0 and "comma-separated integers" in r.output
