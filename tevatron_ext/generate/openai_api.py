"""The ``openai`` backend: any OpenAI-compatible server (vLLM, llama.cpp, TGI, OpenAI), over plain HTTP.

Requests go through ``urllib.request`` (no client library) from a bounded thread pool. A request
is retried with exponential backoff plus jitter (from a local, seeded ``random.Random``) on 429,
5xx, network errors and timeouts; any other HTTP error, and an answer that is not the expected JSON,
becomes a failed record. The API key is read from an environment variable, sent only in the
``Authorization`` header, and scrubbed from every error text that could reach a record or a log.
"""
from __future__ import annotations

import http.client
import json
import random
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from .hf import Completion
from .templates import Prompt

MAX_BACKOFF = 60.0
SNIPPET = 500


class _Retryable(Exception):
    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class _Fatal(Exception):
    pass


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Never follow redirects: a redirect would carry the Authorization header to another host."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001, ANN201
        return None


@dataclass(frozen=True)
class Answer:
    completion: Completion | None
    error: str | None
    raw: str | None
    attempts: int


@dataclass
class OpenAIBackend:
    base_url: str
    model: str
    endpoint: str = "chat"  # "chat" | "completions"
    timeout: float = 60.0
    retries: int = 3
    backoff: float = 1.0
    api_key: str | None = field(default=None, repr=False)

    name = "openai"

    def __post_init__(self) -> None:
        self.url = self.base_url.rstrip("/") + ("/chat/completions" if self.endpoint == "chat" else "/completions")
        self._opener = urllib.request.build_opener(_NoRedirect)

    def scrub(self, text: str) -> str:
        """``text`` with the API key (and any bearer credential) removed."""
        if self.api_key:
            text = text.replace(self.api_key, "***")
        return text

    def payload(self, prompt: Prompt, passage: str, *, seed: int, greedy: bool, temperature: float, top_p: float,
                max_new_tokens: int) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "max_tokens": max_new_tokens,
                                "temperature": 0.0 if greedy else temperature, "top_p": 1.0 if greedy else top_p,
                                "seed": seed, "n": 1}
        rendered = prompt.render(passage)
        if self.endpoint == "chat":
            body["messages"] = rendered
        else:
            body["prompt"] = rendered
            body["stop"] = ["\n"] if prompt.newlines == 1 else ["\n\n"]
        return body

    def _post(self, body: dict[str, Any]) -> bytes:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        req = urllib.request.Request(self.url, data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
                                     headers=headers, method="POST")
        try:
            with self._opener.open(req, timeout=self.timeout) as resp:
                return resp.read()
        except urllib.error.HTTPError as exc:
            try:
                snippet = exc.read(SNIPPET).decode("utf-8", "replace")
            except (OSError, http.client.HTTPException):
                snippet = ""
            message = f"HTTP {exc.code} {exc.reason}" + (f": {' '.join(snippet.split())}" if snippet.strip() else "")
            if exc.code == 429 or exc.code >= 500:
                raise _Retryable(message, _retry_after(exc.headers.get("Retry-After") if exc.headers else None)) from None
            raise _Fatal(message) from None
        except TimeoutError:
            raise _Retryable(f"timed out after {self.timeout:g}s") from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, (TimeoutError, socket.timeout)):
                raise _Retryable(f"timed out after {self.timeout:g}s") from None
            raise _Retryable(f"network error: {reason}") from None
        except (OSError, http.client.HTTPException) as exc:
            raise _Retryable(f"network error: {type(exc).__name__}: {exc}") from None

    def parse(self, data: bytes) -> Completion:
        """The text of the first choice; raises ValueError on an answer that is not the API's JSON."""
        try:
            obj = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise ValueError(f"malformed answer: not JSON ({exc})") from None
        if not isinstance(obj, dict):
            raise ValueError(f"malformed answer: expected a JSON object, got {type(obj).__name__}")
        if "error" in obj and "choices" not in obj:
            raise ValueError(f"server error: {json.dumps(obj['error'], ensure_ascii=False)[:SNIPPET]}")
        choices = obj.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise ValueError("malformed answer: no 'choices'")
        choice = choices[0]
        if self.endpoint == "chat":
            msg = choice.get("message")
            text = msg.get("content") if isinstance(msg, dict) else None
            if not isinstance(text, str):
                raise ValueError("malformed answer: no 'choices[0].message.content' string")
        else:
            text = choice.get("text")
            if not isinstance(text, str):
                raise ValueError("malformed answer: no 'choices[0].text' string")
        reason = choice.get("finish_reason")
        return Completion(text, reason if isinstance(reason, str) else "unknown")  # the server's finish_reason

    def ask(self, body: dict[str, Any], rng: random.Random) -> Answer:
        """One item: POST with retries; never raises for server or network trouble."""
        error = "no attempt"
        for attempt in range(self.retries + 1):
            try:
                data = self._post(body)
            except _Retryable as exc:
                error = self.scrub(str(exc))
                if attempt < self.retries:
                    delay = min(MAX_BACKOFF, self.backoff * 2 ** attempt) + rng.uniform(0, self.backoff)
                    if exc.retry_after is not None:
                        delay = max(delay, min(MAX_BACKOFF, exc.retry_after))
                    time.sleep(delay)
                    continue
                tries = f"{attempt + 1} attempt" + ("s" if attempt else "")
                return Answer(None, f"{error} (gave up after {tries})", None, attempt + 1)
            except _Fatal as exc:
                return Answer(None, self.scrub(str(exc)), None, attempt + 1)
            raw = self.scrub(data.decode("utf-8", "replace"))
            try:
                completion = self.parse(data)
            except ValueError as exc:
                return Answer(None, self.scrub(str(exc)), raw[:2000], attempt + 1)
            return Answer(Completion(self.scrub(completion.text), completion.stop), None, None, attempt + 1)
        return Answer(None, error, None, self.retries + 1)


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
