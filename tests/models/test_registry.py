"""Registry-parametrised model tests (timm style)."""

import pytest
import torch

from aiducation.models import (
    create_model,
    describe_families,
    is_model,
    list_families,
    list_family_examples,
    list_models,
)
from aiducation.models.checkpoint import load_checkpoint, save_checkpoint
from aiducation.models.seed_family import parse_seed_name, seed_grid_names

ALL_NAMES = list_models() + list_family_examples()


@pytest.mark.parametrize("name", ALL_NAMES)
def test_forward_shape_and_checkpoint_roundtrip(name: str, tmp_path) -> None:
    torch.manual_seed(0)
    model = create_model(name).eval()
    x = torch.rand(3, 1, 48, 48)
    logits = model(x)
    assert logits.shape == (3, 4)
    save_checkpoint(tmp_path / "ckpt", model, arch=name, arch_kwargs={}, classes=list("abcd"))
    loaded = load_checkpoint(tmp_path / "ckpt")
    assert loaded.classes == list("abcd")
    torch.testing.assert_close(loaded.model(x), logits)


def test_seed_family_uses_kernel_and_seed_width() -> None:
    assert parse_seed_name("B32_N4_FC1_K7_AP20") == dict(
        channels=32, blocks=4, fc=1, kernel=7, pool=20
    )
    assert parse_seed_name("B32_N4_FC1_K7") is None
    model = create_model("B16_N4_FC1_K7_AP20")
    assert model.features[1].conv1.kernel_size == (7, 7)
    big = create_model("B16_N8_FC2_K5_AP20", hidden="seed")
    assert big.head[1].out_features == 16 * 20 * 20
    assert len(seed_grid_names()) == 12 and all(is_model(n) for n in seed_grid_names())


def test_unknown_model_lists_known_names() -> None:
    with pytest.raises(ValueError, match="faceresnet_s"):
        create_model("resnet9000")


def test_list_families_names_every_family_with_its_pattern() -> None:
    families = {f.pattern: f for f in list_families()}
    assert set(families) == {"faceresnet_{m,s,t}", "B{c}_N{n}_FC{fc}_K{k}_AP{p}"}
    assert families["faceresnet_{m,s,t}"].names == ("faceresnet_m", "faceresnet_s", "faceresnet_t")
    seed = families["B{c}_N{n}_FC{fc}_K{k}_AP{p}"]
    assert seed.names == () and is_model(seed.example) and seed.description
    # every fixed name is in exactly one family; list_models() stays the fixed names
    assert sorted(n for f in list_families() for n in f.names) == list_models()
    assert "B{c}_N{n}_FC{fc}_K{k}_AP{p}" in describe_families()


def test_unknown_model_names_the_pattern_family() -> None:
    with pytest.raises(ValueError, match=r"B\{c\}_N\{n\}_FC\{fc\}_K\{k\}_AP\{p\}"):
        create_model("B16_N8")
