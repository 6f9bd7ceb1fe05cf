"""Which torch device a command runs on: ``auto`` (CUDA, then MPS, then CPU) or a named one."""

from __future__ import annotations

import re

import torch

DEVICE_CHOICES = "auto, cpu, cuda, cuda:N or mps"


def resolve_device(name: str = "auto") -> torch.device:
    """The device called ``name``; a clear :class:`ValueError` when it is absent or unknown."""
    name = name.strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "mps":
        if not _mps_available():
            raise ValueError("device 'mps': this machine has no Apple GPU (MPS) available")
        return torch.device("mps")
    match = re.fullmatch(r"cuda(?::(\d+))?", name)
    if match is None:
        raise ValueError(f"device {name!r}: expected {DEVICE_CHOICES}")
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    index = int(match.group(1) or 0)
    if index >= count:
        found = f"{count} CUDA device(s)" if count else "no CUDA GPU (or a CPU-only torch)"
        raise ValueError(f"device {name!r}: this machine has {found}")
    return torch.device("cuda", index)


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def autocast_dtype(device: torch.device, bf16: bool) -> torch.dtype | None:
    """bfloat16 where the device runs it natively (and ``bf16`` allows), else None (fp32)."""
    if not bf16:
        return None
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    return torch.bfloat16 if device.type == "cpu" else None


def describe_device(device: torch.device) -> str:
    """A human name for the run's config.json, e.g. ``cuda:0 (NVIDIA H200)``."""
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return str(device)
