"""The collections registry: names -> loaders, all producing MIRACL/Pyserini files.

A collection has a passage language, a query language, splits, and for each split a corpus
(shared across splits), topics and qrels. Sources:

* ``demo-am``, ``demo-km``, ``demo-en-am``, ``demo-en-km``: shipped inside the package (offline);
* a local directory holding ``corpus.jsonl`` and ``topics[.SPLIT].tsv`` / ``qrels[.SPLIT].txt``;
* Hugging Face datasets for users with a network (MIRACL, AfriCLIRMatrix, Amharic news, Belebele,
  MKQA): materialised once into ``$TEVATRON_EXT_HOME/collections/NAME``.
"""
from __future__ import annotations

import importlib.resources
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..common.atomic import atomic_dir, read_manifest, write_manifest
from ..common.errors import InputError, TevatronExtError
from ..common.formats import Qrels, read_corpus, read_qrels, read_topics, write_corpus, write_qrels, write_topics
from ..common.paths import collections_dir
from .validate import Report, check


class UnknownCollection(TevatronExtError):
    pass


@dataclass
class Collection:
    """A collection in MIRACL/Pyserini format; files are resolved lazily (HF ones materialised on demand)."""

    name: str
    language: str  # passage language
    query_language: str
    splits: tuple[str, ...]
    description: str = ""
    source: str = "local"
    root: Path | None = None  # directory with corpus.jsonl, topics.SPLIT.tsv, qrels.SPLIT.txt
    topic_files: dict[str, Path] = field(default_factory=dict)  # split -> topics file, overrides root layout
    qrels_files: dict[str, Path] = field(default_factory=dict)
    materialise: Callable[[Path], None] | None = None  # fills root (HF sources)
    has_corpus: bool = True
    published: dict[str, Any] = field(default_factory=dict)

    def _ready(self) -> Path:
        if self.root is None:
            raise TevatronExtError(f"{self.name}: no location")
        if self.materialise is not None and read_manifest(self.root) is None:
            with atomic_dir(self.root) as tmp:
                self.materialise(tmp)
                write_manifest(self.root, kind="collection", config={"name": self.name, "source": self.source},
                               manifest=tmp / "manifest.json")
        return self.root

    def _split(self, split: str) -> str:
        if split not in self.splits:
            raise TevatronExtError(f"{self.name} has no split {split!r}; splits: {', '.join(self.splits)}")
        return split

    def corpus_path(self) -> Path:
        if not self.has_corpus:
            raise TevatronExtError(f"{self.name} has topics only (no passages); see its description")
        return self._ready() / "corpus.jsonl"

    def topics_path(self, split: str) -> Path:
        split = self._split(split)
        if split in self.topic_files:
            return self.topic_files[split]
        root = self._ready()
        return _first_existing(root, [f"topics.{split}.tsv", "topics.tsv"] if split == "default" else [f"topics.{split}.tsv"])

    def qrels_path(self, split: str) -> Path:
        split = self._split(split)
        if split in self.qrels_files:
            return self.qrels_files[split]
        root = self._ready()
        return _first_existing(root, [f"qrels.{split}.txt", "qrels.txt"] if split == "default" else [f"qrels.{split}.txt"])

    def topics(self, split: str) -> dict[str, str]:
        return read_topics(self.topics_path(split))

    def qrels(self, split: str) -> Qrels:
        return read_qrels(self.qrels_path(split))

    def validate(self, split: str) -> Report:
        docids = set(read_corpus(self.corpus_path())) if self.has_corpus else None
        return check(docids, self.topics(split), self.qrels(split))

    def export(self, out_dir: str | Path, split: str) -> dict[str, int]:
        """Write ``corpus.jsonl``, ``topics.tsv`` and ``qrels.txt`` of ``split`` into ``out_dir``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        counts = {}
        if self.has_corpus:
            counts["docs"] = write_corpus(out / "corpus.jsonl", read_corpus(self.corpus_path()).values())
        counts["topics"] = write_topics(out / "topics.tsv", self.topics(split))
        counts["judgments"] = write_qrels(out / "qrels.txt", self.qrels(split))
        return counts

    def info(self) -> dict[str, Any]:
        return {"name": self.name, "language": self.language, "query_language": self.query_language,
                "splits": list(self.splits), "source": self.source, "description": self.description,
                **({"published": self.published} if self.published else {})}


def _first_existing(root: Path, names: list[str]) -> Path:
    for n in names:
        if (root / n).is_file():
            return root / n
    raise InputError(root / names[0], None, "file not found")


# --------------------------------------------------------------------------- embedded demo
DEMO_LANGS = {"am": "Amharic", "km": "Khmer"}


def demo_root() -> Path:
    return Path(str(importlib.resources.files("tevatron_ext.collections").joinpath("data/demo")))


def _demo(lang: str, query_lang: str) -> Collection:
    root = demo_root() / lang
    splits = ("dev", "test")
    name = f"demo-{lang}" if query_lang == lang else f"demo-{query_lang}-{lang}"
    return Collection(
        name=name, language=lang, query_language=query_lang, splits=splits, source="embedded",
        description=f"Embedded demo: {DEMO_LANGS[lang]} passages, {'English' if query_lang == 'en' else DEMO_LANGS[lang]} "
                    "topics, written for this project (see DATA_CARD.md)",
        root=root,
        topic_files={s: root / f"topics.{s}.{query_lang}.tsv" for s in splits},
        qrels_files={s: root / f"qrels.{s}.txt" for s in splits},
    )


# --------------------------------------------------------------------------- Hugging Face sources
def _load_dataset(*args: Any, **kwargs: Any):
    """``datasets.load_dataset``; needs a network (or a local HF cache). Patched in tests."""
    import datasets

    return datasets.load_dataset(*args, **kwargs)


def rows_to_miracl_files(dest: Path, topic_rows: Mapping[str, Iterable[Mapping]], corpus_rows: Iterable[Mapping]) -> None:
    """MIRACL layout: topic rows ``{query_id, query, positive_passages, negative_passages}`` per split,
    corpus rows ``{docid, title, text}``. Positives get relevance 1, judged negatives 0."""
    write_corpus(dest / "corpus.jsonl", ({"docid": str(r["docid"]), "title": r.get("title") or "", "text": r["text"]}
                                          for r in corpus_rows))
    for split, rows in topic_rows.items():
        topics: dict[str, str] = {}
        qrels: Qrels = {}
        for r in rows:
            qid = str(r["query_id"])
            topics[qid] = r["query"]
            judged = qrels.setdefault(qid, {})
            for p in r.get("negative_passages") or []:
                judged[str(p["docid"])] = 0
            for p in r.get("positive_passages") or []:
                judged[str(p["docid"])] = 1
        write_topics(dest / f"topics.{split}.tsv", topics)
        write_qrels(dest / f"qrels.{split}.txt", qrels)


def rows_to_pair_files(dest: Path, split_rows: Mapping[str, Iterable[Mapping]], query_field: str = "query",
                       passage_field: str = "passage", title_field: str | None = None, prefix: str = "") -> None:
    """Query-passage pair datasets (one row a pair): passages deduplicated into a corpus, each query
    judged relevant (1) to its passage. Passage ids are ``{prefix}p{n}``; query ids ``{prefix}{split}-{n}``."""
    docids: dict[str, str] = {}
    docs: list[dict[str, str]] = []
    for split, rows in split_rows.items():
        topics: dict[str, str] = {}
        qrels: Qrels = {}
        for i, r in enumerate(rows):
            text = r[passage_field]
            if text not in docids:
                docids[text] = f"{prefix}p{len(docids)}"
                docs.append({"docid": docids[text], "title": (r.get(title_field) or "") if title_field else "", "text": text})
            qid = f"{prefix}{split}-{i}"
            topics[qid] = r[query_field]
            qrels[qid] = {docids[text]: 1}
        write_topics(dest / f"topics.{split}.tsv", topics)
        write_qrels(dest / f"qrels.{split}.txt", qrels)
    write_corpus(dest / "corpus.jsonl", docs)


MIRACL_LANGS = ("ar bn en es fa fi fr hi id ja ko ru sw te th zh de yo").split()
# Published nDCG@10 on MIRACL dev (Zhang et al., 2023, TACL; Pyserini 2CR): BM25 / mDPR / hybrid.
MIRACL_PUBLISHED = {"sw": (0.383, 0.299, 0.446), "yo": (0.406, 0.444, 0.611)}


def _miracl(lang: str) -> Collection:
    def materialise(dest: Path) -> None:
        topic_rows = {s: _load_dataset("miracl/miracl", lang, split=s) for s in ("train", "dev")}
        rows_to_miracl_files(dest, topic_rows, _load_dataset("miracl/miracl-corpus", lang, split="train"))

    pub = MIRACL_PUBLISHED.get(lang)
    return Collection(
        name=f"miracl-{lang}", language=lang, query_language=lang, splits=("train", "dev"), source="hf:miracl/miracl",
        description=f"MIRACL {lang} (miracl/miracl + miracl/miracl-corpus); needs a network",
        root=collections_dir() / f"miracl-{lang}", materialise=materialise,
        published={"nDCG@10": {"bm25": pub[0], "mdpr": pub[1], "hybrid": pub[2]}} if pub else {},
    )


def _africlirmatrix() -> Collection:
    def materialise(dest: Path) -> None:
        # Released in the Mr.TyDi/MIRACL layout by Castorini (English queries, Amharic Wikipedia passages).
        topic_rows = {"test": _load_dataset("castorini/africlirmatrix", "amh", split="test")}
        rows_to_miracl_files(dest, topic_rows, _load_dataset("castorini/africlirmatrix-corpus", "amh", split="train"))

    return Collection(
        name="africlirmatrix-en-am", language="am", query_language="en", splits=("test",),
        source="hf:castorini/africlirmatrix", root=collections_dir() / "africlirmatrix-en-am", materialise=materialise,
        description="AfriCLIRMatrix (Ogundepo et al., 2022): English queries -> Amharic Wikipedia; needs a network",
        published={"nDCG@10": {"bm25": 0.159, "mdpr": 0.215, "hybrid": 0.228}},
    )


def _amharic_news() -> Collection:
    def materialise(dest: Path) -> None:
        splits = {s: _load_dataset("rasyosef/amharic-news-retrieval-dataset", split=s) for s in ("train", "test")}
        rows_to_pair_files(dest, splits, query_field="query", passage_field="passage", prefix="amnews-")

    return Collection(
        name="amharic-news", language="am", query_language="am", splits=("train", "test"),
        source="hf:rasyosef/amharic-news-retrieval-dataset", root=collections_dir() / "amharic-news",
        materialise=materialise, description="Amharic news retrieval (query-passage pairs); needs a network",
        published={"nDCG@10": {"bm25": 0.682, "multilingual-e5-large-instruct": 0.709}},
    )


BELEBELE_CODES = {"am": "amh_Ethi", "km": "khm_Khmr", "en": "eng_Latn"}


def belebele_files(dest: Path, passage_rows: Iterable[Mapping], question_rows: Iterable[Mapping]) -> None:
    """Belebele as retrieval (as MTEB's BelebeleRetrieval): FLORES passages are the corpus, each
    question is relevant to its passage. Rows are aligned across languages by (link, question_number)."""
    docs: dict[str, dict[str, str]] = {}
    for r in passage_rows:
        docid = r["link"]
        docs.setdefault(docid, {"docid": docid, "title": "", "text": r["flores_passage"]})
    topics: dict[str, str] = {}
    qrels: Qrels = {}
    for r in question_rows:
        qid = f"{r['link']}#{r['question_number']}"
        topics[qid] = r["question"]
        qrels[qid] = {r["link"]: 1}
    write_corpus(dest / "corpus.jsonl", docs.values())
    write_topics(dest / "topics.test.tsv", topics)
    write_qrels(dest / "qrels.test.txt", qrels)


def _belebele(lang: str, query_lang: str) -> Collection:
    def materialise(dest: Path) -> None:
        passages = _load_dataset("facebook/belebele", BELEBELE_CODES[lang], split="test")
        questions = passages if query_lang == lang else _load_dataset("facebook/belebele", BELEBELE_CODES[query_lang], split="test")
        belebele_files(dest, passages, questions)

    name = f"belebele-{lang}" if lang == query_lang else f"belebele-{query_lang}-{lang}"
    return Collection(name=name, language=lang, query_language=query_lang, splits=("test",), source="hf:facebook/belebele",
                      root=collections_dir() / name, materialise=materialise,
                      description=f"Belebele as retrieval, {query_lang} questions -> {lang} FLORES passages; needs a network")


def _mkqa_km() -> Collection:
    def materialise(dest: Path) -> None:
        rows = _load_dataset("apple/mkqa", split="train")
        write_topics(dest / "topics.test.tsv", {str(r["example_id"]): r["queries"]["km"] for r in rows if r["queries"].get("km")})
        write_qrels(dest / "qrels.test.txt", {})

    return Collection(name="mkqa-km", language="km", query_language="km", splits=("test",), source="hf:apple/mkqa",
                      root=collections_dir() / "mkqa-km", materialise=materialise, has_corpus=False,
                      description="MKQA Khmer questions (answers only, no passages): topics for generation studies; needs a network")


def _builtin() -> dict[str, Callable[[], Collection]]:
    reg: dict[str, Callable[[], Collection]] = {}
    for lang in DEMO_LANGS:
        reg[f"demo-{lang}"] = lambda lang=lang: _demo(lang, lang)
        reg[f"demo-en-{lang}"] = lambda lang=lang: _demo(lang, "en")
    for lang in MIRACL_LANGS:
        reg[f"miracl-{lang}"] = lambda lang=lang: _miracl(lang)
    reg["africlirmatrix-en-am"] = _africlirmatrix
    reg["amharic-news"] = _amharic_news
    for lang in ("am", "km"):
        reg[f"belebele-{lang}"] = lambda lang=lang: _belebele(lang, lang)
        reg[f"belebele-en-{lang}"] = lambda lang=lang: _belebele(lang, "en")
        reg[f"belebele-{lang}-en"] = lambda lang=lang: _belebele("en", lang)
    reg["mkqa-km"] = _mkqa_km
    return reg


REGISTRY = _builtin()


def local_collection(path: str | Path, language: str | None = None, query_language: str | None = None) -> Collection:
    """A directory with ``corpus.jsonl`` plus ``topics.tsv``/``qrels.txt`` (split ``default``) and/or
    ``topics.SPLIT.tsv``/``qrels.SPLIT.txt``; an optional ``collection.json`` gives
    ``{"language": "am", "query_language": "en"}`` (default ``und``: Lucene's default analysis)."""
    root = Path(path)
    meta: dict[str, Any] = {}
    if (root / "collection.json").is_file():
        try:
            meta = json.loads((root / "collection.json").read_text(encoding="utf-8"))
        except ValueError as exc:
            raise InputError(root / "collection.json", exc.lineno, f"invalid JSON: {exc.msg}") from None
        if not isinstance(meta, dict):
            raise InputError(root / "collection.json", 1, "expected a JSON object")
    language = language or meta.get("language") or "und"
    query_language = query_language or meta.get("query_language") or language
    if not (root / "corpus.jsonl").is_file():
        raise InputError(root / "corpus.jsonl", None, "file not found (a local collection needs corpus.jsonl)")
    splits = sorted({p.name.split(".")[1] for p in root.glob("topics.*.tsv")})
    if (root / "topics.tsv").is_file():
        splits = ["default", *splits]
    if not splits:
        raise InputError(root / "topics.tsv", None, "file not found (a local collection needs topics.tsv or topics.SPLIT.tsv)")
    return Collection(name=str(root), language=language, query_language=query_language,
                      splits=tuple(splits), root=root, source="local", description=f"local directory {root}")


def get_collection(name: str | Path, language: str | None = None) -> Collection:
    """A registered collection by name, or a local directory."""
    key = str(name)
    if key in REGISTRY:
        return REGISTRY[key]()
    if Path(key).is_dir():
        return local_collection(key, language)
    raise UnknownCollection(f"unknown collection {key!r}: not a registered name nor a directory. "
                            f"Known: {', '.join(sorted(REGISTRY))}")


def default_split(coll: Collection, split: str | None) -> str:
    if split:
        return split
    for s in ("test", "dev", "default"):
        if s in coll.splits:
            return s
    return coll.splits[0]
