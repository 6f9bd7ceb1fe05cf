"""Mixup (Zhang et al. 2018): a batch blended with a shuffled copy of itself, targets alike."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class MixedBatch:
    """Images, targets and masks of a batch after :func:`mix_batch`."""

    images: torch.Tensor
    targets: torch.Tensor  # main-head targets
    vote_shares: torch.Tensor | None  # auxiliary-head targets (None without that head)
    has_label: torch.Tensor  # rows whose main-head target is defined (both partners labelled)
    weights: torch.Tensor | None  # per-row loss weights, blended like the targets
    lam: float  # weight of each row's own values
    partner: torch.Tensor  # row index of each row's partner (a permutation)


def mix_batch(
    images: torch.Tensor,
    targets: torch.Tensor,
    vote_shares: torch.Tensor | None,
    has_label: torch.Tensor,
    weights: torch.Tensor | None,
    alpha: float,
    generator: torch.Generator,
) -> MixedBatch:
    """Blend every row with a random partner of the batch: ``λ·a + (1 − λ)·b``, one
    ``λ ~ Beta(α, α)`` per batch, drawn (like the pairing) from ``generator``.

    A row keeps a main-head target only where both partners have one; the auxiliary targets
    (vote shares) exist for every row and are always blended.
    """
    partner = torch.randperm(len(images), generator=generator, device=generator.device)
    partner = partner.to(images.device)
    seed = int(torch.randint(2**31 - 1, (1,), generator=generator, device=generator.device))
    lam = float(np.random.default_rng(seed).beta(alpha, alpha))

    def blend(values: torch.Tensor) -> torch.Tensor:
        return lam * values + (1 - lam) * values[partner]

    return MixedBatch(
        images=blend(images),
        targets=blend(targets),
        vote_shares=blend(vote_shares) if vote_shares is not None else None,
        has_label=has_label & has_label[partner],
        weights=blend(weights) if weights is not None else None,
        lam=lam,
        partner=partner,
    )
