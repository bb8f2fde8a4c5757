"""``generate(cfg)``: synthetic queries for a collection's passages into a resumable JSONL cache.

Items are ``(passage, slot)`` pairs in corpus order (after an optional seeded sample), cut into
batches at fixed positions, so a batch's seed (``(seed, batch start)``) does not depend on what an
earlier, interrupted run finished. A rerun skips the items whose latest record is ``ok`` and came
from the same method, backend, model, prompt hash, parameters, seed and languages; everything else
(failures included) is generated again and appended. The manifest is removed when a run starts and
written when it ends, so a file with a manifest is a finished one.
"""
from __future__ import annotations

import hashlib
import logging
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ..collections import get_collection
from ..common.atomic import manifest_path, write_manifest
from ..common.errors import ConfigError
from ..common.formats import Doc, iter_corpus
from .baselines import CROP_MAX, CROP_MIN, crop, ict
from .records import FINAL_STATUSES, METHODS, GenerationFile, fingerprint, latest
from .seeds import derive_seed
from .templates import VARIANTS, Prompt, find_prompt, load_chat_template, load_prompt_file

log = logging.getLogger(__name__)

BACKENDS = ("hf", "openai")
ENDPOINTS = ("chat", "completions")
DEFAULT_HF_MODEL = "gemma-3-270m"
DEFAULT_BATCH = {"hf": 8, "openai": 32, "ict": 256, "crop": 256}

# option groups: a flag outside its group's method/backend is rejected, not ignored
LLM_FIELDS = ("backend", "model", "prompt_variant", "prompt", "max_new_tokens", "temperature", "top_p", "greedy")
HF_FIELDS = ("device", "bf16", "max_prompt_tokens", "threads", "chat_template")
OPENAI_FIELDS = ("base_url", "endpoint", "concurrency", "timeout", "retries", "backoff", "api_key_env")


