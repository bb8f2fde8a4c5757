"""The ``openai`` backend of ``generate`` against a real HTTP server on 127.0.0.1 (no network).

The stub speaks the OpenAI chat and completions APIs, answers deterministically from the prompt and
the request's seed, and can be scripted to answer 500, 429, too slowly, malformed JSON or JSON
without the expected fields. It counts requests in flight and records the headers it receives.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tevatron_ext.common.errors import ConfigError
from tevatron_ext.generate import GenerateConfig, generate, latest, read_generations

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-test-PLANTED-4f1c9e27b3d8a6"
KEY_ENV = "TEVX_TEST_API_KEY"


def answer_for(body: dict[str, Any]) -> str:
    """The stub's deterministic question for a request (depends on the prompt and the seed only)."""
    prompt = body.get("prompt") if "prompt" in body else json.dumps(body.get("messages"), ensure_ascii=False, sort_keys=True)
    digest = hashlib.sha256(f"{prompt}|{body.get('seed')}".encode()).hexdigest()[:10]
    return f"ጥያቄ {digest}?"


# a script decides, per request, what the stub does: ("ok",) | ("status", code) | ("sleep", seconds)
# | ("raw", bytes) | ("json", obj); ``n`` counts earlier requests with the same prompt
Script = Callable[[dict[str, Any], int], tuple]


@dataclass
class Stub:
    script: Script = lambda body, n: ("ok",)
    delay: float = 0.0
    in_flight: int = 0
    max_in_flight: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)
    auth_headers: list[str | None] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    seen: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""


def _handler(stub: Stub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

        def _send(self, code: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
            try:
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length))
            auth = self.headers.get("Authorization")
            key = json.dumps(body.get("prompt") or body.get("messages"), sort_keys=True)
            with stub.lock:
                stub.in_flight += 1
                stub.max_in_flight = max(stub.max_in_flight, stub.in_flight)
                stub.requests.append(body)
                stub.auth_headers.append(auth)
                stub.paths.append(self.path)
                n = stub.seen[key]
                stub.seen[key] += 1
            try:
                if stub.delay:
                    time.sleep(stub.delay)
                action = stub.script(body, n)
                kind = action[0]
                if kind == "sleep":
                    time.sleep(action[1])
                    kind = "ok"
                if kind == "status":
                    # an error page that echoes the request's credentials, as a careless proxy might
                    extra = action[2] if len(action) > 2 else {}
                    self._send(action[1], json.dumps({"error": {"message": f"boom; you sent Authorization: {auth}"}}).encode(),
                               extra)
                elif kind == "raw":
                    self._send(200, action[1])
                elif kind == "json":
                    self._send(200, json.dumps(action[1]).encode())
                else:
                    text = answer_for(body)
                    if self.path.endswith("/chat/completions"):
                        obj = {"id": "x", "object": "chat.completion", "model": body["model"],
                               "choices": [{"index": 0, "finish_reason": "stop",
                                            "message": {"role": "assistant", "content": text}}]}
                    else:  # completions: a leading space and the stop sequence already removed
                        obj = {"id": "x", "object": "text_completion", "model": body["model"],
                               "choices": [{"index": 0, "finish_reason": "stop", "text": " " + text}]}
                    self._send(200, json.dumps(obj, ensure_ascii=False).encode())
            finally:
                with stub.lock:
                    stub.in_flight -= 1

    return Handler


@pytest.fixture
def stub() -> Iterator[Stub]:
    s = Stub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(s))
    server.daemon_threads = True
    s.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield s
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def planted_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


def cfg(stub: Stub, coll: Path, out: Path, **kw: Any) -> GenerateConfig:
    base = dict(collection=str(coll), out=out, backend="openai", base_url=stub.url, model="stub-lm", progress=False,
                api_key_env=KEY_ENV, backoff=0.01, timeout=5.0)
    base.update(kw)
    return GenerateConfig(**base)


def assert_no_key(*texts: str | bytes) -> None:
    for t in texts:
        t = t.decode("utf-8", "replace") if isinstance(t, bytes) else t
        assert KEY not in t


