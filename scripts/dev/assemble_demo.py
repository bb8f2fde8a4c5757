#!/usr/bin/env python3
"""Assemble the embedded demo collections from the authors' per-group files (maintainers only).

The passages, topics and word pairs were written for this project, in groups of domains, as
``{lang}_{group}_passages.jsonl``, ``{lang}_{group}_topics.jsonl`` and ``{lang}_{group}_words.tsv``.
This script validates them, assigns topics to ``dev`` (30 a language) and ``test`` with a fixed
seed, splits the word pairs 90/10 into ``trained``/``control`` (seeded), and writes the package
data under ``tevatron_ext/collections/data/demo/{am,km}/``.

It produced the first version of the data; a review pass then edited the package files directly,
so they, not this script's output, are the source of truth now (see the data card).

    python scripts/dev/assemble_demo.py SOURCE_DIR
"""
from __future__ import annotations

import json
import random
import sys
from pathlib import Path

DEST = Path(__file__).resolve().parents[2] / "tevatron_ext" / "collections" / "data" / "demo"
N_DEV = 30
SEED = 20261127


def main(src: Path) -> None:
    for lang in ("am", "km"):
        docs, topics, words = [], [], {}
        for f in sorted(src.glob(f"{lang}_g*_passages.jsonl")):
            docs += [json.loads(line) for line in f.open(encoding="utf-8") if line.strip()]
        for f in sorted(src.glob(f"{lang}_g*_topics.jsonl")):
            topics += [json.loads(line) for line in f.open(encoding="utf-8") if line.strip()]
        for f in sorted(src.glob(f"{lang}_g*_words.tsv")):
            for line in f.open(encoding="utf-8"):
                parts = line.rstrip("\n").split("\t")
                if len(parts) >= 2 and parts[0].strip() and parts[1].strip():
                    words.setdefault(parts[0].strip(), (parts[1].strip(), parts[2].strip() if len(parts) > 2 else ""))
        ids = {d["docid"] for d in docs}
        assert len(ids) == len(docs), f"{lang}: duplicate docids"
        texts = [d["text"] for d in docs]
        assert len(set(texts)) == len(texts), f"{lang}: duplicate passage texts"
        topics = [t for t in topics if t.get("qrels") and all(d in ids for d in t["qrels"])]
        out = DEST / lang
        out.mkdir(parents=True, exist_ok=True)
        with (out / "corpus.jsonl").open("w", encoding="utf-8") as fh:
            for d in docs:
                fh.write(json.dumps({"docid": d["docid"], "title": d["title"], "text": d["text"]}, ensure_ascii=False) + "\n")
        with (out / "passages.meta.tsv").open("w", encoding="utf-8") as fh:
            fh.write("docid\tdomain\tsubtopic\n")
            for d in docs:
                fh.write(f"{d['docid']}\t{d.get('domain', '')}\t{d.get('subtopic', '')}\n")
        qids = sorted(t["qid"] for t in topics)
        dev = set(random.Random(SEED).sample(qids, min(N_DEV, len(qids) // 3)))
        for split in ("dev", "test"):
            chosen = [t for t in sorted(topics, key=lambda t: t["qid"]) if (t["qid"] in dev) == (split == "dev")]
            with (out / f"topics.{split}.{lang}.tsv").open("w", encoding="utf-8") as fh:
                fh.writelines(f"{t['qid']}\t{' '.join(t['query'].split())}\n" for t in chosen)
            with (out / f"topics.{split}.en.tsv").open("w", encoding="utf-8") as fh:
                fh.writelines(f"{t['qid']}\t{' '.join(t['query_en'].split())}\n" for t in chosen)
            with (out / f"qrels.{split}.txt").open("w", encoding="utf-8") as fh:
                for t in chosen:
                    for d, rel in sorted(t["qrels"].items(), key=lambda x: (-x[1], x[0])):
                        fh.write(f"{t['qid']} 0 {d} {int(rel)}\n")
        with (out / "topics.styles.tsv").open("w", encoding="utf-8") as fh:
            fh.write("qid\tstyle\n")
            fh.writelines(f"{t['qid']}\t{t.get('style', '')}\n" for t in sorted(topics, key=lambda t: t["qid"]))
        pairs = sorted(words.items())
        control = set(random.Random(SEED).sample(range(len(pairs)), round(len(pairs) * 0.1)))
        with (out / "words.tsv").open("w", encoding="utf-8") as fh:
            for i, (src_w, (tgt, cat)) in enumerate(pairs):
                fh.write(f"{src_w}\t{tgt}\t{cat}\t{'control' if i in control else 'trained'}\n")
        print(f"{lang}: {len(docs)} passages, {len(topics)} topics ({len(dev)} dev), {len(pairs)} word pairs")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