@dataclass
class GenerateConfig:
    collection: str
    out: Path
    method: str = "llm"  # "llm" | "ict" | "crop"
    query_language: str | None = None  # default: the collection's query language
    sample: int | None = None  # a seeded sample of passages (default: all)
    per_passage: int = 1
    seed: int = 0
    batch_size: int | None = None  # items per write (and per forward pass for hf)
    progress: bool = True
    # --method llm
    backend: str | None = None  # default "hf"
    model: str | None = None  # hf: zoo name | folder | hub id (default gemma-3-270m); openai: the served name
    prompt_variant: str | None = None  # fewshot | summarize | chat (default: chat for an openai chat endpoint, else fewshot)
    prompt: Path | None = None  # a custom template file (.txt completion, .json chat)
    max_new_tokens: int | None = None  # default 32 (96 for summarize)
    temperature: float | None = None  # default 0.7
    top_p: float | None = None  # default 0.9
    greedy: bool = False
    # --backend hf
    device: str | None = None  # default cpu
    bf16: bool | None = None  # bf16 weights; default: on where the CPU has native bf16
    max_prompt_tokens: int | None = None  # default 1024; long passages are cut to fit
    threads: int | None = None  # torch CPU threads while generating (default: torch's)
    chat_template: str | None = None  # a Jinja file or a shipped name (``gemma``) for a model that has none
    # --backend openai
    base_url: str | None = None
    endpoint: str | None = None  # default chat
    concurrency: int | None = None  # default 4
    timeout: float | None = None  # seconds per request, default 60
    retries: int | None = None  # default 3
    backoff: float | None = None  # base delay in seconds, default 1
    api_key_env: str | None = None  # default OPENAI_API_KEY

    def __post_init__(self) -> None:
        self.out = Path(self.out)
        if self.prompt is not None:
            self.prompt = Path(self.prompt)

    def _given(self, names: tuple[str, ...]) -> list[str]:
        """The options among ``names`` that were set (``greedy`` is a flag: False is unset)."""
        return [n for n in names if getattr(self, n) is not None and not (n == "greedy" and not self.greedy)]

    def validate(self) -> None:
        flag = lambda n: "--" + n.replace("_", "-")  # noqa: E731
        if self.method not in METHODS:
            raise ConfigError(f"unknown method {self.method!r}; known: {', '.join(METHODS)}")
        for name in ("per_passage", "sample", "batch_size", "max_new_tokens", "max_prompt_tokens", "concurrency", "threads"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"{flag(name)} must be >= 1, got {value}")
        for name in ("timeout", "backoff", "retries"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ConfigError(f"{flag(name)} must be >= 0, got {value}")
        if self.method != "llm":
            if extra := self._given(LLM_FIELDS + HF_FIELDS + OPENAI_FIELDS):
                raise ConfigError(f"{', '.join(map(flag, extra))}: only for --method llm (not {self.method})")
            return
        backend = self.backend or "hf"
        if backend not in BACKENDS:
            raise ConfigError(f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
        other = OPENAI_FIELDS if backend == "hf" else HF_FIELDS
        if extra := self._given(other):
            raise ConfigError(f"{', '.join(map(flag, extra))}: not used by --backend {backend}")
        if backend == "openai":
            if not self.base_url or not self.base_url.startswith(("http://", "https://")):
                raise ConfigError("--backend openai needs --base-url http(s)://HOST[:PORT]/PATH "
                                  "(e.g. http://localhost:8000/v1)")
            if not self.model:
                raise ConfigError("--backend openai needs --model (the name the server serves)")
            if self.endpoint is not None and self.endpoint not in ENDPOINTS:
                raise ConfigError(f"unknown endpoint {self.endpoint!r}; known: {', '.join(ENDPOINTS)}")
        if self.prompt_variant is not None and self.prompt_variant not in VARIANTS:
            raise ConfigError(f"unknown prompt variant {self.prompt_variant!r}; known: {', '.join(VARIANTS)}")
        if self.greedy and (self.temperature is not None or self.top_p is not None):
            raise ConfigError("--greedy decodes without sampling: drop --temperature/--top-p")
        if self.temperature is not None and self.temperature <= 0:
            raise ConfigError("--temperature must be > 0 (use --greedy for greedy decoding)")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise ConfigError(f"--top-p must be in (0, 1], got {self.top_p}")

    def as_dict(self) -> dict[str, Any]:
        return {f.name: (str(v) if isinstance(v := getattr(self, f.name), Path) else v) for f in fields(self)}


# --------------------------------------------------------------------------- items and records
@dataclass(frozen=True)
class Item:
    doc: Doc
    slot: int

    @property
    def key(self) -> tuple[str, int]:
        return (self.doc.docid, self.slot)


def sample_docs(docs: list[Doc], n: int | None, seed: int) -> list[Doc]:
    """A seeded sample of ``n`` passages, kept in corpus order (all of them when ``n`` is None)."""
    if n is None or n >= len(docs):
        return docs
    keep = set(random.Random(derive_seed(seed, "sample")).sample(range(len(docs)), n))
    return [d for i, d in enumerate(docs) if i in keep]


def _record(base: dict[str, Any], item: Item, query: str, error: str | None, raw: str | None,
            final: bool = False, **extra: Any) -> dict[str, Any]:
    """``final``: the error is in the model's answer itself (status ``unparsed``, not retried on resume)."""
    query = query.strip()
    if error is None and not query:
        error = "empty query"
    status = "ok" if error is None else ("unparsed" if final else "failed")
    rec = {"docid": item.doc.docid, "slot": item.slot, "query": query if status == "ok" else "", "status": status,
           "error": error}
    rec.update(base)
    rec["raw"] = raw
    rec.update(extra)
    return rec


Producer = Callable[[list[Item], int], list[dict[str, Any]]]  # (batch, batch seed) -> records


def _baseline_producer(cfg: GenerateConfig, base: dict[str, Any]) -> Producer:
    lang = base["passage_language"]

    def produce(batch: list[Item], _seed: int) -> list[dict[str, Any]]:
        out = []
        for it in batch:
            p = (ict(it.doc.text, cfg.seed, it.doc.docid, it.slot) if cfg.method == "ict"
                 else crop(it.doc.text, cfg.seed, it.doc.docid, it.slot, lang))
            out.append(_record(base, it, p.query, p.error, None, final=True, positive_text=p.positive_text))
        return out

    return produce


def _select_prompt(cfg: GenerateConfig, query_lang: str, passage_lang: str, chat_backend: bool) -> Prompt:
    variant = cfg.prompt_variant or ("chat" if chat_backend else "fewshot")
    if cfg.prompt is not None:
        summarize = variant == "summarize" or None
        return load_prompt_file(cfg.prompt, query_lang, passage_lang, summarize=summarize)
    if "und" in (passage_lang, query_lang):
        raise ConfigError("the language of the passages or queries is unknown ('und'): give the collection a "
                          'collection.json with {"language": ..., "query_language": ...}, or pass --query-language')
    return find_prompt(variant, query_lang, passage_lang, chat=chat_backend)


def _llm_records(base: dict[str, Any], prompt: Prompt, items: list[Item], completions: list, cut: list[bool]) -> list[dict]:
    out = []
    for it, c, was_cut in zip(items, completions, cut):
        query, summary = prompt.parse(c.text)
        error = None if query else ("no question line in the output" if prompt.summarize else "empty query")
        extra: dict[str, Any] = {"stop": c.stop}
        if prompt.summarize:
            extra["summary"] = summary
        if was_cut:
            extra["passage_truncated"] = True
        out.append(_record(base, it, query, error, c.text, final=True, **extra))
    return out


def _hf_producer(cfg: GenerateConfig, prompt: Prompt, base: dict[str, Any], load: Callable[[], Any],
                 timing: dict[str, float]) -> Producer:
    p = base["params"]
    loaded: list[Any] = []

    def produce(batch: list[Item], batch_seed: int) -> list[dict[str, Any]]:
        if not loaded:  # loaded on the first batch to do: a finished run resumes without loading the model
            t0 = time.perf_counter()
            loaded.append(load())
            timing["load_s"] = time.perf_counter() - t0
            if prompt.kind == "chat" and not loaded[0].has_chat_template:
                raise ConfigError(f"model {base['model']} has no chat template: "
                                  "use --prompt-variant fewshot or summarize")
        backend = loaded[0]
        built = [backend.build(prompt, it.doc.text, p["max_new_tokens"]) for it in batch]
        completions = backend.generate([b[0] for b in built], chat=prompt.kind == "chat", seed=batch_seed,
                                       greedy=p["greedy"], temperature=p.get("temperature"), top_p=p.get("top_p"),
                                       max_new_tokens=p["max_new_tokens"], newlines=prompt.newlines)
        return _llm_records(base, prompt, batch, completions, [b[1] for b in built])

    return produce


def _openai_producer(cfg: GenerateConfig, prompt: Prompt, base: dict[str, Any], backend: Any, pool: Any) -> Producer:
    p = base["params"]

    def one(it: Item):
        seed = derive_seed(cfg.seed, "item", it.doc.docid, it.slot) % (2 ** 31)
        body = backend.payload(prompt, it.doc.text, seed=seed, greedy=p["greedy"], temperature=p.get("temperature"),
                               top_p=p.get("top_p"), max_new_tokens=p["max_new_tokens"])
        return backend.ask(body, random.Random(derive_seed(cfg.seed, "backoff", it.doc.docid, it.slot)))

    def produce(batch: list[Item], _seed: int) -> list[dict[str, Any]]:
        out = []
        for it, ans in zip(batch, pool.map(one, batch)):
            if ans.completion is None:
                out.append(_record(base, it, "", ans.error, ans.raw, attempts=ans.attempts))
            else:
                out.extend(_llm_records(base, prompt, [it], [ans.completion], [False]))
                out[-1]["attempts"] = ans.attempts
        return out

    return produce


# --------------------------------------------------------------------------- the stage
def generate(cfg: GenerateConfig) -> dict[str, Any]:
    """Generate (or resume generating) queries; returns the counts written to the manifest."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    cfg.validate()
    coll = get_collection(cfg.collection)
    corpus = coll.corpus_path()
    passage_lang = coll.language
    query_lang = cfg.query_language or coll.query_language
    docs = sample_docs(list(iter_corpus(corpus)), cfg.sample, cfg.seed)
    items = [Item(d, s) for d in docs for s in range(cfg.per_passage)]

    base: dict[str, Any] = {"method": cfg.method, "backend": None, "model": None, "prompt_id": None,
                            "prompt_hash": None, "params": {}, "seed": cfg.seed,
                            "passage_language": passage_lang, "query_language": query_lang}
    extra: dict[str, Any] = {}
    pool = None
    timing = {"load_s": 0.0}
    if cfg.method in ("ict", "crop"):
        batch_size = cfg.batch_size or DEFAULT_BATCH[cfg.method]
        if cfg.method == "crop":
            base["params"] = {"min_ratio": CROP_MIN, "max_ratio": CROP_MAX,
                              "words": "khmer-nltk" if passage_lang == "km" else "whitespace"}
        produce = _baseline_producer(cfg, base)
    else:
        backend_name = cfg.backend or "hf"
        batch_size = cfg.batch_size or DEFAULT_BATCH[backend_name]
        endpoint = cfg.endpoint or "chat"
        chat_backend = backend_name == "openai" and endpoint == "chat"
        prompt = _select_prompt(cfg, query_lang, passage_lang, chat_backend)
        greedy = cfg.greedy
        params: dict[str, Any] = {"max_new_tokens": cfg.max_new_tokens or (96 if prompt.summarize else 32),
                                  "greedy": greedy}
        if not greedy:
            params["temperature"] = cfg.temperature if cfg.temperature is not None else 0.7
            params["top_p"] = cfg.top_p if cfg.top_p is not None else 0.9
        base.update(backend=backend_name, prompt_id=prompt.id, prompt_hash=prompt.hash)
        extra["prompt"] = {"id": prompt.id, "sha256": prompt.hash, "kind": prompt.kind, "summarize": prompt.summarize}
        if backend_name == "hf":
            from ..models.encoder import bf16_supported
            from ..models.zoo import resolve
            from .hf import HFBackend

            model = cfg.model or DEFAULT_HF_MODEL
            bf16 = bf16_supported() if cfg.bf16 is None else cfg.bf16
            params.update(dtype="bfloat16" if bf16 else "float32", max_prompt_tokens=cfg.max_prompt_tokens or 1024)
            template = load_chat_template(cfg.chat_template) if cfg.chat_template else None
            if template is not None:
                if prompt.kind != "chat":
                    raise ConfigError(f"--chat-template applies to chat prompts; {prompt.id} is a completion prompt")
                params["chat_template"] = hashlib.sha256(template.encode()).hexdigest()[:16]
                extra["chat_template"] = cfg.chat_template
            if not greedy:
                params["batch_size"] = batch_size  # a batch shares one seed: its size changes the samples
            extra["model_path"] = str(resolve(model))
            base.update(model=model, params=params)
            produce = _hf_producer(cfg, prompt, base, lambda: HFBackend(
                model, device=cfg.device or "cpu", bf16=bf16, max_prompt_tokens=params["max_prompt_tokens"],
                threads=cfg.threads, chat_template=template), timing)
        else:
            from .openai_api import OpenAIBackend

            if prompt.kind == "completion" and endpoint == "chat":
                raise ConfigError(f"{prompt.id} is a completion prompt: use --endpoint completions, "
                                  "or --prompt-variant chat/summarize for a chat endpoint")
            if prompt.kind == "chat" and endpoint == "completions":
                raise ConfigError(f"{prompt.id} is a chat prompt: use --endpoint chat, or --prompt-variant fewshot/summarize")
            params["endpoint"] = endpoint
            key_env = cfg.api_key_env or "OPENAI_API_KEY"
            backend = OpenAIBackend(base_url=cfg.base_url or "", model=cfg.model or "", endpoint=endpoint,
                                    timeout=cfg.timeout if cfg.timeout is not None else 60.0,
                                    retries=cfg.retries if cfg.retries is not None else 3,
                                    backoff=cfg.backoff if cfg.backoff is not None else 1.0,
                                    api_key=os.environ.get(key_env) or None)
            concurrency = cfg.concurrency or 4
            extra["server"] = {"url": backend.url, "concurrency": concurrency, "api_key_env": key_env}
            base.update(model=cfg.model, params=params)
            pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="generate")
            produce = _openai_producer(cfg, prompt, base, backend, pool)
    fp = fingerprint(base)

    counts = {"passages": len(docs), "items": len(items), "ok": 0, "unparsed": 0, "failed": 0, "skipped": 0}
    t0 = time.perf_counter()
    try:
        with GenerationFile(cfg.out) as gf:
            manifest_path(cfg.out).unlink(missing_ok=True)  # the output is unfinished until the manifest is back
            if gf.repaired:
                extra["repaired"] = gf.repaired
            done = {k for k, r in latest(gf.records).items() if r["status"] in FINAL_STATUSES and fingerprint(r) == fp}
            counts["skipped"] = sum(it.key in done for it in items)
            todo = len(items) - counts["skipped"]
            from tqdm import tqdm

            with tqdm(total=todo, file=sys.stderr, disable=not cfg.progress or todo == 0, unit="query",
                      desc=f"generate ({cfg.method}{'/' + base['backend'] if base['backend'] else ''})") as bar:
                for start in range(0, len(items), batch_size):
                    batch = [it for it in items[start:start + batch_size] if it.key not in done]
                    if not batch:
                        continue
                    records = produce(batch, derive_seed(cfg.seed, "batch", start))
                    gf.append(records)
                    for r in records:
                        counts[r["status"]] += 1
                    bar.update(len(batch))
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
    elapsed = time.perf_counter() - t0 - timing["load_s"]
    counts["complete"] = counts["skipped"] + counts["ok"] + counts["unparsed"]  # items with a final record for this config
    counts["records"] = _count_lines(cfg.out)
    generated = counts["ok"] + counts["unparsed"] + counts["failed"]
    extra.update(load_s=round(timing["load_s"], 2), elapsed_s=round(elapsed, 2),
                 queries_per_minute=round(60 * generated / elapsed, 1) if generated and elapsed > 0 else None)
    write_manifest(cfg.out, kind="generate", counts=counts, inputs={"corpus": corpus}, config=cfg.as_dict(),
                   seed=cfg.seed, extra={"generation": extra, "collection": coll.name})
    log.info("wrote %s: %s", cfg.out, counts)
    return counts


def _count_lines(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for line in fh if line.strip())

