"""Batched data augmentation on image tensors (training batches only).

One affine warp per batch (random flip, shift, rotation and scale drawn per image, applied with
a single ``grid_sample``) plus optional random erasing. Randomness comes from an explicit
``torch.Generator`` so an epoch's augmentation is reproducible from its seed; the random numbers
are drawn on the generator's device (the images' device: a CPU generator for CPU batches, a
CUDA one for CUDA batches).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class AugmentConfig:
    """Augmentation strengths; zero disables a transform."""

    flip: bool = True  # horizontal flip with probability 0.5
    max_shift: float = 0.08  # fraction of the image side (0.08 × 48 ≈ 4 px)
    max_rotate: float = 10.0  # degrees
    max_scale: float = 0.1  # relative zoom in or out
    erase_prob: float = 0.0  # probability of erasing one rectangle per image
    erase_max_area: float = 0.2  # largest erased fraction of the image area

    @property
    def enabled(self) -> bool:
        return bool(
            self.flip or self.max_shift or self.max_rotate or self.max_scale or self.erase_prob
        )


def _rand(size, generator: torch.Generator, dtype: torch.dtype | None = None) -> torch.Tensor:
    return torch.rand(size, generator=generator, device=generator.device, dtype=dtype)


def _uniform(n: int, bound: float, generator: torch.Generator) -> torch.Tensor:
    return (_rand(n, generator) * 2 - 1) * bound


def random_affine(
    images: torch.Tensor, config: AugmentConfig, generator: torch.Generator
) -> torch.Tensor:
    """Warp float images ``(B, C, H, W)`` by a random flip/shift/rotation/scale per image."""
    n = images.shape[0]
    angle = _uniform(n, math.radians(config.max_rotate), generator)
    scale = 1 + _uniform(n, config.max_scale, generator)
    flip = torch.ones(n, device=generator.device)
    if config.flip:
        flip = torch.where(_rand(n, generator) < 0.5, -1.0, 1.0)
    shift = _uniform(2 * n, 2 * config.max_shift, generator).view(n, 2)  # grid units: side = 2
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [
            torch.stack([cos * flip, -sin, shift[:, 0]], dim=1),
            torch.stack([sin * flip, cos, shift[:, 1]], dim=1),
        ],
        dim=1,
    ).to(images.device, images.dtype)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)


def random_erase(
    images: torch.Tensor, config: AugmentConfig, generator: torch.Generator
) -> torch.Tensor:
    """Fill one random rectangle per selected image with uniform noise in ``[0, 1]``."""
    n, _, h, w = images.shape
    chosen = _rand(n, generator) < config.erase_prob
    area = _rand(n, generator) * config.erase_max_area * h * w
    aspect = torch.exp(_uniform(n, math.log(2.0), generator))
    eh = (area * aspect).sqrt().clamp(1, h).long()
    ew = (area / aspect).sqrt().clamp(1, w).long()
    top = (_rand(n, generator) * (h - eh + 1)).long()
    left = (_rand(n, generator) * (w - ew + 1)).long()
    rows = torch.arange(h, device=images.device).view(1, h, 1)
    cols = torch.arange(w, device=images.device).view(1, 1, w)
    inside = (
        (rows >= top.view(n, 1, 1))
        & (rows < (top + eh).view(n, 1, 1))
        & (cols >= left.view(n, 1, 1))
        & (cols < (left + ew).view(n, 1, 1))
        & chosen.view(n, 1, 1)
    ).unsqueeze(1)
    noise = _rand(images.shape, generator, images.dtype)
    return torch.where(inside, noise, images)


def augment_batch(
    images: torch.Tensor, config: AugmentConfig, generator: torch.Generator
) -> torch.Tensor:
    """Augment a float batch ``(B, C, H, W)`` with values in ``[0, 1]``."""
    if config.flip or config.max_shift or config.max_rotate or config.max_scale:
        images = random_affine(images, config, generator)
    if config.erase_prob > 0:
        images = random_erase(images, config, generator)
    return images
