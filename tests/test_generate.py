"""Tests for the ``generate`` stage: prompts, the record file and its resume rules, ICT and cropping,
and the ``hf`` backend on a tiny random causal LM (byte-level BPE, 2 layers) built here.
The ``openai`` backend is tested against a local HTTP server in ``test_generate_server.py``."""
from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest

from tevatron_ext.common.errors import ConfigError, InputError, OutputError
from tevatron_ext.common.formats import read_corpus
from tevatron_ext.generate import GenerateConfig, generate, latest, read_generations
from tevatron_ext.generate.baselines import split_sentences, word_spans
from tevatron_ext.generate.core import sample_docs
from tevatron_ext.generate.records import GenerationFile
from tevatron_ext.generate.templates import available, find_prompt, load_prompt_file, prompts_dir

ETHIOPIC = re.compile(r"[\u1200-\u137F]")
KHMER = re.compile(r"[\u1780-\u17FF]")
LATIN = re.compile(r"[A-Za-z]")


def run(coll: Path, out: Path, **kw) -> dict:
    return generate(GenerateConfig(collection=str(coll), out=out, progress=False, **kw))


# --------------------------------------------------------------------------- prompts
def _blocks(text: str) -> list[dict[str, str]]:
    """The few-shot examples of a completion prompt as {label: value} dicts (the open last block dropped)."""
    out = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if fields and "{passage}" not in block:
            out.append(fields)
    return out


@pytest.mark.parametrize("pair, passage_script, query_script", [
    ("am-am", ETHIOPIC, ETHIOPIC), ("en-am", ETHIOPIC, LATIN), ("km-km", KHMER, KHMER), ("en-km", KHMER, LATIN)])
@pytest.mark.parametrize("variant", ["fewshot", "summarize"])
def test_shipped_completion_prompts_have_native_examples(variant, pair, passage_script, query_script):
    q, p = pair.split("-")
    prompt = find_prompt(variant, q, p, chat=False)
    assert prompt.id == f"{variant}.{pair}.txt" and prompt.kind == "completion"
    assert prompt.text.count("{passage}") == 1
    assert prompt.text.endswith("Question:" if variant == "fewshot" else "Summary:")
    examples = _blocks(prompt.text)
    assert 2 <= len(examples) <= 3
    assert prompt.example_questions == [ex["Question"] for ex in examples]
    for ex in examples:
        passage, question = ex["Passage"], ex["Question"]
        assert passage_script.search(passage) and not LATIN.search(passage)
        assert query_script.search(question) and question.endswith("?")
        if query_script is not LATIN:
            assert not LATIN.search(question)
        else:
            assert question.isascii()
        if variant == "summarize":
            assert passage_script.search(ex["Summary"]) and not LATIN.search(ex["Summary"])
        if p == "km":  # Khmer writes no spaces inside phrases: only a few, between clauses
            assert passage.count(" ") <= 4
        if q == "km":
            assert " " not in question


def test_few_shot_examples_are_not_fixture_passages(fixtures):
    texts = {f: (prompts_dir() / f).read_text(encoding="utf-8") for f in available()}
    for lang in ("am", "km"):
        for doc in read_corpus(fixtures / f"tiny-{lang}" / "corpus.jsonl").values():
            for sentence in re.split("[።។]", doc.text):
                if len(sentence.strip()) > 8:
                    assert not any(sentence.strip() in t for t in texts.values()), sentence


def test_every_shipped_prompt_loads():
    names = available()
    assert {"fewshot.xx-yy.txt", "summarize.xx-yy.txt", "chat.xx-yy.json", "chat-summarize.xx-yy.json"} <= set(names)
    for name in names:
        p = load_prompt_file(prompts_dir() / name, "sw", "sw")
        assert p.id == name and len(p.hash) == 64
        assert "{query_language_name}" not in p.text and "{passage_language_name}" not in p.text
        rendered = p.render("PASSAGE-TEXT")
        assert "PASSAGE-TEXT" in (rendered if isinstance(rendered, str) else json.dumps(rendered))


