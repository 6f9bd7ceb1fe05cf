"""Optimiser, learning-rate schedule and precision choice of a training run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from aiducation.devices import autocast_dtype
from aiducation.training.config import TrainConfig


def cpu_has_native_bf16() -> bool:
    """True when the CPU has bfloat16 instructions (AVX512-BF16 or AMX)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def use_bf16(config: TrainConfig, device: torch.device | None = None) -> bool:
    """bfloat16 autocast for training on ``device`` (default CPU). CPU: ``on``, or ``auto`` on
    CPUs with native bf16. CUDA: ``auto``/``on`` where the GPU supports bf16. MPS: never."""
    kind = "cpu" if device is None else device.type
    if config.bf16 == "off" or kind not in ("cpu", "cuda"):
        return False
    if kind == "cuda":
        return autocast_dtype(device, True) is not None
    return config.bf16 == "on" or cpu_has_native_bf16()


def lr_at(step: int, total_steps: int, steps_per_epoch: int, config: TrainConfig) -> float:
    """Learning rate before optimiser step ``step`` (0-based) of ``total_steps``."""
    if config.schedule == "constant":
        return config.lr
    warmup = round(config.warmup_epochs * steps_per_epoch) if config.schedule == "onecycle" else 0
    if step < warmup:
        return config.lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, total_steps - warmup)
    return config.lr * 0.5 * (1 + np.cos(np.pi * min(1.0, progress)))


def build_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """No weight decay on biases and normalisation parameters."""
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum, nesterov=True)
    cls = torch.optim.AdamW if config.optimizer == "adamw" else torch.optim.Adam
    return cls(groups, lr=config.lr, betas=(config.momentum, 0.999))
