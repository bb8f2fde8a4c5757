"""Vocabulary extension on a tiny WordPiece model with no Ethiopic/Khmer pieces (like mDPR)."""
from __future__ import annotations

import json

import torch
from helpers import make_tiny_bert
from transformers import AutoModel, AutoTokenizer

from tevatron_ext.common.formats import read_corpus
from tevatron_ext.vocab.coverage import coverage
from tevatron_ext.vocab.extend import ExtendConfig, extend


def _merged_collection(tmp_path, tiny_am, tiny_km):
    d = tmp_path / "both"
    d.mkdir()
    lines = (tiny_am / "corpus.jsonl").read_text(encoding="utf-8") + (tiny_km / "corpus.jsonl").read_text(encoding="utf-8")
    (d / "corpus.jsonl").write_text(lines, encoding="utf-8")
    (d / "topics.tsv").write_text("q1\tx\n")
    (d / "qrels.txt").write_text("q1 0 am1 1\n")
    return d


def test_extension_makes_am_km_visible_and_keeps_old_ids(tmp_path, tiny_am, tiny_km):
    base = make_tiny_bert(tmp_path / "base")
    coll = _merged_collection(tmp_path, tiny_am, tiny_km)
    out = tmp_path / "ext"
    m = extend(ExtendConfig(model=str(base), collection=str(coll), out=str(out), vocab_size=600, min_frequency=1))
    before, after = m["coverage_before"], m["coverage_after"]
    assert before["Ethiopic"]["unknown_word_share"] == 1.0 and before["Khmer"]["unknown_word_share"] == 1.0
    assert after["Ethiopic"]["unknown_word_share"] < 0.05 and after["Khmer"]["unknown_word_share"] < 0.05
    old_tok, new_tok = AutoTokenizer.from_pretrained(str(base)), AutoTokenizer.from_pretrained(str(out))
    assert all(new_tok.get_vocab()[p] == i for p, i in old_tok.get_vocab().items())
    assert old_tok("the capital city")["input_ids"] == new_tok("the capital city")["input_ids"]
    old_m, new_m = AutoModel.from_pretrained(str(base)), AutoModel.from_pretrained(str(out))
    n_old = old_m.get_input_embeddings().weight.shape[0]
    assert torch.equal(old_m.get_input_embeddings().weight, new_m.get_input_embeddings().weight[:n_old])
    assert new_m.get_input_embeddings().weight.shape[0] == len(new_tok) == n_old + m["counts"]["added_pieces"]
    info = json.loads((out / "vocab_extension.json").read_text(encoding="utf-8"))
    assert info["initialisation"]["unk_plus_noise"] > 0 and (out / "encoder_config.json").exists()
    # the new tokenizer on unseen text of the same scripts
    texts = [d.text for d in read_corpus(tiny_am / "corpus.jsonl").values()]
    assert coverage(new_tok, texts)["Ethiopic"].unknown_word_share < 0.05


def test_models_tiny_cli_builds_an_encoder_blind_to_ethiopic_and_khmer(tmp_path, tiny_am, tiny_km):
    from click.testing import CliRunner

    from tevatron_ext.cli import main
    from tevatron_ext.common.atomic import read_manifest
    from tevatron_ext.models.encoder import DenseEncoder

    out = tmp_path / "tiny"
    res = CliRunner().invoke(main, ["models", "tiny", "-o", str(out), "--hidden", "32", "--seed", "3"])
    assert res.exit_code == 0, res.output
    m = read_manifest(out)
    assert m and m["kind"] == "model" and m["config"]["hidden"] == 32
    tok = AutoTokenizer.from_pretrained(str(out))
    for coll, script in ((tiny_am, "Ethiopic"), (tiny_km, "Khmer")):
        texts = [d.text for d in read_corpus(coll / "corpus.jsonl").values()]
        assert coverage(tok, texts)[script].unknown_word_share == 1.0
    enc = DenseEncoder.load(str(out))
    assert enc.encode(["the capital city"], "query").shape == (1, 32)


def test_noise_scales_the_spread_of_new_rows_that_have_no_known_piece(tmp_path, tiny_am):
    base = make_tiny_bert(tmp_path / "base")
    spreads = {}
    for noise in (0.02, 1.0):
        out = tmp_path / f"ext{noise}"
        m = extend(ExtendConfig(model=str(base), collection=str(tiny_am), out=str(out), vocab_size=300, min_frequency=1,
                                noise=noise))
        w = AutoModel.from_pretrained(str(out)).get_input_embeddings().weight
        n_old = w.shape[0] - m["counts"]["added_pieces"]
        spreads[noise] = float(w[n_old:].std(0).mean()) / float(w[:n_old].std())
    assert spreads[0.02] < 0.2 < 0.5 < spreads[1.0] < 2  # (a few new rows are means of known pieces)
