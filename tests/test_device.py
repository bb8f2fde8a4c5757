"""Device and precision rules (tevatron_ext.common.device), checked on a CPU-only machine.

CUDA is simulated by monkeypatching torch's CUDA queries: what is tested is the rule (which device a
``--device`` value names, which precision a flag set gives, where the model's parameters end up), not a GPU.
"""
from __future__ import annotations

import pytest
import torch

from tevatron_ext.common import device as dev
from tevatron_ext.common.errors import ConfigError, TevatronExtError


def fake_gpus(monkeypatch, n: int, bf16: bool = True) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: n > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: n)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16)


def test_cpu_and_auto_without_gpu(monkeypatch):
    fake_gpus(monkeypatch, 0)
    assert dev.resolve_device("cpu") == torch.device("cpu")
    assert dev.resolve_device(None) == torch.device("cpu")
    assert dev.resolve_device("auto") == torch.device("cpu")


def test_cuda_requested_without_gpu_is_a_clear_error(monkeypatch):
    fake_gpus(monkeypatch, 0)
    with pytest.raises(ConfigError, match="--device cpu"):
        dev.resolve_device("cuda")
    with pytest.raises(ConfigError, match="CUDA GPU"):
        dev.resolve_device("cuda:1")


def test_cuda_indices(monkeypatch):
    fake_gpus(monkeypatch, 2)
    assert dev.resolve_device("auto") == torch.device("cuda:0")
    assert dev.resolve_device("cuda") == torch.device("cuda:0")
    assert dev.resolve_device("CUDA:1") == torch.device("cuda:1")
    with pytest.raises(ConfigError, match="cuda:0 to cuda:1"):
        dev.resolve_device("cuda:2")
    for bad in ("gpu", "cuda:x", "mps0", ""):
        if bad:
            with pytest.raises(ConfigError, match="unknown device"):
                dev.resolve_device(bad)


def test_precision_rules(monkeypatch):
    fake_gpus(monkeypatch, 1)
    cpu, gpu = torch.device("cpu"), torch.device("cuda:0")
    monkeypatch.setattr(dev, "cpu_has_bf16", lambda: True)
    assert dev.resolve_precision(cpu, None) == "bf16"
    assert dev.resolve_precision(cpu, False) == "fp32"
    monkeypatch.setattr(dev, "cpu_has_bf16", lambda: False)
    assert dev.resolve_precision(cpu, None) == "fp32"  # bf16 only by default where the CPU has it natively
    assert dev.resolve_precision(cpu, True) == "bf16"
    with pytest.raises(ConfigError, match="GPUs"):
        dev.resolve_precision(cpu, None, fp16=True)
    assert dev.resolve_precision(gpu, None) == "fp16"
    assert dev.resolve_precision(gpu, None, fp16=True) == "fp16"
    assert dev.resolve_precision(gpu, True) == "bf16"
    assert dev.resolve_precision(gpu, False) == "fp32"
    with pytest.raises(ConfigError, match="not both"):
        dev.resolve_precision(gpu, True, fp16=True)
    fake_gpus(monkeypatch, 1, bf16=False)
    with pytest.raises(ConfigError, match="--fp16"):
        dev.resolve_precision(gpu, True)


def test_autocast_contexts():
    with dev.autocast("cpu", "bf16"):
        y = torch.nn.functional.linear(torch.ones(2, 4), torch.ones(3, 4))
    assert y.dtype == torch.bfloat16
    with dev.autocast("cpu", "fp32"):
        y = torch.nn.functional.linear(torch.ones(2, 4), torch.ones(3, 4))
    assert y.dtype == torch.float32
    with pytest.raises(ConfigError):
        dev.autocast("cpu", "int8")


def test_encoder_model_follows_the_requested_device(tmp_path, monkeypatch):
    """The model's parameters (not only the batches) go to the requested device, and every batch follows the model."""
    from helpers import make_tiny_bert

    from tevatron_ext.models import encoder as encmod
    from tevatron_ext.models.zoo import load_encoder

    enc = load_encoder(str(make_tiny_bert(tmp_path / "m", pooling="cls")), device="cpu")
    assert {p.device.type for p in enc.parameters()} == {"cpu"}
    # stand in for a GPU with torch's meta device: "cuda:3" resolves to it
    asked = []
    monkeypatch.setattr(encmod, "resolve_device", lambda spec: asked.append(spec) or torch.device("meta"))
    enc.to_device("cuda:3")
    assert asked == ["cuda:3"]
    assert {p.device.type for p in enc.parameters()} == {"meta"} and enc.device.type == "meta"
    seen = []

    def embed(batch, kind):
        seen.extend(v.device.type for v in batch.values())
        return torch.zeros(batch["input_ids"].shape[0], enc.dimension)

    monkeypatch.setattr(enc, "embed", embed)
    enc.encode(["one passage", "another passage"], "passage")
    assert seen and set(seen) == {"meta"}


def test_unloadable_model_names_the_model_and_the_fix(tmp_path, monkeypatch):
    from tevatron_ext.models.zoo import load_encoder

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(TevatronExtError, match="castorini/mdpr-tied-pft-msmarco.*huggingface-cli download"):
        load_encoder("castorini/mdpr-tied-pft-msmarco")
    (tmp_path / "broken").mkdir()
    from tevatron_ext.models.contract import PRESETS

    PRESETS["mdpr"].save(tmp_path / "broken")
    with pytest.raises(TevatronExtError, match="not a loadable model"):
        load_encoder(str(tmp_path / "broken"))
