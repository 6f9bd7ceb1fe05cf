"""Batched prediction of class and FER+ expression probabilities for uint8 face crops: the one
prediction path of training (validation), evaluation, bias analysis and inference."""

from __future__ import annotations

import itertools

import torch
from torch import nn

from aiducation.defaults import EVAL_BATCH_SIZE


def to_batch(faces: torch.Tensor, channels_last: bool = False) -> torch.Tensor:
    """uint8 ``(B, 48, 48)`` → float ``(B, 1, 48, 48)`` in ``[0, 1]``."""
    batch = faces.unsqueeze(1).float().div_(255)
    return batch.contiguous(memory_format=torch.channels_last) if channels_last else batch


class WithExpression(nn.Module):
    """Class logits and the auxiliary head's FER+ emotion logits side by side, in one pass
    (a plain ``forward``, so torch.fx can fuse it like the model itself)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat(self.model.forward_with_aux(x), dim=1)


def model_device(model: nn.Module) -> torch.device:
    """Where ``model``'s weights are (the CPU for a model without any)."""
    tensor = next(itertools.chain(model.parameters(), model.buffers()), None)
    return torch.device("cpu") if tensor is None else tensor.device


def with_expression(model: nn.Module) -> nn.Module:
    """``model`` wrapped by :class:`WithExpression` when it has an auxiliary head."""
    return WithExpression(model) if getattr(model, "aux_head", None) is not None else model


@torch.inference_mode()
def classify_batches(
    model: nn.Module,
    faces: torch.Tensor,
    n_classes: int,
    *,
    batch_size: int = EVAL_BATCH_SIZE,
    tta_flip: bool = False,
    channels_last: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Class probabilities ``(N, n_classes)`` and, when ``model`` outputs more columns (see
    :class:`WithExpression`), the expression probabilities of the rest, for uint8 faces
    ``(N, 48, 48)``; ``tta_flip`` averages each with the mirrored face. Never augmented; fp32.
    The faces (on any device) go to the model's device batch by batch; the results are on the
    CPU."""
    model.eval()
    device = model_device(model)
    classes, expressions = [], []
    for start in range(0, len(faces), batch_size):
        x = to_batch(faces[start : start + batch_size].to(device), channels_last)
        logits = model(x).float()
        probs, extra = logits[:, :n_classes].softmax(dim=1), logits[:, n_classes:].softmax(dim=1)
        if tta_flip:
            mirrored = model(x.flip(3)).float()
            probs = (probs + mirrored[:, :n_classes].softmax(dim=1)) / 2
            extra = (extra + mirrored[:, n_classes:].softmax(dim=1)) / 2
        classes.append(probs)
        expressions.append(extra)
    if not classes:
        return torch.zeros(0, n_classes), None
    extra = torch.cat(expressions).cpu()
    return torch.cat(classes).cpu(), extra if extra.shape[1] else None
