"""Deterministic stand-ins for the analysis pipeline, shared by the inference and web tests."""

from __future__ import annotations

import cv2
import numpy as np
import torch
from torch import nn

from aiducation.inference.api import Analyzer
from aiducation.inference.classifier import FaceClassifier
from aiducation.inference.detectors import Detection
from aiducation.models.predict import WithExpression

CLASSES = ["Angry", "Bored", "Focused", "Neutral"]


class BlobDetector:
    """Stub detector: every blob differing strongly from the mid-grey background is a face."""

    def detect(self, image: np.ndarray) -> list[Detection]:
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
        mask = (np.abs(gray.astype(int) - 128) > 50).astype(np.uint8)
        n, _, stats, _ = cv2.connectedComponentsWithStats(mask)
        return [
            Detection(box=tuple(float(v) for v in stats[i, :4]), score=1.0)
            for i in range(1, n)
            if stats[i, 4] >= 100
        ]


class BrightnessModel(nn.Module):
    """Logits favouring class 0 for bright crops and class 1 for dark ones."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=(1, 2, 3))
        return torch.stack([mean, 1 - mean, 0 * mean, 0 * mean], dim=1) * 20


def stub_analyzer() -> Analyzer:
    """Blob 'faces' classified by brightness: bright → Angry, dark → Bored."""
    return Analyzer(BlobDetector(), FaceClassifier(BrightnessModel(), CLASSES))


class BrightnessOtherModel(nn.Module):
    """Five outputs (four states + "Other") and an 8-emotion head: bright crops are Angry,
    dark ones "Other" with a happy expression."""

    def forward_with_aux(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean = x.mean(dim=(1, 2, 3))
        zero = 0 * mean
        logits = torch.stack([mean, zero, zero, zero, 1 - mean], dim=1) * 20
        aux = torch.stack([zero, 1 - mean, *[zero] * 6], dim=1) * 20  # dark: happiness
        return logits, aux

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_aux(x)[0]


def stub_other_analyzer(threshold: float | None = 0.5) -> Analyzer:
    """Like :func:`stub_analyzer` but dark blobs are "Other" (happy); ``None``: seed4 answer."""
    model = WithExpression(BrightnessOtherModel())
    return Analyzer(BlobDetector(), FaceClassifier(model, [*CLASSES, "Other"], 128, threshold))


class GarbageYuNet:
    """Stands in for cv2.FaceDetectorYN on a tiny picture (about one run in three): one row of
    uninitialised memory, with infinite and huge box coordinates."""

    def setInputSize(self, size) -> None:
        self.size = size

    def detect(self, image):
        row = np.zeros((1, 15), np.float32)
        row[0, :4] = [-np.inf, -6.2e26, np.inf, 0.0]
        row[0, 14] = 1.0
        return 1, row
