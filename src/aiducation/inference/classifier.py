"""Batched learning-state classification of 48×48 face crops with a saved checkpoint."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from aiducation.errors import InputError
from aiducation.models.checkpoint import bundled_model_dir, load_checkpoint, predict_proba


@dataclass
class FaceClassifier:
    """A model and its class names; ``predict`` maps uint8 crops to class probabilities."""

    model: nn.Module
    classes: list[str]
    batch_size: int = 256

    @classmethod
    def load(cls, path: str | Path | None = None, batch_size: int = 256) -> FaceClassifier:
        """Load a checkpoint dir / run dir (``None``: the bundled model) for inference."""
        try:
            checkpoint = load_checkpoint(path)
        except FileNotFoundError as exc:
            if path is None:
                raise InputError(
                    f"the bundled model is missing from {bundled_model_dir()} (model.json + "
                    "model.safetensors); pass --model with a checkpoint or run directory"
                ) from exc
            raise InputError(f"--model {path}: {exc}") from exc
        except (ValueError, KeyError, RuntimeError) as exc:
            where = path or bundled_model_dir()
            raise InputError(f"--model {where}: unusable checkpoint: {exc}") from exc
        return cls(checkpoint.model, checkpoint.classes, batch_size)

    def predict(self, crops: np.ndarray) -> np.ndarray:
        """``(N, C)`` float32 probabilities for ``(N, 48, 48)`` uint8 crops."""
        if len(crops) == 0:
            return np.zeros((0, len(self.classes)), np.float32)
        faces = torch.from_numpy(np.ascontiguousarray(crops, dtype=np.uint8))
        return predict_proba(self.model, faces, self.batch_size).numpy()
