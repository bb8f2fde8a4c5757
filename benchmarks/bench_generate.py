"""Generation: the ``hf`` backend batched (8 passages a forward pass) vs one passage at a time, and the
``openai`` backend against a local stub server (fixed latency per request) with concurrency 1 vs 8.

hf: gemma-3-270m from the zoo, the few-shot completion prompt for Amharic passages, 32 new tokens,
stop at the first newline, bf16 where the CPU has it (the stage's defaults), greedy decoding (so
a passage costs the same work batched or alone; sampling would add noise, not change the
mechanism). One model is loaded; chunks of 8 passages alternate between one batched call and
single calls, so both modes run under the same machine load.
openai: ``generate.generate()`` end to end (records written and fsynced) against a
``ThreadingHTTPServer`` on 127.0.0.1 that sleeps a fixed time per request.
"""
from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import common

BATCH = 8
TARGET = 3.0
LATENCY_S = 0.05


def _passages(lang: str, n: int) -> tuple[list[str], str]:
    docs, source = common.load_docs(lang)
    texts = [d["text"] for d in docs]
    return [texts[i % len(texts)] for i in range(n)], source


def bench_hf(quick: bool) -> list[dict[str, Any]]:
    name = f"generate hf queries/min: batched ({BATCH}) vs one at a time"
    try:
        from tevatron_ext.generate.hf import HFBackend
        from tevatron_ext.generate.templates import find_prompt
    except ImportError as exc:
        return [common.skipped(name, f"the hf backend is not available ({exc})")]
    from tevatron_ext.models.encoder import bf16_supported
    from tevatron_ext.models.zoo import prepare

    prepare("gemma-3-270m")
    common.torch_threads()
    n = 8 if quick else 16
    n_single = 2 if quick else n  # quick: one batch of 8, and 2 of those passages one at a time
    texts, source = _passages("am", n)
    bf16 = bf16_supported()
    backend = HFBackend("gemma-3-270m", device="cpu", bf16=bf16)
    prompt = find_prompt("fewshot", "am", "am", chat=False)
    max_new = 32
    # greedy: a passage gets the same continuation batched or alone, so both modes do the same work
    params = dict(chat=False, greedy=True, temperature=0.7, top_p=0.9, max_new_tokens=max_new, newlines=prompt.newlines)
    built = [backend.build(prompt, t, max_new)[0] for t in texts]
    backend.generate([built[0][-200:]] * 2, seed=0, **{**params, "max_new_tokens": 2})  # warm-up
    wall = {"batched": 0.0, "single": 0.0}
    done = {"batched": 0, "single": 0}
    stops: dict[str, list[str]] = {"batched": [], "single": []}
    for start in range(0, n, BATCH):  # chunks alternate: one batched call, then its passages one at a time
        chunk = built[start:start + BATCH]
        dt, outs = common.timed(backend.generate, chunk, seed=start, **params)
        wall["batched"] += dt
        done["batched"] += len(chunk)
        stops["batched"] += [c.stop for c in outs]
        for i, text in enumerate(chunk):
            if done["single"] >= n_single:
                break
            dt, outs = common.timed(backend.generate, [text], seed=start + i, **params)
            wall["single"] += dt
            done["single"] += 1
            stops["single"] += [c.stop for c in outs]
    qpm = {k: 60 * done[k] / v for k, v in wall.items()}
    runons = {k: sum(s == "length" for s in v) for k, v in stops.items()}
    extra_rows = []
    if bf16 and not quick:  # are bf16 weights worth it for generation? the same passages in fp32, interleaved
        fp32 = HFBackend("gemma-3-270m", device="cpu", bf16=False)
        fp32.generate([built[0][-200:]] * 2, seed=0, **{**params, "max_new_tokens": 2})
        prec: dict[str, dict[str, float]] = {"single": {"bf16": 0.0, "fp32": 0.0}, "batched": {"bf16": 0.0, "fp32": 0.0}}
        n_prec = 3
        for i in range(n_prec):
            for key, be in (("bf16", backend), ("fp32", fp32)):
                prec["single"][key] += common.timed(be.generate, [built[i]], seed=i, **params)[0]
        for key, be in (("bf16", backend), ("fp32", fp32)):
            prec["batched"][key] += common.timed(be.generate, built[:BATCH], seed=0, **params)[0]
        for mode, count in (("single", n_prec), ("batched", BATCH)):
            extra_rows.append(common.result(
                f"generate hf queries/min {mode}: bf16 weights vs fp32", 60 * count / prec[mode]["bf16"],
                60 * count / prec[mode]["fp32"], "queries/min",
                note=f"gemma-3-270m, {count} passage(s) {'one at a time' if mode == 'single' else 'in one batch'}, greedy; "
                     "the model is loaded in bf16 (the stage's --bf16); bf16 autocast over fp32 weights was measured "
                     "slower than fp32 one at a time (0.66x) and was dropped",
                details={"seconds": prec[mode]}))
        del fp32
    scope = (f"{n} passages batched, the first {n_single} of them one at a time" if n_single < n
             else f"the same {n} passages both ways")
    return [common.result(
        name, qpm["batched"], qpm["single"], "queries/min", target=TARGET,
        short=f"gemma-3-270m, {'bf16 weights' if bf16 else 'fp32'}, greedy, <= {max_new} new tokens; {scope}",
        note=f"gemma-3-270m ({'bf16 weights' if bf16 else 'fp32'}, {common.threads_note()}), Amharic passages ({source}): {scope}; fewshot "
             f"prompt (~{len(backend.tok(built[0])['input_ids'])} tokens), greedy, <= {max_new} new tokens, stop at the "
             f"first newline; a batch runs until its last row stops (run-ons hitting {max_new} tokens: batched "
             f"{runons['batched']}/{done['batched']}, single {runons['single']}/{done['single']})",
        details={"seconds": wall, "queries": done, "stops": stops, "bf16": bf16}), *extra_rows]


