"""Weight averaging of models of one architecture ("model soup", Wortsman et al. 2022): the
uniform average of fine-tunes that share a pre-trained start. Its BatchNorm statistics are
the average of theirs, or re-estimated on training faces, plain or augmented (an average of
statistics is not the statistics of the average model). On v7's fine-tunes the average
scored best and re-estimating cost 0.01–0.02 (``benchmarks/bench_soup.py``)."""

from __future__ import annotations

import copy

import torch
from torch import nn

from aiducation.data.augment import AugmentConfig, augment_batch
from aiducation.models.predict import model_device, to_batch


def average_weights(models: list[nn.Module]) -> nn.Module:
    """A copy of ``models[0]`` holding the mean of every floating-point tensor of their state
    dicts (integer buffers, such as BatchNorm's batch counter, are the first model's)."""
    if not models:
        raise ValueError("average_weights needs at least one model")
    states = [m.state_dict() for m in models]
    names = list(states[0])
    for i, state in enumerate(states[1:], start=1):
        if list(state) != names or any(state[k].shape != states[0][k].shape for k in names):
            raise ValueError(f"model {i} has other tensors than model 0: not one architecture")
    average = {
        k: torch.stack([s[k].float() for s in states]).mean(0).to(states[0][k].dtype)
        if states[0][k].is_floating_point()
        else states[0][k]
        for k in names
    }
    soup = copy.deepcopy(models[0])
    soup.load_state_dict(average)
    return soup.eval()


@torch.no_grad()
def reestimate_batchnorm(
    model: nn.Module,
    faces,
    batch_size: int = 256,
    augment: AugmentConfig | None = None,
    seed: int = 0,
) -> nn.Module:
    """Replace the running mean/variance of every BatchNorm layer of ``model`` by their
    average over batches of the uint8 ``faces`` ``(N, 48, 48)`` (array or tensor), each
    augmented by ``augment`` (random draws seeded by ``seed``) unless it is ``None``; weights
    untouched. Returns ``model`` in eval mode."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return model.eval()
    faces = torch.as_tensor(faces)
    momenta = [m.momentum for m in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average over the batches
    model.train()
    device = model_device(model)
    generator = torch.Generator().manual_seed(seed)
    try:
        for start in range(0, len(faces), batch_size):
            batch = to_batch(faces[start : start + batch_size])
            if augment is not None:
                batch = augment_batch(batch, augment, generator)
            model(batch.to(device))
    finally:
        for norm, momentum in zip(norms, momenta, strict=True):
            norm.momentum = momentum
        model.eval()
    return model
