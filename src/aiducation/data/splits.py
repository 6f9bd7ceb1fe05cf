"""Train/val/test splits and k-fold partitions, as pure functions of labels and duplicate groups.

All randomised splits are seeded, stratified by label and keep each duplicate group (identical
images) on one side, so no face is both trained on and tested on.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from aiducation.data.dataset import SPLITS

OFFICIAL_SPLIT = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}


def official_split(usage: Sequence[str]) -> np.ndarray:
    """FER2013's own split: Training / PublicTest / PrivateTest → train / val / test."""
    usage = np.asarray(usage, dtype=object)
    unknown = sorted(set(usage) - set(OFFICIAL_SPLIT))
    if unknown:
        raise ValueError(f"unknown Usage value(s) {unknown}; expected {', '.join(OFFICIAL_SPLIT)}")
    return np.array([OFFICIAL_SPLIT[u] for u in usage], dtype=object)


def check_fractions(fractions: Sequence[float], n_parts: int = len(SPLITS)) -> tuple[float, ...]:
    """Validate split fractions: ``n_parts`` positive numbers summing to 1."""
    fractions = tuple(float(f) for f in fractions)
    if len(fractions) != n_parts or min(fractions) <= 0 or abs(sum(fractions) - 1) > 1e-6:
        raise ValueError(
            f"expected {n_parts} positive fractions summing to 1 (train val test), got {fractions}"
        )
    return fractions


def random_grouped_split(
    labels: np.ndarray,
    groups: np.ndarray,
    fractions: Sequence[float] = (0.7, 0.15, 0.15),
    seed: int = 0,
    names: Sequence[str] = SPLITS,
) -> np.ndarray:
    """Seeded, stratified split that never separates a duplicate group.

    Groups are visited in a seeded random order (largest first) and each goes to the split
    whose share of the group's classes is furthest below its target, so every class ends up
    close to ``fractions`` in every split. Returns the split name of each item.
    """
    fractions = check_fractions(fractions, len(names))
    labels, groups = np.asarray(labels), np.asarray(groups)
    if labels.shape != groups.shape or labels.ndim != 1:
        raise ValueError("labels and groups must be 1-D arrays of the same length")
    _, label_codes = np.unique(labels, return_inverse=True)
    _, group_codes = np.unique(groups, return_inverse=True)
    n_groups, n_classes = group_codes.max(initial=-1) + 1, label_codes.max(initial=-1) + 1
    composition = np.zeros((n_groups, n_classes), dtype=np.int64)
    np.add.at(composition, (group_codes, label_codes), 1)

    rng = np.random.default_rng(seed)
    order = rng.permutation(n_groups)
    order = order[np.argsort(-composition[order].sum(axis=1), kind="stable")]
    totals = composition.sum(axis=0)
    targets = [[f * t for t in totals.tolist()] for f in fractions]
    filled = [[0] * n_classes for _ in fractions]
    group_split = np.empty(n_groups, dtype=np.int64)
    for g in order.tolist():
        members = [(c, n) for c, n in enumerate(composition[g].tolist()) if n]
        deficits = [
            sum(n * (target[c] - done[c]) / target[c] for c, n in members)
            for target, done in zip(targets, filled, strict=True)
        ]
        s = int(np.argmax(deficits))
        group_split[g] = s
        for c, n in members:
            filled[s][c] += n
    return np.asarray(names, dtype=object)[group_split[group_codes]]


def grouped_stratified_kfold(
    labels: np.ndarray, groups: np.ndarray, k: int, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` folds ``(train_idx, test_idx)``, stratified by label, duplicate groups kept whole.

    Uses the greedy assignment of :func:`random_grouped_split` with ``k`` equal parts: on the
    16,256 labelled FER+ images it takes ~0.4 s where sklearn's ``StratifiedGroupKFold`` takes
    ~20 s, with per-class fold sizes within a few images of equal.
    """
    n_groups = len(np.unique(groups))
    if k < 2 or n_groups < k:
        raise ValueError(f"k-fold needs 2 ≤ k ≤ number of groups ({n_groups}), got k={k}")
    fold = random_grouped_split(labels, groups, [1 / k] * k, seed, names=range(k)).astype(int)
    return [(np.flatnonzero(fold != i), np.flatnonzero(fold == i)) for i in range(k)]
