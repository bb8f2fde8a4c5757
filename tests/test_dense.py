"""Encoder contract, encode + search end to end through Pyserini on tiny random BERTs, fusion, coverage."""
from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import make_tiny_bert

from tevatron_ext.common.errors import ConfigError, InputError
from tevatron_ext.common.formats import read_run, write_run
from tevatron_ext.models.contract import PRESETS, EncoderContract


def test_contract_round_trip_and_conflicts(tmp_path):
    c = PRESETS["multilingual-e5"]
    c.save(tmp_path)
    assert EncoderContract.load(tmp_path) == c
    assert c.merged(pooling="mean", passage_max_length=128).passage_max_length == 128
    with pytest.raises(ConfigError, match="pooling: contract 'mean' vs flag 'cls'"):
        c.merged(pooling="cls")
    with pytest.raises(ConfigError, match="normalize"):
        c.merged(normalize=False)
    (tmp_path / "encoder_config.json").write_text(json.dumps({"pooling": "max", "normalize": False}))
    with pytest.raises(InputError, match="must be one of"):
        EncoderContract.load(tmp_path)
    (tmp_path / "encoder_config.json").write_text(json.dumps({"pooling": "cls", "normalize": True, "poolin": "x"}))
    with pytest.raises(InputError, match="unknown encoder-contract field"):
        EncoderContract.load(tmp_path)
    (tmp_path / "encoder_config.json").write_text(json.dumps({"pooling": "cls"}))
    with pytest.raises(InputError, match="missing field 'normalize'"):
        EncoderContract.load(tmp_path)
    assert PRESETS["mdpr"].pooling == "cls" and not PRESETS["mdpr"].normalize and PRESETS["mdpr"].query_prefix == ""
    assert PRESETS["bge-m3"].pooling == "cls" and PRESETS["bge-m3"].normalize


def test_single_pooling():
    import torch

    from tevatron_ext.models.encoder import pool

    h = torch.arange(12, dtype=torch.float32).reshape(1, 3, 4)
    mask = torch.tensor([[1, 1, 0]])
    assert pool(h, mask, "cls").tolist() == [[0, 1, 2, 3]]
    assert pool(h, mask, "mean").tolist() == [[2, 3, 4, 5]]


@pytest.mark.parametrize("pooling, normalize", [("cls", False), ("mean", True)])
def test_encode_search_end_to_end(tmp_path, tiny_am, pooling, normalize):
    from tevatron_ext.dense.encode import EncodeConfig, encode_corpus
    from tevatron_ext.dense.search import SearchConfig, search

    model = make_tiny_bert(tmp_path / "model", pooling=pooling, normalize=normalize)
    m = encode_corpus(EncodeConfig(model=str(model), collection=str(tiny_am), index=tmp_path / "idx", shard_size=3,
                                   progress=False, bf16=False))
    assert m["counts"]["vectors"] == m["counts"]["docs"] == 8
    assert (tmp_path / "idx" / "index").exists() and (tmp_path / "idx" / "docid").read_text().split() == \
        [f"am{i}" for i in range(1, 9)]
    assert not (tmp_path / "idx.partial").exists()
    rm = search(SearchConfig(index=tmp_path / "idx", collection=str(tiny_am), run=tmp_path / "run.txt", hits=5, bf16=False))
    run = read_run(tmp_path / "run.txt")
    assert set(run) == {"q1", "q2", "q3", "q4"} and all(len(h) == 5 for h in run.values())
    assert rm["config"]["contract"]["pooling"] == pooling
    # the conflicting flag is refused, not silently applied
    with pytest.raises(ConfigError):
        search(SearchConfig(index=tmp_path / "idx", collection=str(tiny_am), run=tmp_path / "r2.txt",
                            pooling="mean" if pooling == "cls" else "cls"))


def test_index_and_model_contracts_must_agree(tmp_path, tiny_am):
    from tevatron_ext.dense.encode import EncodeConfig, encode_corpus
    from tevatron_ext.dense.search import SearchConfig, search

    cls_model = make_tiny_bert(tmp_path / "cls", pooling="cls")
    mean_model = make_tiny_bert(tmp_path / "mean", pooling="mean")
    encode_corpus(EncodeConfig(model=str(cls_model), collection=str(tiny_am), index=tmp_path / "idx", progress=False))
    with pytest.raises(ConfigError, match="silently mismatch"):
        search(SearchConfig(index=tmp_path / "idx", collection=str(tiny_am), run=tmp_path / "r.txt", model=str(mean_model)))


def test_pyserini_auto_encoder_reads_our_folder(tmp_path):
    """Pyserini's --encoder-class auto (AutoDocumentEncoder) gives the same CLS vectors as our encoder."""
    from tevatron_ext.common.jvm import pyserini_ready
    from tevatron_ext.models.zoo import load_encoder

    model = make_tiny_bert(tmp_path / "m", pooling="cls")
    ours = load_encoder(str(model)).encode(["what is the capital", "the river and the lake"], "passage", sort_by_length=False)
    pyserini_ready()
    from pyserini.encode import AutoDocumentEncoder

    theirs = AutoDocumentEncoder(str(model), device="cpu", pooling="cls", l2_norm=False).encode(
        ["what is the capital", "the river and the lake"], max_length=64)
    assert np.allclose(ours, theirs, atol=1e-5)


