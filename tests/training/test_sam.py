"""Sharpness-aware minimisation: the step uses the gradient at the perturbed weights, applied
to the unperturbed ones, and the perturbed pass leaves BatchNorm's running statistics alone."""

import torch
from torch import nn

from aiducation.training.sam import frozen_batchnorm_statistics, sam_step


def test_the_step_applies_the_gradient_taken_at_the_worst_nearby_weights() -> None:
    torch.manual_seed(0)
    model = nn.Linear(3, 1, bias=False)
    x, y = torch.randn(16, 3), torch.randn(16, 1)
    w = model.weight.detach().clone()

    def loss_at(weight: torch.Tensor) -> torch.Tensor:
        return ((x @ weight.T - y) ** 2).mean()

    def compute_loss():
        out = model(x)
        return ((out - y) ** 2).mean(), out

    rho, lr = 0.1, 0.05
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    loss, _ = sam_step(model, optimizer, compute_loss, rho)

    grad = torch.func.grad(loss_at)(w)
    perturbed = w + rho * grad / grad.norm()
    expected = w - lr * torch.func.grad(loss_at)(perturbed)
    torch.testing.assert_close(model.weight.detach(), expected)
    torch.testing.assert_close(loss.detach(), loss_at(w))  # the loss reported is at w
    # and it differs from a plain step, so the perturbation mattered
    assert not torch.allclose(expected, w - lr * grad)


def test_the_perturbed_pass_does_not_update_batchnorm_statistics() -> None:
    model = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4)).train()
    before = model[1].running_mean.clone()
    with frozen_batchnorm_statistics(model):
        model(torch.randn(8, 4) + 3)
        torch.testing.assert_close(model[1].running_mean, before)
    assert model[1].momentum == 0.1  # restored
    model(torch.randn(8, 4) + 3)
    assert not torch.allclose(model[1].running_mean, before)
