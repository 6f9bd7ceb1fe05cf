"""Metrics agree with scikit-learn and handle absent classes."""

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix as sk_confusion
from sklearn.metrics import precision_recall_fscore_support

from aiducation.metrics import (
    classification_metrics,
    confusion_matrix,
    metrics_markdown,
    normalize_confusion,
)

CLASSES = ["Angry", "Bored", "Focused", "Neutral"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 4, 200)
    y_pred = np.where(rng.random(200) < 0.6, y_true, rng.integers(0, 4, 200))
    m = classification_metrics(y_true, y_pred, CLASSES)
    np.testing.assert_array_equal(m["confusion_matrix"], sk_confusion(y_true, y_pred))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, average=None, zero_division=0)
    for i, name in enumerate(CLASSES):
        assert m["per_class"][name]["precision"] == pytest.approx(p[i])
        assert m["per_class"][name]["recall"] == pytest.approx(r[i])
        assert m["per_class"][name]["f1"] == pytest.approx(f[i])
        assert m["per_class"][name]["support"] == s[i]
    macro = precision_recall_fscore_support(y_true, y_pred, average="macro", zero_division=0)
    micro = precision_recall_fscore_support(y_true, y_pred, average="micro", zero_division=0)
    assert (m["macro_precision"], m["macro_recall"], m["macro_f1"]) == pytest.approx(macro[:3])
    assert (m["micro_precision"], m["micro_recall"], m["micro_f1"]) == pytest.approx(micro[:3])
    assert m["accuracy"] == pytest.approx(np.mean(y_true == y_pred))
    assert m["n"] == 200


def test_absent_class_scores_zero_and_normalised_rows() -> None:
    y_true = np.array([0, 0, 1, 1, 2])
    y_pred = np.array([0, 1, 1, 1, 2])
    m = classification_metrics(y_true, y_pred, CLASSES)
    assert m["per_class"]["Neutral"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert m["per_class"]["Bored"]["precision"] == pytest.approx(2 / 3)
    norm = normalize_confusion(confusion_matrix(y_true, y_pred, 4))
    np.testing.assert_allclose(norm.sum(axis=1), [1, 1, 1, 0])
    assert "| Bored | 0.6667 | 1.0000 | 0.8000 | 2 |" in metrics_markdown(m)


def test_shape_mismatch_raises() -> None:
    with pytest.raises(ValueError, match="shape"):
        confusion_matrix(np.zeros(3, int), np.zeros(4, int), 4)


@pytest.mark.parametrize("seed", range(5))
def test_table_2_2_and_table_3_3_give_one_macro_on_the_same_predictions(seed: int) -> None:
    """One meaning of "macro" (classes present in y_true or y_pred, scikit-learn's default)."""
    from sklearn.metrics import f1_score

    from aiducation.metrics import cm_metrics

    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 2, 7)  # small group: classes 2 and 3 absent
    y_pred = np.where(rng.random(7) < 0.7, y_true, rng.integers(0, 3, 7))
    table_2_2 = classification_metrics(y_true, y_pred, CLASSES)
    table_3_3 = {name: float(f(confusion_matrix(y_true, y_pred, 4))) for name, f in
                 cm_metrics(CLASSES).items()}  # fmt: skip
    assert table_2_2["macro_f1"] == table_3_3["f1_macro"]
    assert table_2_2["macro_precision"] == table_3_3["precision_macro"]
    assert table_2_2["macro_recall"] == table_3_3["recall_macro"]
    expected = f1_score(y_true, y_pred, average="macro", zero_division=0)
    assert table_2_2["macro_f1"] == pytest.approx(expected)
    perfect = classification_metrics(np.array([0, 0, 1]), np.array([0, 0, 1]), CLASSES)
    assert perfect["macro_f1"] == 1.0
