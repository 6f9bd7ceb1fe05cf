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


def test_auxiliary_head_is_optional_and_separate() -> None:
    x = torch.rand(3, 1, 48, 48)
    plain = create_model("faceresnet_t").eval()
    assert not any(k.startswith("aux_head") for k in plain.state_dict())
    with pytest.raises(ValueError, match="without an auxiliary head"):
        plain.forward_with_aux(x)
    model = create_model("faceresnet_t", aux_classes=8).eval()
    logits, aux = model.forward_with_aux(x)
    assert logits.shape == (3, 4) and aux.shape == (3, 8)
    torch.testing.assert_close(model(x), logits)  # inference ignores the auxiliary head


def test_stem_stride_halves_every_stage() -> None:
    model = create_model("faceresnet_s", stem_stride=2).eval()
    x = torch.rand(2, 1, 48, 48)
    assert model.features(model.normalize(x)).shape[-2:] == (3, 3)
    assert model(x).shape == (2, 4)
    assert count_parameters(model) == count_parameters(create_model("faceresnet_s"))
