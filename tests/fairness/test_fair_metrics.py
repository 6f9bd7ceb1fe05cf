"""The confusion-matrix metrics agree with scikit-learn, singly and batched."""

from __future__ import annotations

import numpy as np
import pytest
from fairworld import CLASSES
from sklearn import metrics as skm

from aiducation.metrics import cm_metrics, confusion_matrix, grouped_confusion


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 4, 300)
    y_pred = np.where(rng.random(300) < 0.6, y_true, rng.integers(0, 3, 300))  # never class 3
    cm = confusion_matrix(y_true, y_pred, 4)
    m = cm_metrics(CLASSES)
    assert m["accuracy"](cm) == pytest.approx(skm.accuracy_score(y_true, y_pred))
    for avg in ("macro", "micro"):
        for name, fn in (
            ("precision", skm.precision_score),
            ("recall", skm.recall_score),
            ("f1", skm.f1_score),
        ):
            expected = fn(y_true, y_pred, average=avg, zero_division=0)
            assert m[f"{name}_{avg}"](cm) == pytest.approx(expected), (name, avg)
    recalls = skm.recall_score(y_true, y_pred, average=None, zero_division=0)
    for k, c in enumerate(CLASSES):
        assert m[f"recall_{c}"](cm) == pytest.approx(recalls[k])
        assert m[f"rate_{c}"](cm) == pytest.approx(np.mean(y_pred == k))


def test_macro_uses_present_classes_and_nan_recall_for_absent_class():
    y_true, y_pred = np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1])
    cm = confusion_matrix(y_true, y_pred, 4)
    m = cm_metrics(CLASSES)
    assert m["recall_macro"](cm) == pytest.approx(skm.recall_score(y_true, y_pred, average="macro"))
    assert np.isnan(m["recall_Focused"](cm))


def test_grouped_confusion_batches_groups_and_rows():
    y_true, y_pred = np.array([0, 1, 2, 3, 0]), np.array([0, 1, 0, 3, 1])
    codes = y_true * 4 + y_pred
    groups = np.array([[0, 0, 1, 1, 1], [1, 1, 1, 0, 0]])
    cms = grouped_confusion(codes, groups, 2, 4)
    assert cms.shape == (2, 2, 4, 4)
    for b in range(2):
        for g in range(2):
            keep = groups[b] == g
            expected = confusion_matrix(y_true[keep], y_pred[keep], 4)
            np.testing.assert_array_equal(cms[b, g], expected)
