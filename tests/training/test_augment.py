"""Batched augmentation: deterministic per generator, identity when off, real flips/erasing."""

import torch

from aiducation.data.augment import AugmentConfig, augment_batch

OFF = dict(flip=False, max_shift=0.0, max_rotate=0.0, max_scale=0.0, erase_prob=0.0)


def batch(n: int = 8) -> torch.Tensor:
    return torch.rand(n, 1, 48, 48, generator=torch.Generator().manual_seed(0))


def test_same_generator_seed_same_output_and_range() -> None:
    config = AugmentConfig(erase_prob=0.5)
    a = augment_batch(batch(), config, torch.Generator().manual_seed(3))
    b = augment_batch(batch(), config, torch.Generator().manual_seed(3))
    c = augment_batch(batch(), config, torch.Generator().manual_seed(4))
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.equal(a, c)
    assert a.shape == (8, 1, 48, 48) and a.min() >= 0 and a.max() <= 1


def test_disabled_is_identity() -> None:
    config = AugmentConfig(**OFF)
    assert not config.enabled
    x = batch()
    torch.testing.assert_close(augment_batch(x, config, torch.Generator()), x)


def test_flip_only_mirrors_some_images_exactly() -> None:
    x = batch(32)
    out = augment_batch(x, AugmentConfig(**{**OFF, "flip": True}), torch.Generator().manual_seed(0))
    mirrored = [torch.allclose(o, i.flip(-1), atol=1e-5) for o, i in zip(out, x, strict=True)]
    kept = [torch.allclose(o, i, atol=1e-5) for o, i in zip(out, x, strict=True)]
    assert all(m != k for m, k in zip(mirrored, kept, strict=True))
    assert 4 < sum(mirrored) < 28


def test_shift_moves_content() -> None:
    x = torch.zeros(1, 1, 48, 48)
    x[..., 20:28, 20:28] = 1
    config = AugmentConfig(**{**OFF, "max_shift": 0.15})
    out = augment_batch(x.repeat(16, 1, 1, 1), config, torch.Generator().manual_seed(1))
    rows = torch.arange(48.0)
    centres = (out[:, 0].sum(dim=2) * rows).sum(dim=1) / out[:, 0].sum(dim=(1, 2))
    assert centres.std() > 1.0  # shifted by different amounts
    assert (centres - 23.5).abs().max() <= 0.15 * 48 + 0.5  # max_shift is a fraction of the side


def test_erasing_changes_at_most_max_area() -> None:
    x = torch.zeros(64, 1, 48, 48)
    config = AugmentConfig(**{**OFF, "erase_prob": 1.0, "erase_max_area": 0.2})
    out = augment_batch(x, config, torch.Generator().manual_seed(0))
    changed = (out != 0).float().mean(dim=(1, 2, 3))
    assert (changed > 0).float().mean() > 0.9
    assert changed.max() <= 0.2 * 2  # aspect rounding can exceed the area a little
