"""Resampling statistics for grouped metrics: seeded bootstrap intervals and permutation tests.

Both work on confusion matrices (see :mod:`aiducation.metrics`), so thousands of
resamples cost a few ``np.bincount`` calls instead of thousands of metric calls.
"""

from __future__ import annotations

import numpy as np

from aiducation.metrics import CMMetric, grouped_confusion


def bootstrap_confusions(
    codes: np.ndarray, group_ids: np.ndarray, n_groups: int, n_classes: int, n_boot: int, seed: int
) -> np.ndarray:
    """Bootstrap confusion matrices, resampling within each group (stratified bootstrap).

    ``codes`` is ``(M, n)``: M predictions of the same n samples (e.g. before and after a
    mitigation), all resampled with the same draws so differences are paired.
    Returns ``(M, n_boot, n_groups, K, K)``.
    """
    codes = np.atleast_2d(np.asarray(codes, dtype=np.int64))
    rng = np.random.default_rng(seed)
    kk = n_classes * n_classes
    out = np.zeros((len(codes), n_boot, n_groups, n_classes, n_classes), dtype=np.int64)
    offsets = np.arange(n_boot)[:, None] * kk
    for g in range(n_groups):
        members = np.flatnonzero(group_ids == g)
        if len(members) == 0:
            continue
        draws = members[rng.integers(0, len(members), size=(n_boot, len(members)))]
        for m, row in enumerate(codes):
            flat = (offsets + row[draws]).ravel()
            counts = np.bincount(flat, minlength=n_boot * kk)
            out[m, :, g] = counts.reshape(n_boot, n_classes, n_classes)
    return out


def percentile_interval(samples: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval over axis 0, ignoring NaN resamples."""
    tail = (1 - confidence) / 2 * 100
    with np.errstate(all="ignore"):
        low, high = np.nanpercentile(samples, [tail, 100 - tail], axis=0)
    return low, high


def group_gap(values: np.ndarray) -> np.ndarray:
    """Largest minus smallest value over the last axis (the groups)."""
    return np.nanmax(values, axis=-1) - np.nanmin(values, axis=-1)


def group_ratio(values: np.ndarray) -> np.ndarray:
    """Smallest over largest value over the last axis; 1 means equal groups."""
    low, high = np.nanmin(values, axis=-1), np.nanmax(values, axis=-1)
    return np.divide(low, high, out=np.ones_like(low, dtype=float), where=high > 0)


def permutation_gap_test(
    codes: np.ndarray,
    group_ids: np.ndarray,
    n_groups: int,
    n_classes: int,
    metric: CMMetric,
    n_permutations: int,
    seed: int,
) -> tuple[float, float]:
    """Observed group gap of ``metric`` and its permutation p-value.

    Under the null hypothesis group membership is exchangeable with respect to (y_true, y_pred);
    group labels are shuffled ``n_permutations`` times and the p-value is
    ``(1 + #{permuted gap >= observed}) / (1 + n_permutations)``.
    """
    group_ids = np.asarray(group_ids, dtype=np.int64)
    observed = float(group_gap(metric(grouped_confusion(codes, group_ids, n_groups, n_classes)))[0])
    rng = np.random.default_rng(seed)
    exceed, done, chunk = 0, 0, 500
    while done < n_permutations:
        size = min(chunk, n_permutations - done)
        shuffled = rng.permuted(np.broadcast_to(group_ids, (size, len(group_ids))), axis=1)
        gaps = group_gap(metric(grouped_confusion(codes, shuffled, n_groups, n_classes)))
        exceed += int(np.sum(gaps >= observed - 1e-12))
        done += size
    return observed, (1 + exceed) / (1 + n_permutations)


def holm_adjust(p_values: np.ndarray) -> np.ndarray:
    """Holm–Bonferroni adjusted p-values (family-wise error control over several tests)."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p)
    scaled = np.maximum.accumulate((len(p) - np.arange(len(p))) * p[order])
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(scaled, 1.0)
    return adjusted