def test_generic_template_names_the_languages_and_hashes_them():
    sw = find_prompt("fewshot", "sw", "sw", chat=False)
    yo = find_prompt("fewshot", "en", "yo", chat=False)
    assert sw.id == yo.id == "fewshot.xx-yy.txt"
    assert sw.text.endswith("Passage (Swahili): {passage}\nQuestion (Swahili):")
    assert yo.text.endswith("Passage (Yoruba): {passage}\nQuestion (English):")
    assert sw.hash != yo.hash
    assert find_prompt("fewshot", "am", "am", chat=False).hash == find_prompt("fewshot", "am", "am", chat=False).hash
    chat = find_prompt("summarize", "km", "km", chat=True)
    assert chat.id == "chat-summarize.xx-yy.json" and chat.kind == "chat" and chat.summarize
    msgs = chat.render("ភ្នំពេញ")
    assert msgs[0]["role"] == "system" and "Khmer" in msgs[0]["content"] and "ភ្នំពេញ" in msgs[1]["content"]


def test_parsing_outputs():
    few = find_prompt("fewshot", "am", "am", chat=False)
    assert few.parse(" ቡና የት ይመረታል?\n\nPassage: ...") == ("ቡና የት ይመረታል?", None)
    assert few.parse("  \n") == ("", None)
    summ = find_prompt("summarize", "am", "am", chat=False)
    assert summ.parse(" ስለ ቡና።\nQuestion: ቡና የት ይመረታል?\n\n") == ("ቡና የት ይመረታል?", "ስለ ቡና።")
    assert summ.parse(" ስለ ቡና። ብቻ") == ("", None)
    generic = find_prompt("summarize", "sw", "sw", chat=False)
    assert generic.parse(" Muhtasari.\nQuestion (Swahili): Kahawa inalimwa wapi?\n") == ("Kahawa inalimwa wapi?", "Muhtasari.")
    chat = find_prompt("chat", "km", "km", chat=True)
    assert chat.parse('\n"តើម្រេចដាំនៅឯណា?"\nExplanation: ...') == ("តើម្រេចដាំនៅឯណា?", None)
    assert chat.parse("Question: **តើម្រេចដាំនៅឯណា?**") == ("តើម្រេចដាំនៅឯណា?", None)


def test_custom_prompt_file(tmp_path, tiny_am):
    bad = tmp_path / "bad.txt"
    bad.write_text("no placeholder here\n", encoding="utf-8")
    with pytest.raises(InputError, match="exactly one"):
        load_prompt_file(bad, "am", "am")
    bad_chat = tmp_path / "bad.json"
    bad_chat.write_text('{"messages": "x"}', encoding="utf-8")
    with pytest.raises(InputError, match="messages"):
        load_prompt_file(bad_chat, "am", "am")


# --------------------------------------------------------------------------- records, resume
def _rec(docid: str, slot: int = 0, **kw) -> dict:
    r = {"docid": docid, "slot": slot, "query": "q?", "status": "ok", "error": None, "method": "ict", "backend": None,
         "model": None, "prompt_id": None, "prompt_hash": None, "params": {}, "seed": 0, "passage_language": "am",
         "query_language": "am", "raw": None}
    r.update(kw)
    return r


def _write(path: Path, lines: list[str], end: str = "\n") -> None:
    path.write_text("\n".join(lines) + end, encoding="utf-8")


@pytest.mark.parametrize("bad, message", [
    ("{not json", "invalid JSON"),
    (json.dumps({k: v for k, v in _rec("a").items() if k != "slot"}), "missing field 'slot'"),
    (json.dumps(_rec("a", status="done")), "status"),
    (json.dumps(_rec("a", slot="0")), "'slot' must be int"),
    (json.dumps(_rec("a", query="")), "empty query"),
    (json.dumps(_rec("a", method="magic")), "method"),
    ("[1, 2]", "JSON object"),
])
def test_read_generations_names_file_and_line(tmp_path, bad, message):
    path = tmp_path / "g.jsonl"
    _write(path, [json.dumps(_rec("a")), bad, json.dumps(_rec("b"))])
    with pytest.raises(InputError, match=message) as err:
        read_generations(path)
    assert err.value.line == 2 and err.value.path == str(path)


