"""Prompt templates for query generation: plain files under ``prompts/`` (package data).

File names are ``{variant}.{query_lang}-{passage_lang}.{txt|json}`` (``en-am``: English questions for
Amharic passages, as in the collection names); ``xx-yy`` is the generic template of a variant, with the
languages named by ``{query_language_name}`` / ``{passage_language_name}``.

* ``.txt``: a completion prompt for base LMs; ``{passage}`` marks the passage. Few-shot
  ``Passage: ... / Question: ...`` blocks (``fewshot``) or ``Passage / Summary / Question`` blocks
  (``summarize``, SWIM-IR's summarize-then-ask), ending in ``Question:`` or ``Summary:``.
* ``.json``: ``{"messages": [{"role", "content"}, ...]}`` for chat models (``chat``, ``chat-summarize``).

A prompt's id is its file name; its hash is the sha256 of the template text with the language names
filled in (the passage not yet), so editing a template or changing the languages regenerates.
"""
from __future__ import annotations

import hashlib
import importlib.resources
import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..common.errors import ConfigError, InputError

VARIANTS = ("fewshot", "summarize", "chat")

# ISO 639-1 code -> English name, for the generic templates (MIRACL languages + Amharic, Khmer).
LANGUAGE_NAMES = {
    "am": "Amharic", "km": "Khmer", "en": "English", "ar": "Arabic", "bn": "Bengali", "de": "German",
    "es": "Spanish", "fa": "Persian", "fi": "Finnish", "fr": "French", "hi": "Hindi", "id": "Indonesian",
    "ja": "Japanese", "ko": "Korean", "ru": "Russian", "sw": "Swahili", "te": "Telugu", "th": "Thai",
    "yo": "Yoruba", "zh": "Chinese", "ha": "Hausa", "so": "Somali", "ti": "Tigrinya", "om": "Oromo",
}

PASSAGE = "{passage}"
_QUESTION_LINE = re.compile(r"^\s*(?:\**\s*)?(?:question|query)\b[^:\n]{0,40}:\s*(.*)$", re.IGNORECASE)
_SUMMARY_LINE = re.compile(r"^\s*(?:\**\s*)?summary\b[^:\n]{0,40}:\s*(.*)$", re.IGNORECASE)


def prompts_dir() -> Path:
    return Path(str(importlib.resources.files("tevatron_ext.generate").joinpath("prompts")))


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


@dataclass(frozen=True)
class Prompt:
    """A loaded template: ``kind`` is ``completion`` (text) or ``chat`` (messages)."""

    id: str
    text: str  # the template with language names filled in; ``{passage}`` still open
    kind: str  # "completion" | "chat"
    summarize: bool  # the answer holds a summary line, then the question

    @property
    def hash(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def render(self, passage: str) -> str | list[dict[str, str]]:
        """The completion text, or the chat messages, for one passage."""
        if self.kind == "completion":
            return self.text.replace(PASSAGE, passage)
        messages = json.loads(self.text)["messages"]
        return [{"role": m["role"], "content": m["content"].replace(PASSAGE, passage)} for m in messages]

    @property
    def example_questions(self) -> list[str]:
        """The few-shot questions of a completion prompt (to recognise echoes of them in the outputs)."""
        if self.kind != "completion":
            return []
        out = []
        for line in self.text.split(PASSAGE, 1)[0].splitlines():
            m = _QUESTION_LINE.match(line)
            if m and m.group(1).strip():
                out.append(_clean(m.group(1)))
        return out

    @property
    def instructions(self) -> list[str]:
        """The instruction text of a chat prompt, without the passage (small models repeat it as their "query")."""
        if self.kind != "chat":
            return []
        return [_clean(part) for m in json.loads(self.text)["messages"] for part in m["content"].split(PASSAGE) if part.strip()]

    @property
    def newlines(self) -> int | None:
        """Newlines after which a completion is complete (1: the question line; 2: summary + question)."""
        if self.kind == "chat":
            return None
        return 2 if self.summarize else 1

    def parse(self, output: str) -> tuple[str, str | None]:
        """``(query, summary)`` from a model's continuation; the query is empty when there is none."""
        if self.kind == "completion" and not self.summarize:
            return _clean(output.lstrip().split("\n", 1)[0]), None
        lines = [ln for ln in output.strip().splitlines() if ln.strip()]
        if not self.summarize:  # chat: the first line, minus a "Question:" label
            if not lines:
                return "", None
            m = _QUESTION_LINE.match(lines[0])
            return _clean(m.group(1) if m else lines[0]), None
        summary = None
        for i, line in enumerate(lines):
            m = _QUESTION_LINE.match(line)
            if m:
                if i > 0:
                    s = _SUMMARY_LINE.match(lines[0])
                    summary = _clean(s.group(1) if s else lines[0])
                return _clean(m.group(1)), summary
        return "", None


def _clean(text: str) -> str:
    text = " ".join(text.split())
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'“”«»*`":
        text = text[1:-1].strip()
    return text.strip("*` ").strip()


def _fill(text: str, query_language: str, passage_language: str) -> str:
    return (text.replace("{query_language_name}", language_name(query_language))
            .replace("{passage_language_name}", language_name(passage_language))
            .replace("{query_language}", query_language).replace("{passage_language}", passage_language))


def _validate(path: Path, text: str, kind: str) -> None:
    if kind == "completion":
        if text.count(PASSAGE) != 1:
            raise InputError(path, None, f"a completion prompt needs exactly one {PASSAGE} placeholder")
        return
    try:
        obj = json.loads(text)
    except ValueError as exc:
        raise InputError(path, exc.lineno, f"invalid JSON: {exc.msg}") from None
    msgs = obj.get("messages") if isinstance(obj, dict) else None
    if not isinstance(msgs, list) or not msgs or not all(
            isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str) for m in msgs):
        raise InputError(path, None, 'a chat prompt is {"messages": [{"role": ..., "content": ...}, ...]}')
    if sum(m["content"].count(PASSAGE) for m in msgs) != 1:
        raise InputError(path, None, f"a chat prompt needs exactly one {PASSAGE} placeholder")