def test_resumes_from_shards(tmp_path, tiny_am, monkeypatch):
    """An interrupted encode keeps finished shards; the rerun encodes only the rest."""
    from tevatron_ext.dense import encode as enc
    from tevatron_ext.models.encoder import DenseEncoder

    model = make_tiny_bert(tmp_path / "m")
    calls = []
    crash = [True]
    real = DenseEncoder.encode

    class Crash(Exception):
        pass

    def flaky(self, texts, kind, **kw):
        calls.append(len(texts))
        if crash and len(calls) == 2:
            raise Crash
        return real(self, texts, kind, **kw)

    monkeypatch.setattr(DenseEncoder, "encode", flaky)
    cfg = enc.EncodeConfig(model=str(model), collection=str(tiny_am), index=tmp_path / "idx", shard_size=3, progress=False)
    with pytest.raises(Crash):
        enc.encode_corpus(cfg)
    assert not (tmp_path / "idx").exists() and (tmp_path / "idx.partial" / "shard-00000.npy").exists()
    calls.clear()
    crash.clear()
    m = enc.encode_corpus(cfg)
    assert calls == [3, 2] and m["counts"]["encoded_now"] == 5 and m["counts"]["vectors"] == 8


def test_fusion_matches_pyserini(tmp_path):
    from tevatron_ext.common.jvm import pyserini_ready
    from tevatron_ext.fuse import fuse_files

    rng = np.random.default_rng(3)
    a = {str(q): {f"d{i}": float(rng.normal()) for i in rng.choice(40, 20, replace=False)} for q in range(1, 6)}
    b = {str(q): {f"d{i}": float(rng.normal() * 5) for i in rng.choice(40, 20, replace=False)} for q in range(1, 6)}
    write_run(tmp_path / "a.txt", a, tag="a")
    write_run(tmp_path / "b.txt", b, tag="b")
    pyserini_ready()
    from pyserini.fusion import FusionMethod, interpolation, normalize, reciprocal_rank_fusion  # noqa: F401
    from pyserini.trectools import RescoreMethod, TrecRun

    ra, rb = TrecRun(str(tmp_path / "a.txt")), TrecRun(str(tmp_path / "b.txt"))
    for method, theirs in (
        ("rrf", reciprocal_rank_fusion([ra, rb], rrf_k=60, depth=1000, k=100)),
        ("interpolation", interpolation([ra.clone().rescore(RescoreMethod.NORMALIZE),
                                         rb.clone().rescore(RescoreMethod.NORMALIZE)], alpha=0.3, depth=1000, k=100)),
    ):
        fuse_files([tmp_path / "a.txt", tmp_path / "b.txt"], tmp_path / f"{method}.txt", method=method, alpha=0.3)
        ours = read_run(tmp_path / f"{method}.txt")
        theirs.save_to_txt(str(tmp_path / f"p-{method}.txt"))
        ref = read_run(tmp_path / f"p-{method}.txt")
        for q in ours:
            assert set(ours[q]) == set(ref[q])
            for d in ours[q]:
                assert abs(ours[q][d] - ref[q][d]) < 1e-5


def test_fusion_keeps_string_ids(tmp_path):
    from tevatron_ext.fuse import fuse_files

    write_run(tmp_path / "a.txt", {"001": {"0007": 1.0, "0008": 0.5}}, tag="a")
    write_run(tmp_path / "b.txt", {"001": {"0008": 2.0, "0009": 1.0}}, tag="b")
    fuse_files([tmp_path / "a.txt", tmp_path / "b.txt"], tmp_path / "h.txt")
    assert list(read_run(tmp_path / "h.txt")) == ["001"]


def test_coverage_wordpiece_without_the_scripts(tmp_path, tiny_am, tiny_km):
    from transformers import AutoTokenizer

    from tevatron_ext.common.formats import read_corpus
    from tevatron_ext.vocab.coverage import coverage

    tok = AutoTokenizer.from_pretrained(str(make_tiny_bert(tmp_path / "m")))
    texts = [d.text for d in read_corpus(tiny_am / "corpus.jsonl").values()]
    texts += [d.text for d in read_corpus(tiny_km / "corpus.jsonl").values()] + ["the capital city of ethiopia"]
    cov = coverage(tok, texts)
    assert cov["Ethiopic"].unknown_word_share == 1.0 and cov["Khmer"].unknown_word_share == 1.0
    assert cov["Latin"].unknown_word_share == 0.0


def test_coverage_of_multilingual_e5(tiny_am, tiny_km):
    from transformers import AutoTokenizer

    from tevatron_ext.common.formats import read_corpus
    from tevatron_ext.models.zoo import prepare
    from tevatron_ext.vocab.coverage import coverage

    tok = AutoTokenizer.from_pretrained(str(prepare("multilingual-e5-small")))
    texts = [d.text for p in (tiny_am, tiny_km) for d in read_corpus(p / "corpus.jsonl").values()]
    cov = coverage(tok, texts)
    assert cov["Ethiopic"].unknown_word_share == 0.0 and cov["Khmer"].unknown_word_share == 0.0
    assert 1.0 <= cov["Ethiopic"].pieces_per_word < 4
