"""Contrast normalisation of the input face inside the model: CLAHE in torch.

Contrast-limited adaptive histogram equalisation (Zuiderveld 1994) as OpenCV's
``cv2.createCLAHE(clipLimit, tileGridSize).apply`` computes it on a uint8 image: a histogram
of each tile, clipped and redistributed, its cumulative sum as the tile's grey-level map, and
each pixel mapped by bilinear interpolation between the four nearest tiles' maps. Done in the
model's ``forward`` on the ``[0, 1]`` input (quantised to 256 grey levels), it runs the same
way in training (after augmentation), evaluation and inference, on any device, and the
checkpoint carries it as a constructor argument (``contrast="clahe"``). Matches OpenCV to
within one grey level on 48×48 faces (``tests/models/test_contrast.py``).
"""

from __future__ import annotations

import torch
from torch import nn

LEVELS = 256
CONTRASTS = ("none", "clahe")


class Clahe(nn.Module):
    """CLAHE of a ``(B, 1, H, W)`` batch in ``[0, 1]``; ``H`` and ``W`` divisible by ``tiles``."""

    def __init__(self, clip_limit: float = 2.0, tiles: int = 4) -> None:
        super().__init__()
        self.clip_limit, self.tiles = float(clip_limit), int(tiles)

    def extra_repr(self) -> str:
        return f"clip_limit={self.clip_limit}, tiles={self.tiles}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return clahe(x, self.clip_limit, self.tiles)


def clahe(x: torch.Tensor, clip_limit: float = 2.0, tiles: int = 4) -> torch.Tensor:
    """CLAHE of a ``(B, 1, H, W)`` batch in ``[0, 1]`` (see the module's docstring)."""
    batch, _, height, width = x.shape
    th, tw = height // tiles, width // tiles
    levels = (x.detach().float() * (LEVELS - 1)).round().clamp(0, LEVELS - 1).long()
    # (B, tiles², th·tw): the pixels of each tile, tile rows first
    tiled = levels.reshape(batch, tiles, th, tiles, tw).permute(0, 1, 3, 2, 4)
    tiled = tiled.reshape(batch, tiles * tiles, th * tw)
    counts = torch.zeros(batch, tiles * tiles, LEVELS, device=x.device, dtype=torch.long)
    counts.scatter_add_(2, tiled, torch.ones_like(tiled))
    maps = grey_maps(counts, th * tw, clip_limit).reshape(batch, tiles * tiles * LEVELS)
    # each pixel: bilinear mix of the maps of its four nearest tiles, as OpenCV
    flat = levels.reshape(batch, height * width)
    out = torch.zeros(batch, height * width, device=x.device)
    for y_tile, y_weight in neighbours(height, th, tiles, x.device):
        for x_tile, x_weight in neighbours(width, tw, tiles, x.device):
            tile = (y_tile[:, None] * tiles + x_tile[None, :]).reshape(1, height * width)
            weight = (y_weight[:, None] * x_weight[None, :]).reshape(1, height * width)
            out += weight * maps.gather(1, tile * LEVELS + flat)
    mapped = out.round().clamp(0, LEVELS - 1) / (LEVELS - 1)
    return mapped.reshape(batch, 1, height, width).to(x.dtype)


torch.fx.wrap("clahe")  # one opaque node when torch.fx traces a model (BatchNorm folding)


def grey_maps(counts: torch.Tensor, area: int, clip_limit: float) -> torch.Tensor:
    """Each tile's grey-level map from its histogram ``(B, T, 256)``, clipped and the excess
    redistributed as OpenCV does (the limit is ``clip_limit`` × area / 256, at least 1)."""
    limit = max(int(clip_limit * area / LEVELS), 1)
    excess = (counts - limit).clamp(min=0).sum(dim=2, keepdim=True)
    clipped = counts.clamp(max=limit) + excess // LEVELS
    residual = excess % LEVELS
    # the residual goes one by one to bins 0, step, 2·step, ... (step = 256 // residual)
    step = (LEVELS // residual.clamp(min=1)).clamp(min=1)
    bins = torch.arange(LEVELS, device=counts.device)
    extra = (bins % step == 0) & (bins // step < residual)
    cumulative = (clipped + extra.long()).cumsum(dim=2)
    return (cumulative.float() * ((LEVELS - 1) / area)).round().clamp(0, LEVELS - 1)


def neighbours(
    size: int, tile: int, tiles: int, device: torch.device
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """For each pixel coordinate the two tiles it is interpolated between and their weights
    (OpenCV: ``f = x / tile - 0.5``, tiles ``floor(f)`` and ``floor(f) + 1`` clamped to the
    grid, weights ``1 - frac(f)`` and ``frac(f)``)."""
    position = torch.arange(size, device=device, dtype=torch.float32) / tile - 0.5
    first = position.floor()
    frac = position - first
    low = first.long().clamp(0, tiles - 1)
    high = (first.long() + 1).clamp(0, tiles - 1)
    return [(low, 1.0 - frac), (high, frac)]


def contrast_layer(contrast: str) -> nn.Module:
    """The input layer for a model's ``contrast`` argument."""
    if contrast == "clahe":
        return Clahe()
    if contrast == "none":
        return nn.Identity()
    raise ValueError(f"contrast must be one of {', '.join(CONTRASTS)}, got {contrast!r}")