def test_read_generations_rejects_a_torn_last_line_outside_resume(tmp_path):
    path = tmp_path / "g.jsonl"
    _write(path, [json.dumps(_rec("a")), '{"docid": "b", "sl'], end="")
    with pytest.raises(InputError) as err:
        read_generations(path)
    assert err.value.line == 2
    with pytest.raises(InputError, match="not found"):
        read_generations(tmp_path / "missing.jsonl")


def test_resume_truncates_a_torn_last_line_with_a_warning(tmp_path, caplog):
    path = tmp_path / "g.jsonl"
    good = json.dumps(_rec("a"))
    _write(path, [good, '{"docid": "b", "sl'], end="")
    with caplog.at_level(logging.WARNING), GenerationFile(path) as gf:
        assert [r["docid"] for r in gf.records] == ["a"]
        gf.append([_rec("c")])
    assert "torn last line 2" in caplog.text
    assert path.read_text(encoding="utf-8") == good + "\n" + json.dumps(_rec("c"), ensure_ascii=False) + "\n"
    # an invalid last line that did get its newline is torn too
    _write(path, [good, '{"docid": "b", "sl'])
    with GenerationFile(path) as gf:
        assert gf.repaired and len(gf.records) == 1
    assert path.read_text(encoding="utf-8") == good + "\n"
    # a complete record that only lost its newline is kept
    _write(path, [good, json.dumps(_rec("b"))], end="")
    with GenerationFile(path) as gf:
        assert [r["docid"] for r in gf.records] == ["a", "b"] and "newline" in gf.repaired
    assert path.read_text(encoding="utf-8").endswith("\n")
    # a bad line in the middle is not a torn write: it is an error
    _write(path, [good, "{oops", good])
    with pytest.raises(InputError) as err, GenerationFile(path):
        pass
    assert err.value.line == 2


def test_a_second_writer_is_refused(tmp_path):
    path = tmp_path / "g.jsonl"
    with GenerationFile(path), pytest.raises(OutputError, match="another process"), GenerationFile(path):
        pass
    with GenerationFile(path):  # released
        pass


def test_latest_record_wins():
    recs = [_rec("a", status="failed", query="", error="x"), _rec("b"), _rec("a", query="new?")]
    final = latest(recs)
    assert final[("a", 0)]["query"] == "new?" and len(final) == 2


# --------------------------------------------------------------------------- ICT and cropping
def test_split_sentences():
    text = "አዲስ አበባ የኢትዮጵያ ዋና ከተማ ናት። ከተማዋ በ1879 ዓ.ም. ተመሠረተች።"
    assert [text[s:e] for s, e in split_sentences(text)] == ["አዲስ አበባ የኢትዮጵያ ዋና ከተማ ናት።", "ከተማዋ በ1879 ዓ.ም. ተመሠረተች።"]
    en = "The river is 3.5 km long. Is it deep? Yes! Very"
    assert [en[s:e] for s, e in split_sentences(en)] == ["The river is 3.5 km long.", "Is it deep?", "Yes!", "Very"]
    km = "ភ្នំពេញជារាជធានី។ទីក្រុងនេះធំ៕"
    assert [km[s:e] for s, e in split_sentences(km)] == ["ភ្នំពេញជារាជធានី។", "ទីក្រុងនេះធំ៕"]
    assert split_sentences("   ") == [] and split_sentences("።") == []


@pytest.mark.parametrize("lang", ["am", "km"])
def test_ict_query_is_a_sentence_and_not_in_the_positive(tmp_path, fixtures, lang):
    coll = fixtures / f"tiny-{lang}"
    docs = read_corpus(coll / "corpus.jsonl")
    out = tmp_path / "ict.jsonl"
    counts = run(coll, out, method="ict", per_passage=3, seed=3)
    assert counts["ok"] == 24
    recs = read_generations(out)
    for r in recs:
        text = docs[r["docid"]].text
        sentences = [text[s:e] for s, e in split_sentences(text)]
        assert r["method"] == "ict" and r["query"] in sentences
        assert r["query"] not in r["positive_text"]
        assert sorted([r["query"], *(s for s in sentences if s in r["positive_text"])]) == sorted(sentences)
    # deterministic per seed; another seed picks other sentences somewhere
    run(coll, tmp_path / "again.jsonl", method="ict", per_passage=3, seed=3)
    assert (tmp_path / "again.jsonl").read_bytes() == out.read_bytes()
    run(coll, tmp_path / "other.jsonl", method="ict", per_passage=3, seed=4)
    other = read_generations(tmp_path / "other.jsonl")
    assert [r["query"] for r in other] != [r["query"] for r in recs]


