"""Knowledge distillation: the averaged predictions of teacher checkpoints as training targets."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from aiducation.models.checkpoint import load_checkpoint
from aiducation.models.predict import classify_batches


def teacher_probabilities(
    teachers: Sequence[str | Path],
    images: np.ndarray,
    classes: list[str],
    *,
    batch_size: int = 512,
    device: str | torch.device = "cpu",
) -> np.ndarray:
    """Mean flip-averaged class probabilities of ``teachers`` on un-augmented ``images``.

    The teachers run on ``device``. Each must answer with exactly ``classes`` (same names,
    same order), so that its probabilities can stand in for the student's targets.
    """
    faces = torch.from_numpy(np.ascontiguousarray(images))
    total = np.zeros((len(faces), len(classes)))
    for path in teachers:
        checkpoint = load_checkpoint(path, device=device)
        if checkpoint.classes != list(classes):
            raise ValueError(
                f"teacher {path}: answers {checkpoint.classes}, but the student learns {classes}"
            )
        probs, _ = classify_batches(
            checkpoint.model, faces, len(classes), batch_size=batch_size, tta_flip=True
        )
        total += probs.double().numpy()
    return total / len(teachers)


def blend_with_teachers(targets: np.ndarray, teacher: np.ndarray, weight: float) -> np.ndarray:
    """``(1 − weight)·targets + weight·teacher`` (rows that sum to 1 stay so)."""
    return (1 - weight) * targets + weight * teacher
