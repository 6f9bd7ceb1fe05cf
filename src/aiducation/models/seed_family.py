"""The original report's family ``B{channels}_N{blocks}_FC{fc}_K{kernel}_AP{pool}``.

N residual blocks at full 48×48 resolution (conv K×K, BN, ReLU, conv K×K, BN, identity skip,
ReLU; the first block maps 1 → B channels through a 1×1 projection on the skip), an adaptive
average pool to AP×AP, then FC linear layers (FC − 1 hidden + 1 output). Unlike the report's
code, K is really used. ``hidden`` is the hidden FC width; ``hidden="seed"`` reproduces the
report's B·AP² width (tens of millions of parameters in the head).
"""

from __future__ import annotations

import re

import torch
from torch import nn

from aiducation.models.layers import FER_MEAN, FER_STD, Normalize
from aiducation.models.registry import register_family

NAME_PATTERN = re.compile(r"^B(\d+)_N(\d+)_FC(\d+)_K(\d+)_AP(\d+)$")


class ResidualBlock(nn.Module):
    def __init__(self, in_channels: int, channels: int, kernel: int) -> None:
        super().__init__()
        pad = kernel // 2
        self.conv1 = nn.Conv2d(in_channels, channels, kernel, padding=pad, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, kernel, padding=pad, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.skip = (
            nn.Identity()
            if in_channels == channels
            else nn.Conv2d(in_channels, channels, 1, bias=False)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.skip(x))


class SeedNet(nn.Module):
    """The report's residual CNN, with the kernel size applied and a configurable head."""

    def __init__(
        self,
        channels: int = 16,
        blocks: int = 8,
        fc: int = 2,
        kernel: int = 5,
        pool: int = 20,
        hidden: int | str = 256,
        num_classes: int = 4,
        dropout: float = 0.0,
        mean: float = FER_MEAN,
        std: float = FER_STD,
    ) -> None:
        super().__init__()
        if kernel % 2 == 0:
            raise ValueError(f"kernel must be odd to keep 48×48 with padding K//2, got {kernel}")
        if fc < 1 or blocks < 1:
            raise ValueError("fc and blocks must be at least 1")
        width = channels * pool * pool if hidden == "seed" else int(hidden)
        self.normalize = Normalize(mean, std)
        self.features = nn.Sequential(
            *[ResidualBlock(1 if i == 0 else channels, channels, kernel) for i in range(blocks)]
        )
        self.pool = nn.AdaptiveAvgPool2d(pool)
        layers: list[nn.Module] = [nn.Flatten()]
        in_features = channels * pool * pool
        for _ in range(fc - 1):
            layers += [nn.Linear(in_features, width), nn.ReLU(inplace=True), nn.Dropout(dropout)]
            in_features = width
        layers.append(nn.Linear(in_features, num_classes))
        self.head = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.features(self.normalize(x))))


def parse_seed_name(name: str) -> dict | None:
    """``B16_N8_FC2_K5_AP20`` → ``{"channels": 16, "blocks": 8, ...}``; ``None`` if no match."""
    match = NAME_PATTERN.match(name)
    if match is None:
        return None
    channels, blocks, fc, kernel, pool = map(int, match.groups())
    return {"channels": channels, "blocks": blocks, "fc": fc, "kernel": kernel, "pool": pool}


def seed_grid_names() -> list[str]:
    """The report's 12-model grid: K ∈ {3,5,7} × B ∈ {16,32} × (N4_FC1, N8_FC2), AP20."""
    return [
        f"B{b}_{depth}_K{k}_AP20"
        for k in (3, 5, 7)
        for b in (16, 32)
        for depth in ("N4_FC1", "N8_FC2")
    ]


register_family(
    "B16_N8_FC2_K5_AP20", parse_seed_name, SeedNet, pattern="B{c}_N{n}_FC{fc}_K{k}_AP{p}"
)