@pytest.mark.parametrize("lang", ["am", "km"])
def test_crop_spans_lie_in_the_passage(tmp_path, fixtures, lang):
    coll = fixtures / f"tiny-{lang}"
    docs = read_corpus(coll / "corpus.jsonl")
    out = tmp_path / "crop.jsonl"
    run(coll, out, method="crop", per_passage=4, seed=11)
    recs = read_generations(out)
    assert len(recs) == 32 and all(r["status"] == "ok" for r in recs)
    for r in recs:
        text = docs[r["docid"]].text
        n = len(word_spans(text, lang))
        for span in (r["query"], r["positive_text"]):
            assert span and span in text
            k = len(word_spans(span, lang))
            assert 1 <= k <= max(1, int(0.5 * n)) + 1  # +1: a segmenter may split a cut word differently
    assert r["params"]["words"] == ("khmer-nltk" if lang == "km" else "whitespace")
    run(coll, tmp_path / "again.jsonl", method="crop", per_passage=4, seed=11)
    assert (tmp_path / "again.jsonl").read_bytes() == out.read_bytes()


def test_khmer_words_come_from_segmentation():
    text = "ភ្នំពេញជារាជធានីនៃប្រទេសកម្ពុជា។"
    words = [text[s:e] for s, e in word_spans(text, "km")]
    assert words == ["ភ្នំពេញ", "ជា", "រាជធានី", "នៃ", "ប្រទេស", "កម្ពុជា"]
    assert len(word_spans(text, "am")) == 1


def test_one_sentence_passage_is_an_unparsed_ict_record(tmp_path):
    coll = tmp_path / "c"
    coll.mkdir()
    (coll / "corpus.jsonl").write_text(json.dumps({"docid": "d1", "title": "", "text": "አንድ ዓረፍተ ነገር ብቻ።"},
                                                  ensure_ascii=False) + "\n", encoding="utf-8")
    (coll / "topics.tsv").write_text("q1\tx\n", encoding="utf-8")
    (coll / "collection.json").write_text('{"language": "am"}', encoding="utf-8")
    out = tmp_path / "o.jsonl"
    counts = run(coll, out, method="ict")
    assert counts["unparsed"] == 1 and counts["failed"] == 0 and counts["complete"] == 1
    r = read_generations(out)[0]
    assert r["status"] == "unparsed" and "at least 2 sentences" in r["error"] and r["query"] == ""
    # the passage cannot give a query: a rerun keeps the record instead of trying again
    again = run(coll, out, method="ict")
    assert (again["skipped"], again["unparsed"], len(read_generations(out))) == (1, 0, 1)


def test_resume_skips_done_items_and_regenerates_on_change(tmp_path, fixtures):
    coll = fixtures / "tiny-am"
    out = tmp_path / "o.jsonl"
    run(coll, out, method="crop", per_passage=2)
    lines = out.read_text(encoding="utf-8").splitlines(keepends=True)
    out.write_text("".join(lines[:5]), encoding="utf-8")
    counts = run(coll, out, method="crop", per_passage=2)
    assert (counts["skipped"], counts["ok"], counts["complete"], counts["records"]) == (5, 11, 16, 16)
    assert "".join(lines) == out.read_text(encoding="utf-8")
    counts = run(coll, out, method="crop", per_passage=2, seed=1)  # another seed: everything again
    assert (counts["skipped"], counts["ok"]) == (0, 16)
    counts = run(coll, out, method="crop", per_passage=3, seed=1)  # a new slot only
    assert (counts["skipped"], counts["ok"]) == (16, 8)
    m = json.loads((tmp_path / "o.jsonl.manifest.json").read_text())
    assert m["kind"] == "generate" and m["counts"]["ok"] == 8 and m["seed"] == 1 and m["config"]["method"] == "crop"


