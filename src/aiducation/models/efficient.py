"""FaceResNet: a compact residual CNN designed for 48×48 grayscale faces (the default model).

Stem at 48×48, then stages that halve the resolution (24, 12, 6) while doubling the channels,
then global average pooling into a small linear head. Only the stem runs at full resolution, so
the default (width 16, 0.67 M parameters, ~45 M multiply-adds per face) trains several times
faster than the report's B16_N8_FC2_K5_AP20 (~260 M multiply-adds) on a CPU.

Sizes (train images/s, 1 thread on a busy 2-core AMD EPYC, batch 64, channels-last):
faceresnet_t ≈ 235, faceresnet_s ≈ 146, faceresnet_m ≈ 28.
"""

from __future__ import annotations

import torch
from torch import nn

from aiducation.models.contrast import contrast_layer
from aiducation.models.layers import FER_MEAN, FER_STD, Normalize
from aiducation.models.registry import register_model


def conv_bn_relu(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class BasicBlock(nn.Module):
    """Two 3×3 convolutions with an identity (or strided 1×1) shortcut."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            conv_bn_relu(in_channels, out_channels, stride),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
        )
        self.shortcut = (
            nn.Identity()
            if stride == 1 and in_channels == out_channels
            else nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


class FaceResNet(nn.Module):
    def __init__(
        self,
        width: int = 32,
        depths: tuple[int, ...] | list[int] = (1, 2, 2),
        num_classes: int = 4,
        dropout: float = 0.2,
        mean: float = FER_MEAN,
        std: float = FER_STD,
        aux_classes: int = 0,
        stem_stride: int = 1,
        contrast: str = "none",
    ) -> None:
        super().__init__()
        self.contrast = contrast_layer(contrast)  # "clahe": contrast-normalised input
        self.normalize = Normalize(mean, std)
        # stem_stride=2 runs every stage at half the resolution: ~4× fewer multiply-adds
        layers: list[nn.Module] = [conv_bn_relu(1, width, stride=stem_stride)]
        channels = width
        for stage, depth in enumerate(depths):
            out_channels = width * 2 ** (stage + 1)
            for i in range(depth):
                layers.append(BasicBlock(channels, out_channels, stride=2 if i == 0 else 1))
                channels = out_channels
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(channels, num_classes),
        )
        # Optional second linear head on the same pooled features, used only in training
        # (e.g. predicting each face's crowd vote shares); ``forward`` ignores it.
        self.aux_head = nn.Linear(channels, aux_classes) if aux_classes else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(self.normalize(self.contrast(x))))

    def forward_with_aux(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Class logits and auxiliary-head logits (needs ``aux_classes`` > 0)."""
        if self.aux_head is None:
            raise ValueError("this model was built without an auxiliary head (aux_classes=0)")
        pooled = self.features(self.normalize(self.contrast(x)))
        *body, classify = self.head  # registered layers one by one, so torch.fx can trace it
        for layer in body:
            pooled = layer(pooled)
        return classify(pooled), self.aux_head(pooled)


@register_model(aux_head=True)
def faceresnet_s(**kwargs) -> FaceResNet:
    """Default: width 16, depths (1, 2, 2), ~0.67 M parameters."""
    return FaceResNet(**{"width": 16, "depths": (1, 2, 2), **kwargs})


@register_model(aux_head=True)
def faceresnet_m(**kwargs) -> FaceResNet:
    """Medium: width 32, depths (1, 2, 2), ~2.7 M parameters, for longer training budgets."""
    return FaceResNet(**{"width": 32, "depths": (1, 2, 2), **kwargs})


@register_model(aux_head=True)
def faceresnet_t(**kwargs) -> FaceResNet:
    """Tiny: width 16, depths (1, 1, 1), ~0.3 M parameters, for tests and fast experiments."""
    return FaceResNet(**{"width": 16, "depths": (1, 1, 1), **kwargs})