def test_chat_endpoint_writes_every_item_and_sends_the_key_only_in_the_header(stub, tiny_am, tmp_path, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    out = tmp_path / "q.jsonl"
    counts = generate(cfg(stub, tiny_am, out, per_passage=2, concurrency=3))
    assert counts["ok"] == 16 and counts["failed"] == 0 and counts["skipped"] == 0
    recs = read_generations(out)
    assert len(recs) == 16 and {(r["docid"], r["slot"]) for r in recs} == {(f"am{i}", s) for i in range(1, 9) for s in (0, 1)}
    by_seed = {r["seed"] for r in stub.requests}
    assert len(by_seed) == 16  # a seed per (docid, slot)
    for r in recs:
        assert r["status"] == "ok" and r["method"] == "llm" and r["backend"] == "openai" and r["model"] == "stub-lm"
        assert r["prompt_id"] == "chat.xx-yy.json" and r["params"]["endpoint"] == "chat"
        assert r["query"].startswith("ጥያቄ ") and r["query"].endswith("?")
    assert all(p == "/v1/chat/completions" for p in stub.paths)
    msgs = stub.requests[0]["messages"]
    assert [m["role"] for m in msgs] == ["system", "user"] and "Amharic" in msgs[0]["content"]
    assert set(stub.auth_headers) == {f"Bearer {KEY}"}
    manifest = Path(str(out) + ".manifest.json")
    captured = capsys.readouterr()
    assert_no_key(out.read_bytes(), manifest.read_bytes(), caplog.text, captured.out, captured.err)
    assert json.loads(manifest.read_text())["counts"]["ok"] == 16


def test_completions_endpoint_fewshot_prompt(stub, tiny_km, tmp_path):
    out = tmp_path / "q.jsonl"
    generate(cfg(stub, tiny_km, out, endpoint="completions", prompt_variant="fewshot", greedy=True, max_new_tokens=20))
    body = stub.requests[0]
    assert stub.paths[0] == "/v1/completions"
    assert body["prompt"].endswith("Question:") and "Passage: ម្រេចកំពត" in body["prompt"]
    assert body["stop"] == ["\n"] and body["max_tokens"] == 20 and body["temperature"] == 0.0
    recs = latest(read_generations(out))
    assert all(r["status"] == "ok" and r["prompt_id"] == "fewshot.km-km.txt" for r in recs.values())
    km1 = next(b for b in stub.requests if "Passage: ភ្នំពេញជារាជធានី" in b["prompt"])
    assert recs[("km1", 0)]["query"] == answer_for(km1)  # the leading space of the completion is gone


def test_summarize_on_chat_endpoint_parses_the_question_line(stub, tiny_am, tmp_path):
    stub.script = lambda body, n: ("json", {"choices": [{"message": {"content": "Summary: ስለ ከተማ።\nQuestion: ከተማዋ መቼ ተመሠረተች?"},
                                                       "finish_reason": "stop"}]})
    out = tmp_path / "q.jsonl"
    generate(cfg(stub, tiny_am, out, prompt_variant="summarize", sample=2))
    recs = read_generations(out)
    assert len(recs) == 2
    assert all(r["query"] == "ከተማዋ መቼ ተመሠረተች?" and r["summary"] == "ስለ ከተማ።" for r in recs)
    assert recs[0]["prompt_id"] == "chat-summarize.xx-yy.json"


def test_5xx_and_429_are_retried_then_succeed(stub, tiny_am, tmp_path):
    def script(body, n):
        if n == 0:
            return ("status", 429, {"Retry-After": "0"})
        if n == 1:
            return ("status", 503)
        return ("ok",)

    stub.script = script
    out = tmp_path / "q.jsonl"
    counts = generate(cfg(stub, tiny_am, out, retries=3))
    assert counts["ok"] == 8
    recs = read_generations(out)
    assert all(r["attempts"] == 3 for r in recs)
    assert len(stub.requests) == 24


def test_retries_exhausted_become_failed_records_and_a_rerun_retries_them(stub, tiny_am, tmp_path):
    stub.script = lambda body, n: ("status", 500) if "ባሕር ዳር" in json.dumps(body, ensure_ascii=False) or n < 0 else ("ok",)
    out = tmp_path / "q.jsonl"
    counts = generate(cfg(stub, tiny_am, out, retries=1))
    assert counts["ok"] == 7 and counts["failed"] == 1
    bad = [r for r in read_generations(out) if r["status"] == "failed"]
    assert bad[0]["docid"] == "am2" and "HTTP 500" in bad[0]["error"] and "gave up after 2 attempts" in bad[0]["error"]
    assert bad[0]["query"] == ""
    assert_no_key(bad[0]["error"])  # the error body echoed the Authorization header

    stub.script = lambda body, n: ("ok",)
    before = len(stub.requests)
    counts = generate(cfg(stub, tiny_am, out, retries=1))
    assert counts == {**counts, "ok": 1, "failed": 0, "skipped": 7, "complete": 8}
    assert len(stub.requests) == before + 1
    final = latest(read_generations(out))
    assert len(final) == 8 and all(r["status"] == "ok" for r in final.values())
    assert len(read_generations(out)) == 9  # append-only: the failed record stays, the latest wins


def test_client_errors_are_not_retried(stub, tiny_am, tmp_path):
    stub.script = lambda body, n: ("status", 400)
    out = tmp_path / "q.jsonl"
    counts = generate(cfg(stub, tiny_am, out, retries=3, sample=3))
    assert counts["failed"] == 3 and len(stub.requests) == 3
    recs = read_generations(out)
    assert all(r["attempts"] == 1 and r["error"].startswith("HTTP 400") for r in recs)
    assert all("***" in r["error"] for r in recs)  # the echoed key was scrubbed
    assert_no_key(out.read_bytes())


def test_timeouts_are_retried_and_reported(stub, tiny_am, tmp_path):
    stub.script = lambda body, n: ("sleep", 0.6) if n == 0 else ("ok",)
    out = tmp_path / "q.jsonl"
    t0 = time.perf_counter()
    counts = generate(cfg(stub, tiny_am, out, sample=2, timeout=0.2, retries=1, concurrency=2))
    assert counts["ok"] == 2 and time.perf_counter() - t0 < 5
    assert all(r["attempts"] == 2 for r in read_generations(out))

    stub.script = lambda body, n: ("sleep", 0.6)
    out2 = tmp_path / "q2.jsonl"
    counts = generate(cfg(stub, tiny_am, out2, sample=2, timeout=0.2, retries=0, seed=1))
    recs = read_generations(out2)
    assert counts["failed"] == 2 and all("timed out after 0.2s" in r["error"] for r in recs)


@pytest.mark.parametrize("answer, message", [
    (("raw", b"<html>502 bad gateway</html>"), "not JSON"),
    (("raw", b'{"choices": [{"message": {"content": "tor'), "not JSON"),
    (("json", {"id": "x", "object": "chat.completion"}), "no 'choices'"),
    (("json", {"choices": []}), "no 'choices'"),
    (("json", {"choices": [{"message": {"role": "assistant"}}]}), "message.content"),
    (("json", {"error": {"message": "model overloaded"}}), "server error"),
    (("json", [1, 2]), "expected a JSON object"),
])
def test_malformed_answers_become_failed_records(stub, tiny_am, tmp_path, answer, message):
    stub.script = lambda body, n: answer
    out = tmp_path / "q.jsonl"
    counts = generate(cfg(stub, tiny_am, out, sample=2))
    assert counts["failed"] == 2
    recs = read_generations(out)
    assert all(r["status"] == "failed" and message in r["error"] and r["raw"] for r in recs)


def test_a_malformed_answer_echoing_the_key_is_scrubbed(stub, tiny_am, tmp_path):
    stub.script = lambda body, n: ("raw", f"oops Authorization: Bearer {KEY}".encode())
    out = tmp_path / "q.jsonl"
    generate(cfg(stub, tiny_am, out, sample=1))
    assert_no_key(out.read_bytes())
    assert "Bearer ***" in read_generations(out)[0]["raw"]


def test_concurrency_is_bounded(stub, tiny_am, tmp_path):
    stub.delay = 0.05
    out = tmp_path / "q.jsonl"
    generate(cfg(stub, tiny_am, out, per_passage=3, concurrency=3, batch_size=24))
    assert len(stub.requests) == 24
    assert stub.max_in_flight == 3
    stub.max_in_flight = 0
    generate(cfg(stub, tiny_am, tmp_path / "q1.jsonl", per_passage=2, concurrency=1, batch_size=16))
    assert stub.max_in_flight == 1


def test_no_key_no_header(stub, tiny_am, tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_ENV)
    generate(cfg(stub, tiny_am, tmp_path / "q.jsonl", sample=1))
    assert stub.auth_headers == [None]


def test_unreachable_server_fails_items_not_the_run(tiny_am, tmp_path):
    import socket

    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "q.jsonl"
    counts = generate(GenerateConfig(collection=str(tiny_am), out=out, backend="openai", base_url=f"http://127.0.0.1:{port}/v1",
                                     model="m", sample=2, retries=1, backoff=0.01, progress=False))
    assert counts["failed"] == 2
    assert all("network error" in r["error"] for r in read_generations(out))


def test_prompt_and_endpoint_must_agree(stub, tiny_am, tmp_path):
    with pytest.raises(ConfigError, match="completion prompt"):
        generate(cfg(stub, tiny_am, tmp_path / "a.jsonl", prompt_variant="fewshot"))
    with pytest.raises(ConfigError, match="chat prompt"):
        generate(cfg(stub, tiny_am, tmp_path / "b.jsonl", prompt_variant="chat", endpoint="completions"))
    with pytest.raises(ConfigError, match="--base-url"):
        generate(GenerateConfig(collection=str(tiny_am), out=tmp_path / "c.jsonl", backend="openai", model="m"))
    with pytest.raises(ConfigError, match="--base-url http"):
        generate(cfg(stub, tiny_am, tmp_path / "e.jsonl", base_url="localhost:8000/v1"))
    with pytest.raises(ConfigError, match="--bf16, --threads"):
        generate(cfg(stub, tiny_am, tmp_path / "d.jsonl", bf16=True, threads=1))


def test_changing_the_params_regenerates(stub, tiny_am, tmp_path):
    out = tmp_path / "q.jsonl"
    generate(cfg(stub, tiny_am, out, sample=3))
    assert generate(cfg(stub, tiny_am, out, sample=3))["skipped"] == 3
    c = generate(cfg(stub, tiny_am, out, sample=3, temperature=0.3))
    assert c["ok"] == 3 and c["skipped"] == 0
    c = generate(cfg(stub, tiny_am, out, sample=3, temperature=0.3, model="other-lm"))
    assert c["ok"] == 3 and c["skipped"] == 0
    assert len(read_generations(out)) == 9


# --------------------------------------------------------------------------- kill and resume
def _cli(stub: Stub, coll: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "tevatron_ext", "generate", "-c", str(coll), "-o", str(out), "--backend", "openai",
            "--base-url", stub.url, "--model", "stub-lm", "--per-passage", "6", "--batch-size", "4",
            "--concurrency", "2", "--seed", "7", "--api-key-env", KEY_ENV, "--no-progress"]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def test_resume_after_sigkill_loses_nothing_and_duplicates_nothing(stub, tiny_am, tmp_path):
    stub.delay = 0.03
    # an uninterrupted reference run
    ref = tmp_path / "ref.jsonl"
    done = subprocess.run(_cli(stub, tiny_am, ref), env=_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert_no_key(done.stdout, done.stderr)

    out = tmp_path / "killed.jsonl"
    proc = subprocess.Popen(_cli(stub, tiny_am, out), env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while _lines(out) < 12 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    written = _lines(out)
    assert 12 <= written < 48, "the run was not interrupted mid-way"
    assert not Path(str(out) + ".manifest.json").exists()
    with open(out, "ab") as fh:  # and a torn write on top of it
        fh.write(b'{"docid": "am7", "slot": 3, "query": "half a rec')

    again = subprocess.run(_cli(stub, tiny_am, out), env=_env(), capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "torn last line" in again.stderr
    assert_no_key(again.stdout, again.stderr, out.read_bytes())
    recs = read_generations(out)
    keys = [(r["docid"], r["slot"]) for r in recs]
    assert len(keys) == len(set(keys)) == 48  # every item exactly once
    assert all(r["status"] == "ok" for r in recs)
    assert out.read_bytes() == ref.read_bytes()  # same records, same order as the uninterrupted run
    m = json.loads(Path(str(out) + ".manifest.json").read_text())
    assert m["counts"]["skipped"] == written and m["counts"]["ok"] == 48 - written
    assert "torn" in m["generation"]["repaired"]
