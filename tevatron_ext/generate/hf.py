"""The ``hf`` backend: a local transformers causal LM, batched with left padding.

Sampling is seeded per batch (``torch.manual_seed`` inside ``torch.random.fork_rng``, so the
caller's global RNG state is restored afterwards); greedy decoding needs no seed. Generation stops
per row once the continuation holds the newlines the prompt asks for (one for a question line, two for
summary + question), at EOS, or after ``max_new_tokens``.

bf16 means bf16 *weights* (the model is loaded in bfloat16), not autocast: autocast keeps fp32 weights and
casts them at every decoding step, which made one-passage generation ~1.8x slower than fp32 on this CPU,
while bf16 weights are faster than fp32 batched and alone (benchmarks/bench_generate.py).
A base model without a chat template can take one from a Jinja file (``chat_template``), e.g. the
shipped Gemma turn format, so that chat prompts can be compared with completion prompts on it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..common.errors import ConfigError
from .templates import Prompt


@dataclass(frozen=True)
class Completion:
    text: str
    stop: str  # hf: "newline" | "eos" | "length" (a run-on); openai: the server's finish_reason


class HFBackend:
    """A causal LM from a zoo name, a local folder or a hub id (``models.zoo.resolve``)."""

    name = "hf"

    def __init__(self, model: str, device: str = "cpu", bf16: bool = False, max_prompt_tokens: int = 1024,
                 threads: int | None = None, chat_template: str | None = None):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from ..models.zoo import resolve

        loc = resolve(model)
        self.location = str(loc)
        self.device = torch.device(device)
        self.max_prompt_tokens = max_prompt_tokens
        self.threads = threads  # torch intra-op threads while generating (None: torch's setting)
        tok = AutoTokenizer.from_pretrained(self.location)
        tok.padding_side = "left"
        if tok.pad_token_id is None:
            if tok.eos_token_id is None:
                raise ConfigError(f"{model}: the tokenizer has neither a pad nor an EOS token")
            tok.pad_token = tok.eos_token
        if chat_template is not None:
            tok.chat_template = chat_template
        self.tok = tok
        dtype = torch.bfloat16 if bf16 else torch.float32
        self.model = AutoModelForCausalLM.from_pretrained(self.location, dtype=dtype).to(self.device).eval()
        eos = self.model.generation_config.eos_token_id
        eos = eos if eos is not None else tok.eos_token_id
        self.eos_ids = set(eos if isinstance(eos, list) else [] if eos is None else [eos])
        self._newlines = self._newline_counts().to(self.device)
        self._fixed: dict[str, int] = {}

    @property
    def has_chat_template(self) -> bool:
        return bool(getattr(self.tok, "chat_template", None))

    def _newline_counts(self):
        """How many newlines each vocabulary entry decodes to (a lookup table for the stop rule)."""
        import torch

        head = self.model.get_output_embeddings()
        size = max(len(self.tok), head.weight.shape[0] if head is not None else 0, getattr(self.model.config, "vocab_size", 0) or 0)
        ids = [[i] for i in range(size)]
        backend = getattr(self.tok, "backend_tokenizer", None)
        if backend is not None:
            texts = backend.decode_batch(ids, skip_special_tokens=False)
        else:
            texts = [self.tok.decode(i, skip_special_tokens=False) for i in ids]
        return torch.tensor([t.count("\n") for t in texts], dtype=torch.long)

    def _prompt_text(self, prompt: Prompt, passage: str) -> str:
        rendered = prompt.render(passage)
        if prompt.kind == "completion":
            return rendered  # type: ignore[return-value]
        if not self.has_chat_template:
            raise ConfigError(f"{self.location} has no chat template: use a completion prompt "
                              "(--prompt-variant fewshot or summarize)")
        return self.tok.apply_chat_template(rendered, tokenize=False, add_generation_prompt=True)

    def _count(self, text: str, chat: bool) -> int:
        return len(self.tok(text, add_special_tokens=not chat)["input_ids"])

    def build(self, prompt: Prompt, passage: str, max_new_tokens: int) -> tuple[str, bool]:
        """The prompt text for ``passage``, truncated (in tokens) so prompt + answer fit; and whether it was cut."""
        chat = prompt.kind == "chat"
        if prompt.hash not in self._fixed:
            self._fixed[prompt.hash] = self._count(self._prompt_text(prompt, ""), chat)
        budget = self.max_prompt_tokens - max_new_tokens - self._fixed[prompt.hash]
        if budget <= 0:
            raise ConfigError(f"prompt {prompt.id} alone takes {self._fixed[prompt.hash]} tokens; "
                              f"--max-prompt-tokens {self.max_prompt_tokens} leaves no room for a passage")
        cut = False
        enc = self.tok(passage, add_special_tokens=False, return_offsets_mapping=getattr(self.tok, "is_fast", False))
        if len(enc["input_ids"]) > budget:
            cut = True
            if "offset_mapping" in enc:
                passage = passage[:enc["offset_mapping"][budget][0]]  # ends before the first token over budget
            else:
                passage = self.tok.decode(enc["input_ids"][:budget])
        return self._prompt_text(prompt, passage), cut

    def generate(self, texts: list[str], *, chat: bool, seed: int, greedy: bool, temperature: float, top_p: float,
                 max_new_tokens: int, newlines: int | None) -> list[Completion]:
        import torch
        from transformers import GenerationConfig, StoppingCriteria, StoppingCriteriaList

        enc = self.tok(texts, return_tensors="pt", padding=True, add_special_tokens=not chat).to(self.device)
        prompt_len = enc["input_ids"].shape[1]
        counts = self._newlines

        class NewlineStop(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                return counts[input_ids[:, prompt_len:]].sum(dim=1) >= newlines

        gc = GenerationConfig(
            max_new_tokens=max_new_tokens, do_sample=not greedy,
            temperature=None if greedy else temperature, top_p=None if greedy else top_p,
            top_k=None if greedy else 0,  # 0: no top-k cut (the library's default would be 50)
            pad_token_id=self.tok.pad_token_id, eos_token_id=sorted(self.eos_ids) or None,
        )
        stopping = StoppingCriteriaList([NewlineStop()]) if newlines else None
        devices = [self.device.index or 0] if self.device.type == "cuda" else []
        threads = torch.get_num_threads()
        try:
            if self.threads:
                torch.set_num_threads(self.threads)
            with torch.inference_mode(), torch.random.fork_rng(devices=devices):
                if not greedy:
                    torch.manual_seed(seed)
                out = self.model.generate(**enc, generation_config=gc, stopping_criteria=stopping)
        finally:
            torch.set_num_threads(threads)
        results = []
        for row in out[:, prompt_len:].tolist():
            eos_at = next((i for i, t in enumerate(row) if t in self.eos_ids), None)
            if eos_at is not None:
                row = row[:eos_at]
            text = self.tok.decode(row, skip_special_tokens=True)
            if newlines and text.count("\n") >= newlines:
                stop = "newline"
            elif eos_at is not None:
                stop = "eos"
            else:
                stop = "length"
            results.append(Completion(text, stop))
        return results

