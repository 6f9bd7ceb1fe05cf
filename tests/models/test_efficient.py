"""The efficient default family: small, downsampling, normalising its own input."""

import pytest
import torch

from aiducation.models import DEFAULT_MODEL, count_parameters, create_model


@pytest.mark.parametrize(
    ("name", "max_params"),
    [("faceresnet_t", 400_000), ("faceresnet_s", 800_000), ("faceresnet_m", 3_000_000)],
)
def test_sizes_and_downsampling(name: str, max_params: int) -> None:
    model = create_model(name).eval()
    assert count_parameters(model) <= max_params
    features = model.features(model.normalize(torch.rand(2, 1, 48, 48)))
    assert features.shape[-2:] == (6, 6)  # three stride-2 stages: 48 → 6


def test_default_is_efficient_and_normalises_inside() -> None:
    model = create_model(DEFAULT_MODEL).eval()
    assert count_parameters(model) < 1_000_000
    x = torch.full((1, 1, 48, 48), model.normalize.mean)
    assert model.normalize(x).abs().max() < 1e-6