class _Stub(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    latency = LATENCY_S

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        time.sleep(self.latency)
        if self.path.endswith("/chat/completions"):
            choice = {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": f"ጥያቄ {body.get('seed')}?"}}
        else:
            choice = {"index": 0, "finish_reason": "stop", "text": f" ጥያቄ {body.get('seed')}?"}
        payload = json.dumps({"id": "x", "object": "chat.completion", "model": body.get("model"), "choices": [choice]},
                             ensure_ascii=False).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64  # the default backlog of 5 drops concurrent connects: each retry costs a 1 s SYN timeout


def bench_openai(quick: bool) -> list[dict[str, Any]]:
    name = "generate openai queries/min: concurrency 8 vs 1 (stub server, 50 ms per request)"
    try:
        from tevatron_ext.generate import GenerateConfig, generate
    except ImportError as exc:
        return [common.skipped(name, f"the openai backend is not available ({exc})")]
    for var in ("NO_PROXY", "no_proxy"):
        os.environ[var] = ",".join(x for x in (os.environ.get(var), "127.0.0.1", "localhost") if x)
    coll = common.demo_collection("am")
    collection = "demo-am" if coll is not None else str(common.FIXTURES / "tiny-am")
    per_passage = 2 if quick else 12
    sample = 8
    server = _Server(("127.0.0.1", 0), _Stub)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    wall: dict[str, list[float]] = {"c8": [], "c1": []}
    counts: dict[str, Any] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-gen-") as tmp:
            for rep in range(2):
                for key, conc in (("c8", 8), ("c1", 1)):
                    cfg = GenerateConfig(collection=collection, out=Path(tmp) / f"{key}-{rep}.jsonl", backend="openai",
                                         base_url=url, model="stub-lm", sample=sample, per_passage=per_passage,
                                         concurrency=conc, batch_size=32, progress=False, retries=0,
                                         api_key_env="BENCH_NO_SUCH_KEY", seed=rep)
                    dt, counts[key] = common.timed(generate, cfg)
                    wall[key].append(dt)
    finally:
        server.shutdown()
        server.server_close()
    n = sample * per_passage
    failed = {k: c.get("failed") for k, c in counts.items()}
    qpm = {k: 60 * n / common.median(v) for k, v in wall.items()}
    return [common.result(
        name, qpm["c8"], qpm["c1"], "queries/min",
        short=f"latency-bound: the ideal ratio is 8; {n} requests a run",
        note=f"{n} requests a run, median of 2 interleaved, generate() end to end (records fsynced); "
             f"ideal ratio 8 (latency-bound); failed items {failed}; collection {collection}",
        details={"seconds": wall, "counts": counts, "latency_s": LATENCY_S})]


def run(quick: bool) -> list[dict[str, Any]]:
    return [*bench_openai(quick), *bench_hf(quick)]


if __name__ == "__main__":
    common.main(run)
