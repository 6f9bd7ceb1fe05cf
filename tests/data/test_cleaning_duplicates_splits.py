"""Cleaning order, pixel-identical duplicate groups, and the reusable split functions."""

from __future__ import annotations

import numpy as np
import pytest

from aiducation.data.cleaning import clean
from aiducation.data.duplicates import duplicate_groups, group_stats, groups_across_splits
from aiducation.data.labels import VOTE_COLUMNS
from aiducation.data.splits import (
    grouped_stratified_kfold,
    official_split,
    random_grouped_split,
)


def vote_rows(*rows: dict[str, int]) -> np.ndarray:
    out = np.zeros((len(rows), len(VOTE_COLUMNS)), dtype=np.int64)
    for i, row in enumerate(rows):
        for name, value in row.items():
            out[i, VOTE_COLUMNS.index(name)] = value
    return out


def test_cleaning_drops_nf_then_unknown_and_counts_by_value() -> None:
    votes = vote_rows(
        {"neutral": 10},
        {"NF": 10},
        {"neutral": 9, "NF": 1},
        {"NF": 1, "unknown": 9},  # both: counted once, under NF (NF is first)
        {"neutral": 5, "unknown": 5},
        {"neutral": 4, "unknown": 6},
        {"neutral": 6, "unknown": 4},  # unknown 4 is kept
    )
    result = clean(votes)
    assert result.keep.tolist() == [True, False, False, False, False, False, True]
    assert (result.rows_total, result.rows_after_nf, result.rows_after_unknown) == (7, 4, 2)
    assert result.removed_by_nf == {10: 1, 1: 2}
    assert result.removed_by_unknown == {6: 1, 5: 1}
    assert result.counts()["removed_by_nf"] == {"10": 1, "1": 2}


def test_duplicate_groups_follow_pixel_identity() -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(6, 48, 48), dtype=np.uint8)
    images[3] = images[0]
    images[5] = images[0]
    images[4] = images[1]
    images[2] = images[1]
    images[2, 47, 47] ^= 1  # one pixel off: not a duplicate
    groups = duplicate_groups(images)
    assert groups.tolist() == [0, 1, 2, 0, 1, 0]
    assert group_stats(groups) == {
        "images": 6,
        "distinct": 3,
        "groups_with_copies": 2,
        "images_in_those_groups": 5,
    }
    split = np.array(["train", "train", "test", "test", "train", "train"])
    assert groups_across_splits(groups, split) == 1


def test_official_split() -> None:
    usage = ["Training", "PublicTest", "PrivateTest", "Training"]
    assert official_split(usage).tolist() == ["train", "val", "test", "train"]
    with pytest.raises(ValueError, match="Usage"):
        official_split(["Train"])


def grouped_labels(n_groups: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Imbalanced labels; groups of 1–4 items, a few of them mixing two labels."""
    rng = np.random.default_rng(seed)
    sizes = rng.choice([1, 1, 1, 2, 3, 4], size=n_groups)
    groups = np.repeat(np.arange(n_groups), sizes)
    group_label = rng.choice(4, size=n_groups, p=[0.4, 0.3, 0.2, 0.1])
    labels = group_label[groups]
    mixed = rng.random(len(labels)) < 0.03
    labels[mixed] = (labels[mixed] + 1) % 4
    order = rng.permutation(len(labels))
    return labels[order], groups[order]


def test_random_split_is_grouped_stratified_and_seeded() -> None:
    labels, groups = grouped_labels()
    split = random_grouped_split(labels, groups, (0.7, 0.15, 0.15), seed=3)
    assert groups_across_splits(groups, split) == 0
    assert set(split) == {"train", "val", "test"}
    for share, name in zip((0.7, 0.15, 0.15), ("train", "val", "test"), strict=True):
        for c in range(4):
            expected = share * (labels == c).sum()
            assert abs(((split == name) & (labels == c)).sum() - expected) <= 4, (name, c)
    again = random_grouped_split(labels, groups, (0.7, 0.15, 0.15), seed=3)
    other = random_grouped_split(labels, groups, (0.7, 0.15, 0.15), seed=4)
    assert again.tolist() == split.tolist()
    assert other.tolist() != split.tolist()


@pytest.mark.parametrize("fractions", [(0.7, 0.3), (0.8, 0.3, 0.1), (1.0, 0.0, 0.0)])
def test_random_split_rejects_bad_fractions(fractions: tuple) -> None:
    labels, groups = grouped_labels(20)
    with pytest.raises(ValueError, match="fractions"):
        random_grouped_split(labels, groups, fractions)


def test_kfold_keeps_groups_whole_and_covers_everything() -> None:
    labels, groups = grouped_labels()
    folds = grouped_stratified_kfold(labels, groups, k=5, seed=0)
    assert len(folds) == 5
    tested = np.concatenate([test for _, test in folds])
    assert sorted(tested.tolist()) == list(range(len(labels)))  # each item tested once
    overall = np.bincount(labels, minlength=4) / len(labels)
    for train, test in folds:
        assert not set(groups[train]) & set(groups[test])  # no duplicate group crosses folds
        assert len(np.intersect1d(train, test)) == 0
        assert np.abs(np.bincount(labels[test], minlength=4) / len(test) - overall).max() < 0.05
    for c in range(4):  # every class split evenly over the folds
        per_fold = [(labels[test] == c).sum() for _, test in folds]
        assert max(per_fold) - min(per_fold) <= 4, (c, per_fold)
    same = grouped_stratified_kfold(labels, groups, k=5, seed=0)
    assert all((a[1] == b[1]).all() for a, b in zip(folds, same, strict=True))
    with pytest.raises(ValueError, match="k-fold"):
        grouped_stratified_kfold(labels[:3], groups[:3], k=5)
