"""Encoding: tevatron-ext's encoder vs Pyserini's AutoDocumentEncoder vs a plain transformers loop.

All three embed the same passages with multilingual-E5-small from the zoo (mean pooling, L2
normalisation, "passage: " prefix, max length 256, batch size 32):

* ours: ``DenseEncoder.encode`` as ``tevatron-ext encode`` runs it (length-sorted batches,
  ``torch.inference_mode``, bf16 autocast where the CPU has native bf16; fp32 stays selectable);
* Pyserini: ``pyserini.encode.AutoDocumentEncoder(pooling="mean", l2_norm=True, prefix="passage: ")``
  called as ``python -m pyserini.encode`` calls it (batches in corpus order, ``max_length=256``);
* plain: a hand-written fp32 transformers loop (corpus order, ``torch.no_grad``).

Repeats are interleaved (ours, Pyserini, ours, Pyserini, ...) and summarised by medians. The
quality guard: cosine of ours (bf16) to ours (fp32) per passage, and nDCG@10 of FAISS IndexFlatIP
search with bf16 vs fp32 embeddings (queries and passages) on a demo collection's test split.
"""
from __future__ import annotations

import random
from typing import Any

import common
import numpy as np

BATCH = 32
MODEL = "multilingual-e5-small"
TARGET = 1.5
QUICK_PASSAGES = 48


def _guard_set(lang: str, quick: bool, seed: int) -> tuple[list[dict], dict[str, str], dict, str]:
    """Passages, test topics and qrels; quick: the relevant passages of some topics plus distractors (64 passages)."""
    from tevatron_ext.collections import get_collection

    coll = common.demo_collection(lang)
    if coll is None:
        from tevatron_ext.collections import local_collection

        coll = local_collection(common.FIXTURES / f"tiny-{lang}")
        split, source = "default", f"tests/fixtures/tiny-{lang} (demo data absent)"
    else:
        coll = get_collection(f"demo-{lang}")
        split, source = "test", f"demo-{lang} test"
    docs, _ = common.load_docs(lang)
    topics, qrels = coll.topics(split), coll.qrels(split)
    if quick and len(docs) > QUICK_PASSAGES:
        rng = random.Random(seed)
        qids = sorted(q for q in topics if q in qrels)
        rng.shuffle(qids)
        keep: set[str] = set()
        chosen = []
        for q in qids:
            rel = {d for d, r in qrels[q].items() if r > 0}
            if len(keep | rel) > QUICK_PASSAGES // 2:
                break
            keep |= rel
            chosen.append(q)
        others = [d["docid"] for d in docs if d["docid"] not in keep]
        keep |= set(rng.sample(others, QUICK_PASSAGES - len(keep)))
        docs = [d for d in docs if d["docid"] in keep]  # corpus order kept
        topics = {q: topics[q] for q in chosen}
        qrels = {q: qrels[q] for q in chosen}
        source += f" subset: {len(docs)} passages, {len(topics)} topics"
    return docs, topics, qrels, source


def _ndcg(qvecs: np.ndarray, pvecs: np.ndarray, qids: list[str], docids: list[str], qrels: dict) -> tuple[float, dict]:
    import faiss

    from tevatron_ext.evaluation import evaluate

    faiss.omp_set_num_threads(1)  # tiny search; a 2-thread FAISS pool would slow later torch work (common.faiss_release)
    index = faiss.IndexFlatIP(pvecs.shape[1])
    index.add(np.ascontiguousarray(pvecs, dtype=np.float32))
    scores, ids = index.search(np.ascontiguousarray(qvecs, dtype=np.float32), min(100, len(docids)))
    run = {q: {docids[j]: float(s) for s, j in zip(scores[i], ids[i]) if j >= 0} for i, q in enumerate(qids)}
    agg, per_query = evaluate(qrels, run, ["nDCG@10"])
    return agg["nDCG@10"], per_query["nDCG@10"]


