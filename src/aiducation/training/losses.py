"""Training losses: cross-entropy against soft targets, restricted to the labelled rows."""

from __future__ import annotations

from contextlib import AbstractContextManager

import torch
import torch.nn.functional as F
from torch import nn


def soft_cross_entropy(
    logits: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean over the batch of ``−Σ t·log softmax(logits)``, optionally weighted per image."""
    losses = -(targets * F.log_softmax(logits.float(), dim=1)).sum(dim=1)
    return (losses * weights).mean() if weights is not None else losses.mean()


def batch_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    mask: torch.Tensor | None = None,
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """:func:`soft_cross_entropy` over the rows where ``mask`` is true (0 when there are none)."""
    if mask is None or bool(mask.all()):
        return soft_cross_entropy(logits, targets, weights)
    if not bool(mask.any()):
        return logits.sum() * 0.0  # keeps the graph, contributes nothing
    return soft_cross_entropy(
        logits[mask], targets[mask], weights[mask] if weights is not None else None
    )


def model_loss(
    model: nn.Module,
    x: torch.Tensor,
    targets: torch.Tensor,
    has_label: torch.Tensor,
    weights: torch.Tensor | None,
    vote_shares: torch.Tensor | None,
    aux_weight: float,
    autocast: AbstractContextManager,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The training loss of ``model`` on the batch ``x`` (its main head on the labelled rows,
    plus ``aux_weight`` × its vote-share head on all rows) and the main head's logits."""
    with autocast:
        logits, aux_logits = model.forward_with_aux(x) if aux_weight else (model(x), None)
    loss = batch_loss(logits, targets, has_label, weights)
    if aux_logits is not None:
        loss = loss + aux_weight * batch_loss(aux_logits, vote_shares)
    return loss, logits
