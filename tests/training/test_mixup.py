"""Mixup: every row is the same convex blend of itself and one partner, targets alike."""

import torch

from aiducation.training.mixup import mix_batch


def batch(n: int = 8):
    generator = torch.Generator().manual_seed(1)
    images = torch.rand(n, 1, 4, 4, generator=generator)
    targets = torch.eye(4)[torch.arange(n) % 4]
    votes = torch.softmax(torch.randn(n, 8, generator=generator), dim=1)
    has_label = torch.tensor([True] * (n - 2) + [False] * 2)
    weights = torch.linspace(0.5, 1.5, n)
    return images, targets, votes, has_label, weights


def test_rows_are_one_blend_of_themselves_and_a_partner() -> None:
    images, targets, votes, has_label, weights = batch()
    mixed = mix_batch(
        images, targets, votes, has_label, weights, 0.4, torch.Generator().manual_seed(0)
    )
    lam, partner = mixed.lam, mixed.partner
    assert 0 < lam < 1 and sorted(partner.tolist()) == list(range(8))
    assert not torch.equal(partner, torch.arange(8))
    for got, original in ((mixed.images, images), (mixed.targets, targets),
                          (mixed.vote_shares, votes), (mixed.weights, weights)):  # fmt: skip
        torch.testing.assert_close(got, lam * original + (1 - lam) * original[partner])
    # a main-head target needs both partners labelled; the vote shares stay distributions
    assert mixed.has_label.tolist() == [bool(has_label[i] and has_label[j])
                                        for i, j in enumerate(partner.tolist())]  # fmt: skip
    torch.testing.assert_close(mixed.targets.sum(dim=1), torch.ones(8))
    torch.testing.assert_close(mixed.vote_shares.sum(dim=1), torch.ones(8))


def test_same_generator_seed_same_mix_and_alpha_shapes_lambda() -> None:
    images, targets, _, has_label, _ = batch()
    first, second = (
        mix_batch(images, targets, None, has_label, None, 0.4, torch.Generator().manual_seed(3))
        for _ in range(2)
    )
    assert torch.equal(first.images, second.images) and first.lam == second.lam
    assert first.vote_shares is None and first.weights is None

    def mean_distance_from_half(alpha: float) -> float:
        generators = (torch.Generator().manual_seed(seed) for seed in range(40))
        lams = [mix_batch(images, targets, None, has_label, None, alpha, g).lam for g in generators]
        return sum(abs(lam - 0.5) for lam in lams) / len(lams)

    # a small α puts λ near 0 or 1 (little mixing), a large one near ½
    assert mean_distance_from_half(0.05) > mean_distance_from_half(5.0) + 0.2
