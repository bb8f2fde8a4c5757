"""Devices and numeric precision: one set of rules for every stage that runs a model.

``--device`` takes ``cpu``, ``cuda``, ``cuda:N`` or ``auto`` (the first CUDA GPU when there is one,
else the CPU). ``resolve_device`` turns that into a ``torch.device`` once, and refuses a GPU that is
not there with the fix in the message; everything a stage then runs (the model's parameters and every
batch) goes to that one device.

Precision is ``fp32``, ``bf16`` or ``fp16``, resolved once from ``--bf16/--fp16`` and the device:
- CPU: bf16 is the fast path where the CPU has native bf16 (AVX-512 bf16 / AMX) and the default
  there; fp16 on CPU is refused (no fast kernels, and it overflows in attention).
- CUDA: fp16 and bf16 both run (bf16 only where the GPU supports it, i.e. Ampere or newer); the
  default on a GPU is fp16 for inference, unless bf16 is asked for.
How a stage applies it (autocast over fp32 weights, or half weights) is the stage's choice, measured
in benchmarks/; ``autocast`` below is the context the encoder uses.
"""
from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any

from .errors import ConfigError

DEVICE_HELP = "cpu, cuda, cuda:N or auto (the first GPU when there is one, else the CPU)."
PRECISIONS = ("fp32", "bf16", "fp16")
_DEVICE_RE = re.compile(r"^(cpu|auto|cuda(?::(\d+))?)$")


def _cuda_count() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def resolve_device(spec: str | None = "cpu") -> Any:
    """The ``torch.device`` for a ``--device`` value; a clear error for a GPU that is not there."""
    import torch

    if isinstance(spec, torch.device):
        spec = str(spec)
    key = (spec or "cpu").strip().lower()
    m = _DEVICE_RE.match(key)
    if not m:
        raise ConfigError(f"unknown device {spec!r}: use {DEVICE_HELP}")
    n = _cuda_count() if key != "cpu" else 0
    if key == "auto":
        return torch.device("cuda:0" if n else "cpu")
    if key == "cpu":
        return torch.device("cpu")
    index = int(m.group(2) or 0)
    if n == 0:
        raise ConfigError(f"--device {spec} asks for a CUDA GPU, but torch sees none (torch {torch.__version__}, "
                          f"CUDA build: {torch.version.cuda or 'no'}); use --device cpu, or install a CUDA build of torch")
    if index >= n:
        raise ConfigError(f"--device {spec}: this machine has {n} CUDA GPU(s), cuda:0 to cuda:{n - 1}")
    return torch.device(f"cuda:{index}")


def cpu_has_bf16() -> bool:
    """Whether this CPU runs bf16 matrix work natively (AVX-512 bf16 / AMX); elsewhere bf16 is slower than fp32."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return any(f in flags for f in ("avx512_bf16", "amx_bf16"))


def resolve_precision(device: Any, bf16: bool | None = None, fp16: bool | None = None) -> str:
    """``fp32``, ``bf16`` or ``fp16`` for a resolved device and the ``--bf16/--fp32`` and ``--fp16`` flags.

    ``bf16=None`` means "the fast default for this device": bf16 on a CPU with native bf16, fp16 on a GPU.
    ``bf16=False`` (``--fp32``) forces fp32 unless ``fp16`` is given.
    """
    import torch

    device = resolve_device(device) if not isinstance(device, torch.device) else device
    if bf16 and fp16:
        raise ConfigError("choose --bf16 or --fp16, not both")
    if device.type == "cpu":
        if fp16:
            raise ConfigError("--fp16 is for GPUs; on the CPU use --bf16 (native bf16 CPUs) or --fp32")
        if bf16 is None:
            return "bf16" if cpu_has_bf16() else "fp32"
        return "bf16" if bf16 else "fp32"
    if fp16:
        return "fp16"
    if bf16:
        if not torch.cuda.is_bf16_supported():
            raise ConfigError(f"{device} has no bf16 support (pre-Ampere GPU): use --fp16")
        return "bf16"
    return "fp16" if bf16 is None else "fp32"


def torch_dtype(precision: str) -> Any:
    import torch

    try:
        return {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    except KeyError:
        raise ConfigError(f"unknown precision {precision!r}; known: {', '.join(PRECISIONS)}") from None


def autocast(device: Any, precision: str) -> contextlib.AbstractContextManager:
    """Mixed-precision context for inference/training on ``device`` (a no-op for fp32)."""
    import torch

    if precision not in PRECISIONS:
        raise ConfigError(f"unknown precision {precision!r}; known: {', '.join(PRECISIONS)}")
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=torch_dtype(precision))


def describe(device: Any) -> dict[str, Any]:
    """What a manifest records about a device: its name and, for a GPU, the model of card."""
    import torch

    device = torch.device(device)
    out: dict[str, Any] = {"device": str(device)}
    if device.type == "cuda":
        out["gpu"] = torch.cuda.get_device_name(device)
    return out
