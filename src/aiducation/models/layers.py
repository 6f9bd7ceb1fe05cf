"""Small building blocks shared by the model files."""

from __future__ import annotations

import torch
from torch import nn

# Pixel statistics of the FER2013 faces (scaled to [0, 1]); models normalise their own input.
FER_MEAN = 0.5077
FER_STD = 0.2550


class Normalize(nn.Module):
    """``(x - mean) / std`` with constants stored in the model's constructor arguments."""

    def __init__(self, mean: float = FER_MEAN, std: float = FER_STD) -> None:
        super().__init__()
        self.mean, self.std = float(mean), float(std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std

    def extra_repr(self) -> str:
        return f"mean={self.mean}, std={self.std}"
