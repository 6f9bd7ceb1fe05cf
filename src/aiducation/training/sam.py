"""Sharpness-aware minimisation (Foret et al. 2021): each step takes the gradient at the weights
moved ``rho`` along their own normalised gradient, i.e. at the worst nearby point, so the
optimiser prefers flat minima (reported to help most under label noise). Costs a second
forward and backward pass per step."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import nn


@contextmanager
def frozen_batchnorm_statistics(model: nn.Module) -> Iterator[None]:
    """BatchNorm layers normalise by the batch as in training but leave their running
    statistics alone (momentum 0), so the perturbed pass does not count the batch twice."""
    layers = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in layers]
    for layer in layers:
        layer.momentum = 0.0
    try:
        yield
    finally:
        for layer, momentum in zip(layers, momenta, strict=True):
            layer.momentum = momentum


def sam_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    compute_loss: Callable[[], tuple[torch.Tensor, torch.Tensor]],
    rho: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One SAM update: gradient of ``compute_loss`` (which returns the loss and the logits of
    the batch) at ``w + rho·g/‖g‖``, applied by ``optimizer`` to ``w``. Returns the loss and
    logits at ``w``."""
    loss, logits = compute_loss()
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    params = [p for p in model.parameters() if p.grad is not None]
    with torch.no_grad():
        norm = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in params]))
        scale = rho / (norm + 1e-12)
        moves = [p.grad * scale for p in params]
        for p, move in zip(params, moves, strict=True):
            p.add_(move)
    optimizer.zero_grad(set_to_none=True)
    with frozen_batchnorm_statistics(model):
        perturbed_loss, _ = compute_loss()
        perturbed_loss.backward()
    with torch.no_grad():
        for p, move in zip(params, moves, strict=True):
            p.sub_(move)
    optimizer.step()
    return loss, logits
