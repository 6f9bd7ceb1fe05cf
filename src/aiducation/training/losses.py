"""Training losses: cross-entropy against soft targets, restricted to the labelled rows."""

from __future__ import annotations

import torch
import torch.nn.functional as F


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