def test_sample_is_seeded_and_keeps_corpus_order(fixtures):
    docs = list(read_corpus(fixtures / "tiny-am" / "corpus.jsonl").values())
    a, b = sample_docs(docs, 3, 5), sample_docs(docs, 3, 5)
    assert a == b and len(a) == 3
    assert [docs.index(d) for d in a] == sorted(docs.index(d) for d in a)
    assert sample_docs(docs, 100, 5) == docs


@pytest.mark.parametrize("kw, message", [
    (dict(method="ict", model="x"), "--model: only for --method llm"),
    (dict(method="ict", bf16=False), "--bf16: only for --method llm"),
    (dict(method="crop", greedy=True, temperature=0.5), "only for --method llm"),
    (dict(backend="hf", base_url="http://x"), "--base-url: not used by --backend hf"),
    (dict(threads=0), "--threads must be >= 1"),
    (dict(greedy=True, temperature=0.5), "--greedy"),
    (dict(per_passage=0), "--per-passage must be >= 1"),
    (dict(method="magic"), "unknown method"),
    (dict(temperature=0.0), "--temperature must be > 0"),
])
def test_flags_outside_their_method_are_rejected(tmp_path, fixtures, kw, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        run(fixtures / "tiny-am", tmp_path / "o.jsonl", **kw)


def test_cli_runs_a_baseline(tmp_path, fixtures):
    from click.testing import CliRunner

    from tevatron_ext.cli import main

    out = tmp_path / "o.jsonl"
    res = CliRunner().invoke(main, ["generate", "-c", str(fixtures / "tiny-am"), "-o", str(out), "--method", "ict",
                                    "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "8 ok, 0 unparsed, 0 failed" in res.output
    res = CliRunner().invoke(main, ["generate", "-c", str(fixtures / "tiny-am"), "-o", str(out), "--method", "ict",
                                    "--temperature", "0.3"])
    assert res.exit_code != 0 and "only for --method llm" in res.output


# --------------------------------------------------------------------------- hf backend on a tiny random LM
def make_tiny_causal_lm(out_dir: Path, seed: int = 0, zero_norm: bool = False) -> Path:
    """A random 2-layer Llama with a byte-level BPE tokenizer (no merges: one token a byte, newline is id 0)."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    alphabet.remove("Ċ")  # the byte-level form of "\n"
    vocab = {t: i for i, t in enumerate(["Ċ", "<pad>", "<s>", "</s>", *alphabet])}
    tk = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, pad_token="<pad>", bos_token="<s>", eos_token="</s>")
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=2048,
                         pad_token_id=vocab["<pad>"], bos_token_id=vocab["<s>"], eos_token_id=vocab["</s>"])
    model = LlamaForCausalLM(config)
    if zero_norm:  # every logit 0: greedy picks id 0, the newline
        with torch.no_grad():
            model.model.norm.weight.zero_()
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out_dir))
    tok.save_pretrained(str(out_dir))
    return out_dir


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory) -> Path:
    pytest.importorskip("transformers")
    return make_tiny_causal_lm(tmp_path_factory.mktemp("tiny-lm"))


@pytest.fixture
def short_prompt(tmp_path) -> Path:
    p = tmp_path / "short.txt"
    p.write_text("Passage: {passage}\nQuestion:\n", encoding="utf-8")
    return p


@pytest.fixture
def tail_prompt(tmp_path) -> Path:
    """A prompt ending in the passage, so that even a random model's continuation depends on the passage."""
    p = tmp_path / "tail.txt"
    p.write_text("Question about: {passage}\n", encoding="utf-8")
    return p


def _raws(path: Path) -> dict:
    return {k: (r["raw"], r["query"], r["stop"]) for k, r in latest(read_generations(path)).items()}


def test_hf_left_padded_batches_match_batch_size_1(tmp_path, fixtures, tiny_lm, tail_prompt):
    kw = dict(model=str(tiny_lm), prompt=tail_prompt, greedy=True, bf16=False, max_new_tokens=12, threads=1)
    run(fixtures / "tiny-am", tmp_path / "b8.jsonl", batch_size=8, **kw)
    run(fixtures / "tiny-am", tmp_path / "b1.jsonl", batch_size=1, **kw)
    b8, b1 = _raws(tmp_path / "b8.jsonl"), _raws(tmp_path / "b1.jsonl")
    assert len(b8) == 8 and b8 == b1
    assert len({raw for raw, _, _ in b8.values()}) > 1  # the passages (of different lengths) do matter
    rec = read_generations(tmp_path / "b8.jsonl")[0]
    assert rec["backend"] == "hf" and rec["model"] == str(tiny_lm) and rec["prompt_id"] == "tail.txt"
    assert rec["params"] == {"max_new_tokens": 12, "greedy": True, "dtype": "float32", "max_prompt_tokens": 1024}


def test_hf_seeded_sampling_reproduces_and_leaves_global_rng_alone(tmp_path, fixtures, tiny_lm, tail_prompt):
    import torch

    kw = dict(model=str(tiny_lm), prompt=tail_prompt, bf16=False, max_new_tokens=10, per_passage=2, batch_size=4,
              threads=1)
    torch.manual_seed(123)
    state, threads = torch.get_rng_state(), torch.get_num_threads()
    run(fixtures / "tiny-km", tmp_path / "a.jsonl", seed=5, **kw)
    assert torch.equal(torch.get_rng_state(), state) and torch.get_num_threads() == threads
    run(fixtures / "tiny-km", tmp_path / "b.jsonl", seed=5, **kw)
    run(fixtures / "tiny-km", tmp_path / "c.jsonl", seed=6, **kw)
    a, b, c = (_raws(tmp_path / f"{x}.jsonl") for x in "abc")
    assert a == b and a != c
    rec = read_generations(tmp_path / "a.jsonl")[0]
    assert rec["params"]["temperature"] == 0.7 and rec["params"]["top_p"] == 0.9 and rec["params"]["batch_size"] == 4
    # the two slots of a passage are different samples
    assert any(a[(d, 0)] != a[(d, 1)] for d in {k[0] for k in a})


def test_hf_truncates_long_passages_to_fit(tmp_path, fixtures, tiny_lm, short_prompt):
    from tevatron_ext.generate.hf import HFBackend

    backend = HFBackend(str(tiny_lm), max_prompt_tokens=60)
    prompt = load_prompt_file(short_prompt, "am", "am")
    passage = read_corpus(fixtures / "tiny-am" / "corpus.jsonl")["am1"].text
    text, cut = backend.build(prompt, passage, max_new_tokens=8)
    assert cut and len(backend.tok(text)["input_ids"]) <= 60 - 8
    assert text.startswith("Passage: አዲስ") and text.endswith("\nQuestion:")
    assert backend.build(prompt, "ቡና", max_new_tokens=8) == ("Passage: ቡና\nQuestion:", False)
    with pytest.raises(ConfigError, match="no room"):
        HFBackend(str(tiny_lm), max_prompt_tokens=20).build(prompt, passage, max_new_tokens=8)
    out = tmp_path / "o.jsonl"
    run(fixtures / "tiny-am", out, model=str(tiny_lm), prompt=short_prompt, greedy=True, max_prompt_tokens=60,
        max_new_tokens=8, bf16=False, threads=1)
    assert all(r.get("passage_truncated") for r in read_generations(out))


def test_hf_stops_at_the_first_newline(tmp_path, fixtures, short_prompt):
    model = make_tiny_causal_lm(tmp_path / "nl", zero_norm=True)
    out = tmp_path / "o.jsonl"
    counts = run(fixtures / "tiny-am", out, model=str(model), prompt=short_prompt, greedy=True, bf16=False, sample=2,
                 threads=1)
    assert counts["unparsed"] == 2 and counts["failed"] == 0
    for r in read_generations(out):
        assert r["raw"] == "\n" and r["stop"] == "newline" and r["error"] == "empty query" and r["status"] == "unparsed"


def test_hf_chat_prompt_needs_a_chat_template(tmp_path, fixtures, tiny_lm):
    with pytest.raises(ConfigError, match="no chat template"):
        run(fixtures / "tiny-am", tmp_path / "o.jsonl", model=str(tiny_lm), prompt_variant="chat")


def test_shipped_gemma_turn_format_folds_the_system_message_into_the_user_turn(tiny_lm):
    from transformers import AutoTokenizer

    from tevatron_ext.generate.templates import load_chat_template

    tok = AutoTokenizer.from_pretrained(str(tiny_lm))
    tok.chat_template = load_chat_template("gemma")
    text = tok.apply_chat_template([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Q?\n"},
                                    {"role": "assistant", "content": "A."}, {"role": "user", "content": "Q2"}],
                                   tokenize=False, add_generation_prompt=True)
    assert text == ("<s><start_of_turn>user\nBe brief.\n\nQ?<end_of_turn>\n<start_of_turn>model\nA.<end_of_turn>\n"
                    "<start_of_turn>user\nQ2<end_of_turn>\n<start_of_turn>model\n")
    with pytest.raises(ConfigError, match="no such file"):
        load_chat_template("llama")


def test_hf_chat_template_option_runs_chat_prompts_on_a_model_without_one(tmp_path, fixtures, tiny_lm):
    tpl = tmp_path / "t.jinja"
    tpl.write_text("{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}answer:", encoding="utf-8")
    out = tmp_path / "o.jsonl"
    counts = run(fixtures / "tiny-am", out, model=str(tiny_lm), prompt_variant="chat", chat_template=str(tpl),
                 greedy=True, bf16=False, max_new_tokens=4, sample=2, threads=1)
    assert counts["items"] == 2
    rec = read_generations(out)[0]
    assert rec["prompt_id"] == "chat.xx-yy.json" and len(rec["params"]["chat_template"]) == 16
    # a different template is a different prompt: the items are generated again, not skipped
    tpl.write_text("{% for m in messages %}{{ m['content'] }}{% endfor %}", encoding="utf-8")
    assert run(fixtures / "tiny-am", out, model=str(tiny_lm), prompt_variant="chat", chat_template=str(tpl),
               greedy=True, bf16=False, max_new_tokens=4, sample=2, threads=1)["skipped"] == 0
    with pytest.raises(ConfigError, match="applies to chat prompts"):
        run(fixtures / "tiny-am", tmp_path / "f.jsonl", model=str(tiny_lm), prompt_variant="fewshot",
            chat_template=str(tpl), bf16=False)


def test_hf_bf16_loads_bf16_weights(tiny_lm):
    import torch

    from tevatron_ext.generate.hf import HFBackend

    assert HFBackend(str(tiny_lm), bf16=True).model.dtype == torch.bfloat16
    assert HFBackend(str(tiny_lm), bf16=False).model.dtype == torch.float32


# --------------------------------------------------------------------------- the real Gemma-3-270M
def _gemma() -> Path | None:
    from tevatron_ext.common.atomic import read_manifest
    from tevatron_ext.common.paths import home

    for path in (home() / "models" / "gemma-3-270m", Path.home() / ".cache" / "tevatron_ext" / "models" / "gemma-3-270m"):
        if read_manifest(path) is not None:
            return path
    return None


@pytest.mark.slow
def test_gemma_270m_writes_amharic_questions(tmp_path, fixtures):
    model = _gemma()
    if model is None:
        pytest.skip("gemma-3-270m is not prepared (tevatron-ext models prepare gemma-3-270m)")
    out = tmp_path / "o.jsonl"
    counts = run(fixtures / "tiny-am", out, model=str(model), sample=4, batch_size=4, seed=0, threads=1)
    assert counts["items"] == 4 and counts["ok"] + counts["failed"] == 4
    recs = read_generations(out)
    assert all(r["prompt_id"] == "fewshot.am-am.txt" and r["params"]["max_new_tokens"] == 32 for r in recs)
    ok = [r for r in recs if r["status"] == "ok"]
    assert ok and sum(bool(ETHIOPIC.search(r["query"])) for r in ok) >= len(ok) // 2
    assert all("\n" not in r["query"] for r in ok)
