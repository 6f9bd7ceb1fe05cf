"""Which torch device a command runs on: ``auto`` (CUDA, then MPS, then CPU) or a named one.

Also the per-device choices that follow from it: bfloat16 autocast, cuDNN determinism, and
which GPU each of several experiment trials gets.
"""

from __future__ import annotations

import re

import torch

DEVICE_CHOICES = "auto, cpu, cuda, cuda:N or mps"
DEVICE_HELP = "auto (CUDA, then Apple MPS, then CPU; default), cpu, cuda, cuda:N or mps"
_PATTERN = re.compile(r"auto|cpu|mps|cuda(?::\d+)?")


def check_device_name(name: str) -> str:
    """``name`` normalised (lower case, no spaces); :class:`ValueError` unless a device name."""
    normal = str(name).strip().lower()
    if not _PATTERN.fullmatch(normal):
        raise ValueError(f"device {name!r}: expected {DEVICE_CHOICES}")
    return normal


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """The device called ``name``; a clear :class:`ValueError` when it is absent or unknown."""
    if isinstance(name, torch.device):
        name = str(name)
    name = check_device_name(name)
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
    count = cuda_count()
    index = int(name.partition(":")[2] or 0)
    if index >= count:
        found = f"{count} CUDA device(s)" if count else "no CUDA GPU (or a CPU-only torch)"
        raise ValueError(f"device {name!r}: this machine has {found}")
    return torch.device("cuda", index)


def cuda_count() -> int:
    """Visible CUDA devices (0 without CUDA)."""
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def autocast_dtype(device: torch.device, bf16: bool) -> torch.dtype | None:
    """bfloat16 where the device runs it (and ``bf16`` allows), else None (fp32)."""
    if not bf16:
        return None
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    return torch.bfloat16 if device.type == "cpu" else None


def make_deterministic(device: torch.device) -> None:
    """On CUDA: deterministic cuDNN convolutions and no autotuning (which picks algorithms by
    timing, so differently from run to run). Nothing to do elsewhere."""
    if device.type == "cuda":
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


def trial_devices(name: str, n_trials: int, *, workers: int = 0, ray_gpus: float = 0.0,
                  ray: bool = False) -> list[str]:  # fmt: skip
    """The device of each of ``n_trials`` experiment trials requested as ``name``.

    Local processes: ``cuda`` (or ``auto`` on a CUDA machine) with several workers and several
    GPUs puts trial i on ``cuda:(i mod GPUs)``; otherwise every trial gets ``name``. Ray: a task
    sees only the GPUs Ray reserved for it (``ray_gpus`` each), so a GPU trial runs on ``cuda``
    (the first visible one) and a task without a reservation on the CPU.
    """
    name = check_device_name(name)
    if ray:
        if ray_gpus > 0 and name in ("auto", "cuda", "cuda:0"):
            return ["cuda"] * n_trials
        if ray_gpus <= 0 and name.startswith("cuda"):
            raise ValueError(f"device {name!r} on Ray needs GPUs reserved per trial (--gpus)")
        if ray_gpus > 0 and name != "auto":
            raise ValueError(f"device {name!r}: a Ray task with --gpus runs on its own 'cuda'")
        return ["cpu" if name == "auto" else name] * n_trials
    count = cuda_count()
    spread = name == "cuda" or (name == "auto" and count > 0)
    if spread and workers > 1 and count > 1:
        return [f"cuda:{i % count}" for i in range(n_trials)]
    return [name] * n_trials


def describe_device(device: torch.device) -> str:
    """A human name for the run's config.json, e.g. ``cuda:0 (NVIDIA H200)``."""
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return str(device)
