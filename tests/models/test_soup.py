"""Weight averaging (model soup) and BatchNorm re-estimation."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from aiducation.models.registry import create_model
from aiducation.models.soup import average_weights, reestimate_batchnorm


def _model(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return create_model("faceresnet_t", num_classes=4).eval()


def test_the_soup_holds_the_mean_of_every_float_tensor():
    a, b = _model(0), _model(1)
    soup = average_weights([a, b])
    for name, tensor in soup.state_dict().items():
        sa, sb = a.state_dict()[name], b.state_dict()[name]
        if tensor.is_floating_point():
            torch.testing.assert_close(tensor, (sa + sb) / 2)
        else:
            assert torch.equal(tensor, sa)
    first = next(iter(a.state_dict()))
    assert not torch.equal(a.state_dict()[first], soup.state_dict()[first])  # a keeps its own


def test_a_soup_of_one_model_predicts_like_it():
    model = _model(0)
    x = torch.rand(3, 1, 48, 48)
    with torch.no_grad():
        torch.testing.assert_close(average_weights([model, model])(x), model(x))


def test_models_of_other_architectures_are_refused():
    with pytest.raises(ValueError, match="not one architecture"):
        average_weights([_model(0), create_model("faceresnet_s", num_classes=4)])
    with pytest.raises(ValueError, match="at least one"):
        average_weights([])


def test_batchnorm_statistics_become_the_average_over_the_faces():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3, bias=False), nn.BatchNorm2d(2))
    faces = torch.randint(0, 256, (10, 48, 48), dtype=torch.uint8)
    reestimate_batchnorm(model, faces, batch_size=5)
    with torch.no_grad():
        features = [model[0](faces[i : i + 5].unsqueeze(1).float() / 255) for i in (0, 5)]
    mean = torch.stack([f.mean(dim=(0, 2, 3)) for f in features]).mean(0)
    var = torch.stack([f.var(dim=(0, 2, 3), unbiased=True) for f in features]).mean(0)
    norm = model[1]
    torch.testing.assert_close(norm.running_mean, mean)
    torch.testing.assert_close(norm.running_var, var)
    assert norm.momentum == 0.1 and not model.training


def test_augmented_statistics_follow_the_seed():
    from aiducation.data.augment import AugmentConfig

    faces = torch.randint(0, 256, (8, 48, 48), dtype=torch.uint8)

    def running_mean(augment, seed=0):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(1, 2, 3, bias=False), nn.BatchNorm2d(2))
        reestimate_batchnorm(model, faces, augment=augment, seed=seed)
        return model[1].running_mean

    augmented = running_mean(AugmentConfig())
    torch.testing.assert_close(augmented, running_mean(AugmentConfig()))
    assert not torch.allclose(augmented, running_mean(None))
    assert not torch.allclose(augmented, running_mean(AugmentConfig(), seed=1))