def run(quick: bool) -> list[dict[str, Any]]:
    import torch

    from tevatron_ext.common.jvm import pyserini_ready
    from tevatron_ext.models.encoder import bf16_supported, pool
    from tevatron_ext.models.zoo import load_encoder, prepare

    seed = 13
    threads = common.torch_threads()
    repeats = 2 if quick else 3
    model_dir = str(prepare(MODEL))
    ours_enc = load_encoder(MODEL)
    bf16 = bf16_supported()
    c = ours_enc.contract
    max_len = c.passage_max_length

    langs = ["am"] if quick else ["am", "km"]
    sets = {lang: _guard_set(lang, quick, seed) for lang in langs}
    docs, _, _, source = sets["am"]
    texts = [common.passage_text(d) for d in docs]

    pyserini_ready()  # importing pyserini.encode starts the JVM
    from pyserini.encode import AutoDocumentEncoder

    theirs_enc = AutoDocumentEncoder(model_dir, device="cpu", pooling="mean", l2_norm=True, prefix=c.passage_prefix)
    tok = ours_enc.tokenizer
    model = ours_enc.passage_model
    same_ids = (tok([c.passage_prefix + texts[0]])["input_ids"]
                == theirs_enc.tokenizer([f"{c.passage_prefix} {texts[0]}"])["input_ids"])

    def ours() -> np.ndarray:
        return ours_enc.encode(texts, "passage", batch_size=BATCH, precision="bf16" if bf16 else "fp32")

    def ours_fp32() -> np.ndarray:
        return ours_enc.encode(texts, "passage", batch_size=BATCH)

    def pyserini() -> np.ndarray:  # as `python -m pyserini.encode` calls it: corpus-order batches
        return np.concatenate([theirs_enc.encode(texts=texts[i:i + BATCH], max_length=max_len, fp16=False, add_sep=False)
                               for i in range(0, len(texts), BATCH)])

    def plain() -> np.ndarray:
        out = []
        with torch.no_grad():
            for i in range(0, len(texts), BATCH):
                batch = tok([c.passage_prefix + t for t in texts[i:i + BATCH]], padding=True, truncation=True,
                            max_length=max_len, return_tensors="pt")
                h = model(**batch).last_hidden_state
                out.append(torch.nn.functional.normalize(pool(h, batch["attention_mask"], "mean"), dim=-1).numpy())
        return np.concatenate(out)

    # warm-up (first calls allocate, pick kernels), then interleaved repeats
    ours_enc.encode(texts[:8], "passage", batch_size=BATCH, precision="bf16" if bf16 else "fp32")
    theirs_enc.encode(texts=texts[:8], max_length=max_len)
    cpu: dict[str, list[float]] = {}
    times, outs = common.interleave({"ours": ours, "pyserini": pyserini}, repeats, cpu)
    # quick: the plain fp32 loop doubles as the fp32 reference; full: ours in fp32 too
    extra = {"plain": plain} if quick else {"ours_fp32": ours_fp32, "plain": plain}
    times2, outs2 = common.interleave(extra, 1, cpu)
    times.update(times2)
    outs.update(outs2)
    fp32 = outs.get("ours_fp32", outs["plain"])
    n = len(texts)
    pps = {k: n / common.median(v) for k, v in times.items()}
    cpu_ratio = common.median(cpu["pyserini"]) / common.median(cpu["ours"])

    # quality guard: bf16 vs fp32 embeddings of the same passages, and nDCG@10 with each
    cos = (outs["ours"] * fp32).sum(1)
    cos_pys = (fp32 * outs["pyserini"]).sum(1)
    guard_rows = []
    ndcg: dict[str, dict[str, float]] = {}
    for lang, (ldocs, topics, qrels, lsource) in sets.items():
        ltexts = [common.passage_text(d) for d in ldocs]
        if lang == "am":
            p16, p32 = outs["ours"], fp32
        else:
            p16 = ours_enc.encode(ltexts, "passage", batch_size=BATCH, precision="bf16" if bf16 else "fp32")
            p32 = ours_enc.encode(ltexts, "passage", batch_size=BATCH)
            cos = np.concatenate([cos, (p16 * p32).sum(1)])
        qids = list(topics)
        q16 = ours_enc.encode([topics[q] for q in qids], "query", batch_size=64, precision="bf16" if bf16 else "fp32")
        q32 = ours_enc.encode([topics[q] for q in qids], "query", batch_size=64)
        docids = [d["docid"] for d in ldocs]
        (n16, pq16), (n32, pq32) = _ndcg(q16, p16, qids, docids, qrels), _ndcg(q32, p32, qids, docids, qrels)
        changed = sorted(q for q in pq32 if abs(pq16.get(q, 0.0) - pq32[q]) > 1e-9)
        ndcg[lang] = {"bf16": n16, "fp32": n32, "source": lsource, "queries_changed": changed}
        diff = abs(n16 - n32)
        guard_rows.append(common.result(
            f"encode quality guard ({lsource}): nDCG@10 bf16 vs fp32", ndcg[lang]["bf16"], ndcg[lang]["fp32"], "nDCG@10",
            target_text="|diff| <= 0.002", met=diff <= 0.002 if bf16 else None,
            digits=4, short=f"|diff| {diff:.4f}; {len(changed)} of {len(qids)} topics changed",
            note=f"|diff|={diff:.4f}; {len(changed)} of {len(qids)} topics changed their nDCG@10 "
                 f"(one topic moving its relevant passage from rank 1 to 2 shifts the mean by {0.369 / len(qids):.4f}); "
                 f"FAISS IndexFlatIP, {len(qids)} topics, {len(docids)} passages"
                 + ("" if bf16 else "; bf16 not supported here: both runs are fp32")))
    cos_min = float(cos.min())
    guard = f"guard: cos(bf16, fp32) min {cos_min:.6f} over {len(cos)} passages; " + "; ".join(
        f"nDCG@10 {lang} bf16 {v['bf16']:.4f} vs fp32 {v['fp32']:.4f}" for lang, v in ndcg.items())

    details = {"passages": n, "source": source, "batch_size": BATCH, "max_length": max_len, "repeats": repeats,
               "bf16": bf16, "seconds": times, "cpu_seconds": cpu, "cpu_time_ratio": cpu_ratio, "passages_per_s": pps, "same_input_ids_as_pyserini": bool(same_ids),
               "cos_bf16_fp32_min": cos_min, "cos_ours_fp32_vs_pyserini_min": float(cos_pys.min()), "ndcg": ndcg,
               "torch_threads": threads}
    rows = [
        common.result("encode passages/s: tevatron-ext vs pyserini AutoDocumentEncoder", pps["ours"], pps["pyserini"],
                      "passages/s", target=TARGET,
                      short=f"{'bf16 autocast' if bf16 else 'fp32'} + length-sorted batches + inference_mode vs Pyserini's "
                            f"fp32 corpus-order batches; {n} passages, batch {BATCH}; {common.threads_note()}",
                      note=f"ours={'bf16 autocast' if bf16 else 'fp32 (no native bf16)'} + length-sorted + inference_mode; "
                           f"{n} passages ({source}), batch {BATCH}, medians of {repeats} interleaved "
                           f"(CPU-time ratio {cpu_ratio:.2f}), {common.threads_note()}; {guard}",
                      details=details),
        common.result("encode passages/s: tevatron-ext vs plain transformers loop (fp32, corpus order, no_grad)",
                      pps["ours"], pps["plain"], "passages/s"),
        *([common.result("encode passages/s: tevatron-ext fp32 (sorted, inference_mode, no bf16) vs AutoDocumentEncoder",
                         pps["ours_fp32"], pps["pyserini"], "passages/s",
                         note="what length-sorting and inference_mode alone give, without bf16")] if "ours_fp32" in pps else []),
        common.result("encode quality guard: min cosine bf16 vs fp32 embeddings", cos_min, None, "cosine", digits=6,
                      target_text="min cosine >= 0.9999", met=cos_min >= 0.9999,
                      note=f"over {len(cos)} passages, fp32 reference: {'ours in fp32' if 'ours_fp32' in outs else 'the plain fp32 loop'}; "
                           f"our fp32 vs AutoDocumentEncoder min cosine {float(cos_pys.min()):.6f}"),
        *guard_rows,
    ]
    return rows


if __name__ == "__main__":
    common.main(run)
