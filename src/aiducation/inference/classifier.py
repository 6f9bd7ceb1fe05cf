"""Batched learning-state classification of 48×48 face crops with a saved checkpoint."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from aiducation.devices import resolve_device
from aiducation.errors import InputError
from aiducation.models.answers import AnswerScheme
from aiducation.models.checkpoint import bundled_model_dir, load_checkpoint
from aiducation.models.predict import classify_batches, with_expression


def fuse_for_inference(model: nn.Module, channels_last: bool = True) -> nn.Module:
    """Eval-mode copy with Conv+BatchNorm folded (and channels-last weights, the faster layout
    on CPU); ``model`` itself when it cannot be traced by torch.fx."""
    with warnings.catch_warnings():  # the module imports deprecated torch.jit helpers
        warnings.simplefilter("ignore", DeprecationWarning)
        from torch.fx.experimental.optimization import fuse

    try:
        fused = fuse(model.eval())
    except Exception:  # untraceable architectures keep their eager form
        return model
    return (fused.to(memory_format=torch.channels_last) if channels_last else fused).eval()


@dataclass
class FaceClassifier:
    """A model and its class names (outputs); ``predict_proba`` maps uint8 crops to probabilities
    (scikit-learn's name).

    ``other_threshold`` is the in-scheme probability below which a face is "Other" (models
    with that output); ``None`` gives the four-way answer.
    """

    model: nn.Module
    classes: list[str]
    batch_size: int = 128
    other_threshold: float | None = None  # in-scheme probability below which a face is Other

    @classmethod
    def load(
        cls,
        path: str | Path | None = None,
        batch_size: int = 128,
        fuse: bool = True,
        scheme: str = "other",
        device: str | torch.device = "auto",
    ) -> FaceClassifier:
        """Load a checkpoint dir / run dir (``None``: the bundled model) for inference.

        ``scheme`` "other" answers "Other" for faces outside the learning states (models that
        learnt it), "seed4" always one of the four states, as the original report.

        ``fuse`` folds BatchNorm into the convolutions and stores weights channels-last
        (same outputs to ~1e-5, about 1.5-2× more crops/s on CPU); on a GPU the weights stay
        in the default layout.

        ``device``: where the model runs (``auto``: CUDA, then MPS, then CPU); crops go there
        in batches and the probabilities come back to the CPU.
        """
        try:
            device = resolve_device(device)
        except ValueError as exc:
            raise InputError(f"--device: {exc}") from None
        try:
            checkpoint = load_checkpoint(path, device=device)
        except FileNotFoundError as exc:
            if path is None:
                raise InputError(
                    f"the bundled model is missing from {bundled_model_dir()} (model.json + "
                    "model.safetensors); give a checkpoint or run directory instead"
                ) from exc
            raise InputError(f"checkpoint {path}: {exc}") from exc
        except (ValueError, KeyError, RuntimeError) as exc:
            where = path or bundled_model_dir()
            raise InputError(f"checkpoint {where}: unusable: {exc}") from exc
        model = with_expression(checkpoint.model)
        model = fuse_for_inference(model, channels_last=device.type == "cpu") if fuse else model
        try:
            answer = AnswerScheme.for_checkpoint(checkpoint.config, checkpoint.classes, scheme)
        except ValueError as exc:
            raise InputError(str(exc)) from None
        return cls(model, checkpoint.classes, batch_size, answer.threshold)

    @property
    def answer(self) -> AnswerScheme:
        """How this classifier's probabilities become answers."""
        return AnswerScheme(list(self.classes), self.other_threshold)

    @property
    def states(self) -> list[str]:
        """The answers a face can get (the learning states, plus "Other" where it applies)."""
        return self.answer.states

    def predict_proba(self, crops: np.ndarray) -> np.ndarray:
        """``(N, C)`` float32 probabilities for ``(N, 48, 48)`` uint8 crops."""
        return self.predict_with_expression(crops)[0]

    def predict_with_expression(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Class probabilities ``(N, C)`` and FER+ expression probabilities ``(N, 8)`` (``None``
        for a model without the auxiliary head) for ``(N, 48, 48)`` uint8 crops."""
        faces = torch.from_numpy(np.ascontiguousarray(crops, dtype=np.uint8))
        probs, expressions = classify_batches(
            self.model, faces, len(self.classes), batch_size=self.batch_size
        )
        return probs.numpy(), None if expressions is None else expressions.numpy()