def load_prompt_file(path: str | Path, query_language: str, passage_language: str, summarize: bool | None = None) -> Prompt:
    """A template from a file (``.json`` = chat); ``summarize`` defaults to the file name containing it."""
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(path, None, "file not found") from None
    kind = "chat" if path.suffix == ".json" else "completion"
    text = raw.rstrip() if kind == "completion" else raw  # a completion prompt ends right after its label
    _validate(path, text, kind)
    if summarize is None:
        summarize = "summar" in path.name
    return Prompt(id=path.name, text=_fill(text, query_language, passage_language), kind=kind, summarize=summarize)


def available() -> list[str]:
    return sorted(p.name for p in prompts_dir().iterdir() if p.suffix in (".txt", ".json"))


def find_prompt(variant: str, query_language: str, passage_language: str, chat: bool) -> Prompt:
    """The shipped template of ``variant`` for a language pair (the exact pair first, then ``xx-yy``).

    ``chat`` says the backend takes messages: ``summarize`` then means ``chat-summarize``; ``fewshot`` is
    a completion prompt either way (the caller rejects it for a chat-only backend).
    """
    if variant not in VARIANTS:
        raise ConfigError(f"unknown prompt variant {variant!r}; known: {', '.join(VARIANTS)}")
    if variant == "chat":
        stem, ext = "chat", ".json"
    elif variant == "summarize" and chat:
        stem, ext = "chat-summarize", ".json"
    else:
        stem, ext = variant, ".txt"
    root = prompts_dir()
    for pair in (f"{query_language}-{passage_language}", "xx-yy"):
        path = root / f"{stem}.{pair}{ext}"
        if path.is_file():
            return load_prompt_file(path, query_language, passage_language, summarize=variant == "summarize")
    raise ConfigError(f"no prompt {stem}.*{ext} for {query_language}-{passage_language}; shipped: {', '.join(available())}")


CHAT_TEMPLATES = {"gemma": "gemma-turns.jinja"}


def load_chat_template(spec: str | Path) -> str:
    """A Jinja chat template from a file, or a shipped one by name (``gemma``: Gemma's turn format,
    for a Gemma base model such as gemma-3-270m, whose tokenizer comes without a template)."""
    path = prompts_dir() / CHAT_TEMPLATES[str(spec)] if str(spec) in CHAT_TEMPLATES else Path(spec)
    if not path.is_file():
        raise ConfigError(f"chat template {spec}: no such file (shipped: {', '.join(CHAT_TEMPLATES)})")
    from ..common.formats import read_utf8

    text = read_utf8(path)
    if "messages" not in text:
        raise InputError(path, None, "a chat template is a Jinja template over `messages`")
    return text
