"""Sharded encoding + merge, --nproc, ANN conversion and search parameters, on a tiny model."""
from __future__ import annotations

import json
import shutil

import pytest
from helpers import make_tiny_bert

from tevatron_ext.common.atomic import read_manifest
from tevatron_ext.common.errors import ConfigError, TevatronExtError
from tevatron_ext.common.formats import read_run
from tevatron_ext.dense.encode import EncodeConfig, encode_corpus, shard_bounds
from tevatron_ext.dense.search import SearchConfig, search
from tevatron_ext.index.ann import INDEX_TYPES, AnnParams
from tevatron_ext.index.merge import convert_index, merge_indexes


def bigger(coll, times=6):
    """The fixture corpus repeated under new docids (enough passages for shards and IVF training)."""
    docs = [json.loads(line) for line in (coll / "corpus.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    with open(coll / "corpus.jsonl", "w", encoding="utf-8") as fh:
        for i in range(times):
            for d in docs:
                fh.write(json.dumps({**d, "docid": d["docid"] if i == 0 else f"{d['docid']}-{i}",
                                     "text": d["text"] + f" {i}" * i}, ensure_ascii=False) + "\n")
    return coll


def run_of(tmp_path, idx, coll, name, **kw):
    search(SearchConfig(index=idx, collection=str(coll), run=tmp_path / f"{name}.txt", **kw))
    return read_run(tmp_path / f"{name}.txt")


def test_shard_bounds_cover_the_corpus_contiguously():
    for n in (1, 7, 10, 11):
        for k in (1, 2, 3, 4):
            spans = [shard_bounds(n, k, i) for i in range(k)]
            assert spans[0][0] == 0 and spans[-1][1] == n
            assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
    assert shard_bounds(10, 3, 0) == (0, 4) and shard_bounds(10, 3, 2) == (8, 10)


def test_cli_index_types_match_the_library():
    from tevatron_ext.dense.cli import INDEX_TYPES as CLI_TYPES

    assert CLI_TYPES == INDEX_TYPES


def test_sharded_encode_and_merge_equal_single_process(tmp_path, tiny_am):
    coll = bigger(tiny_am)
    model = make_tiny_bert(tmp_path / "m", pooling="cls")
    common = dict(model=str(model), collection=str(coll), progress=False, shard_size=5)
    encode_corpus(EncodeConfig(index=tmp_path / "flat", **common))
    for i in range(3):
        m = encode_corpus(EncodeConfig(index=tmp_path / f"s{i}", num_shards=3, shard_id=i, **common))
        assert m["shard"]["id"] == i and m["shard"]["count"] == 3
    merged = merge_indexes(tmp_path / "merged", [tmp_path / "s2", tmp_path / "s0", tmp_path / "s1"])
    assert merged["counts"]["docs"] == 48
    assert (tmp_path / "merged" / "docid").read_text() == (tmp_path / "flat" / "docid").read_text()
    assert run_of(tmp_path, tmp_path / "merged", coll, "merged") == run_of(tmp_path, tmp_path / "flat", coll, "flat")
    with pytest.raises(ConfigError, match="missing"):
        merge_indexes(tmp_path / "x", [tmp_path / "s0", tmp_path / "s1"])
    with pytest.raises(ConfigError, match="given twice"):
        merge_indexes(tmp_path / "x", [tmp_path / "s0", tmp_path / "s1", tmp_path / "s1"])
    other = make_tiny_bert(tmp_path / "m2", pooling="cls", hidden=48)
    encode_corpus(EncodeConfig(index=tmp_path / "o1", num_shards=3, shard_id=1, **{**common, "model": str(other)}))
    with pytest.raises(ConfigError, match="another"):
        merge_indexes(tmp_path / "x", [tmp_path / "s0", tmp_path / "o1", tmp_path / "s2"])
    with pytest.raises(TevatronExtError, match="records no shard|not a complete"):
        merge_indexes(tmp_path / "x", [tmp_path / "nowhere"])
    assert not (tmp_path / "x").exists()


def test_convert_and_search_params(tmp_path, tiny_am):
    coll = bigger(tiny_am, times=12)
    model = make_tiny_bert(tmp_path / "m", pooling="cls")
    encode_corpus(EncodeConfig(model=str(model), collection=str(coll), index=tmp_path / "flat", progress=False))
    flat = run_of(tmp_path, tmp_path / "flat", coll, "flat", hits=10)
    m = convert_index(tmp_path / "flat", tmp_path / "hnsw", AnnParams("hnsw", hnsw_m=8))
    assert m["faiss"]["type"] == "hnsw" and m["config"]["ann"] == {"type": "hnsw", "hnsw_m": 8, "ef_construction": 200}
    hn = run_of(tmp_path, tmp_path / "hnsw", coll, "hnsw", hits=10, ef_search=64)
    assert read_manifest(tmp_path / "hnsw.txt")["config"]["search_params"] == {"ef_search": 64}
    overlap = sum(len(set(hn[q]) & set(flat[q])) for q in flat) / sum(len(flat[q]) for q in flat)
    assert overlap >= 0.95
    with pytest.raises(ConfigError, match="HNSW"):
        run_of(tmp_path, tmp_path / "flat", coll, "bad", ef_search=10)
    convert_index(tmp_path / "flat", tmp_path / "ivf", AnnParams("ivf", nlist=2))
    iv = run_of(tmp_path, tmp_path / "ivf", coll, "ivf", hits=10, nprobe=2)
    assert iv == flat  # every list probed: exact
    with pytest.raises(ConfigError, match="IVF"):
        run_of(tmp_path, tmp_path / "hnsw", coll, "bad2", nprobe=2)
    with pytest.raises(ConfigError, match="flat"):
        convert_index(tmp_path / "hnsw", tmp_path / "again", AnnParams("ivf"))
    d = encode_corpus(EncodeConfig(model=str(model), collection=str(coll), index=tmp_path / "direct", progress=False,
                                   ann=AnnParams("hnsw", hnsw_m=8)))
    assert d["faiss"]["type"] == "hnsw"


def test_encode_streams_the_corpus(tmp_path, tiny_am, monkeypatch):
    """The corpus is read as a stream: never more than one chunk of passages is handed to the encoder, and
    iter_corpus may be a one-shot generator per pass (a counting pass, then the encoding pass)."""
    from tevatron_ext.dense import encode as enc
    from tevatron_ext.models.encoder import DenseEncoder

    coll = bigger(tiny_am)
    real_iter, passes = enc.iter_corpus, []

    def one_shot(path, **kw):
        passes.append(path)
        return (d for d in real_iter(path, **kw))

    monkeypatch.setattr(enc, "iter_corpus", one_shot)
    seen, real_encode = [], DenseEncoder.encode

    def spy(self, texts, kind, **kw):
        seen.append(len(texts))
        return real_encode(self, texts, kind, **kw)

    monkeypatch.setattr(DenseEncoder, "encode", spy)
    m = encode_corpus(EncodeConfig(model=str(make_tiny_bert(tmp_path / "m")), collection=str(coll),
                                   index=tmp_path / "i", shard_size=7, progress=False))
    assert seen == [7] * 6 + [6] and m["counts"]["docs"] == 48 and len(passes) == 2


def test_config_refusals():
    with pytest.raises(ConfigError, match="shard-id"):
        EncodeConfig(model="m", collection="c", index="i", num_shards=2, shard_id=2)
    with pytest.raises(ConfigError, match="either --nproc"):
        EncodeConfig(model="m", collection="c", index="i", num_shards=2, nproc=2)


@pytest.mark.slow
def test_nproc_two_cpu_workers_equal_single_process(tmp_path, tiny_am):
    coll = bigger(tiny_am)
    model = make_tiny_bert(tmp_path / "m", pooling="cls")
    common = dict(model=str(model), collection=str(coll), progress=False)
    encode_corpus(EncodeConfig(index=tmp_path / "flat", **common))
    m = encode_corpus(EncodeConfig(index=tmp_path / "np", nproc=2, **common))
    assert m["counts"]["docs"] == 48 and len(m["merged_from"]) == 2
    assert not (tmp_path / "np.shards").exists()
    assert run_of(tmp_path, tmp_path / "np", coll, "np") == run_of(tmp_path, tmp_path / "flat", coll, "flat")
    shutil.rmtree(tmp_path / "np")
