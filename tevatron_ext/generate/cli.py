"""``tevatron-ext generate``: builds a :class:`GenerateConfig` and calls :func:`generate`."""
from __future__ import annotations

import click

_LLM = "[llm]"
_HF = "[hf]"
_API = "[openai]"


@click.command()
@click.option("--collection", "-c", required=True, help="Collection name or directory (passages from its corpus).")
@click.option("--out", "-o", required=True, type=click.Path(dir_okay=False),
              help="Output JSONL (append-only cache; rerunning resumes it).")
@click.option("--method", type=click.Choice(["llm", "ict", "crop"]), default="llm", show_default=True,
              help="llm: prompt a language model; ict: a sentence is the query (ORQA); crop: two random spans (Contriever).")
@click.option("--query-language", default=None, help="Query language code (default: the collection's).")
@click.option("--sample", type=int, default=None, help="A seeded sample of N passages (default: all).")
@click.option("--per-passage", type=int, default=1, show_default=True, help="Query slots per passage.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--batch-size", type=int, default=None,
              help="Items per write (and per forward pass for hf); default hf 8, openai 32, ict/crop 256.")
@click.option("--backend", type=click.Choice(["hf", "openai"]), default=None, help=f"{_LLM} Default hf.")
@click.option("--model", "-m", default=None,
              help=f"{_LLM} hf: zoo name, model folder or hub id (default gemma-3-270m); openai: the served model name.")
@click.option("--prompt-variant", type=click.Choice(["fewshot", "summarize", "chat"]), default=None,
              help=f"{_LLM} Shipped prompt (default: chat for an openai chat endpoint, else fewshot).")
@click.option("--prompt", "prompt", type=click.Path(exists=True, dir_okay=False), default=None,
              help=f"{_LLM} A custom template: .txt completion with {{passage}}, or .json chat messages.")
@click.option("--max-new-tokens", type=int, default=None, help=f"{_LLM} Default 32 (96 for summarize).")
@click.option("--temperature", type=float, default=None, help=f"{_LLM} Sampling temperature (default 0.7).")
@click.option("--top-p", type=float, default=None, help=f"{_LLM} Nucleus sampling (default 0.9).")
@click.option("--greedy", is_flag=True, default=False, help=f"{_LLM} Greedy decoding instead of sampling.")
@click.option("--bf16/--fp32", "bf16", default=None, help=f"{_HF} Load the model's weights in bf16 (default: on where the CPU has native bf16).")
@click.option("--device", default=None, help=f"{_HF} torch device (default cpu).")
@click.option("--max-prompt-tokens", type=int, default=None,
              help=f"{_HF} Prompt + answer budget; long passages are cut to fit (default 1024).")
@click.option("--threads", type=int, default=None,
              help=f"{_HF} torch CPU threads while generating (default: torch's; 1 is faster on a busy machine).")
@click.option("--chat-template", default=None,
              help=f"{_HF} A Jinja chat template (file, or `gemma` for the shipped Gemma turn format) for a model "
                   "whose tokenizer has none, e.g. gemma-3-270m (a base model) with --prompt-variant chat.")
@click.option("--base-url", default=None, help=f"{_API} OpenAI-compatible server, e.g. http://localhost:8000/v1.")
@click.option("--endpoint", type=click.Choice(["chat", "completions"]), default=None, help=f"{_API} Default chat.")
@click.option("--concurrency", type=int, default=None, help=f"{_API} Requests in flight at most (default 4).")
@click.option("--timeout", type=float, default=None, help=f"{_API} Seconds per request (default 60).")
@click.option("--retries", type=int, default=None, help=f"{_API} Retries on 429/5xx/network errors/timeouts (default 3).")
@click.option("--backoff", type=float, default=None, help=f"{_API} Base of the exponential backoff in seconds (default 1).")
@click.option("--api-key-env", default=None,
              help=f"{_API} Environment variable holding the API key (default OPENAI_API_KEY); never written anywhere.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Progress bar on stderr.")
def generate(collection, out, method, query_language, sample, per_passage, seed, batch_size, backend, model,
             prompt_variant, prompt, max_new_tokens, temperature, top_p, greedy, bf16, device, max_prompt_tokens,
             threads, chat_template, base_url, endpoint, concurrency, timeout, retries, backoff, api_key_env, progress) -> None:
    """Synthetic queries for a collection's passages, one JSONL record per (passage, slot).

    Options tagged [llm] apply to --method llm, [hf] and [openai] to that backend; others are rejected.
    Rerunning the same command resumes: items already done with the same prompt, model and
    parameters are skipped, failed ones retried."""
    from .core import GenerateConfig
    from .core import generate as run

    c = run(GenerateConfig(
        collection=collection, out=out, method=method, query_language=query_language, sample=sample,
        per_passage=per_passage, seed=seed, batch_size=batch_size, progress=progress, backend=backend, model=model,
        prompt_variant=prompt_variant, prompt=prompt, max_new_tokens=max_new_tokens, temperature=temperature,
        top_p=top_p, greedy=greedy, bf16=bf16, device=device, max_prompt_tokens=max_prompt_tokens, threads=threads,
        chat_template=chat_template, base_url=base_url,
        endpoint=endpoint, concurrency=concurrency, timeout=timeout, retries=retries, backoff=backoff,
        api_key_env=api_key_env))
    click.echo(f"wrote {out}: {c['ok']} ok, {c['unparsed']} unparsed, {c['failed']} failed, {c['skipped']} already done "
               f"({c['complete']}/{c['items']} items complete)")
