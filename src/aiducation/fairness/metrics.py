"""Classification metrics computed from confusion matrices, batched over leading axes.

Every metric maps confusion matrices ``(..., K, K)`` (rows = true class, columns = predicted)
to values ``(...)``, so one function serves a single group, a stack of bootstrap resamples or
a stack of permutations. Macro averages use the classes present in ``y_true`` or ``y_pred``
(scikit-learn's default); a precision/recall/F1 with a zero denominator counts as 0.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

CMMetric = Callable[[np.ndarray], np.ndarray]

TABLE_METRICS = (
    "accuracy",
    "precision_macro",
    "precision_micro",
    "recall_macro",
    "recall_micro",
    "f1_macro",
    "f1_micro",
)
"""The columns of the report's Tables 3.3/3.4, in order."""


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """``(K, K)`` counts of (true, predicted) pairs for integer labels in ``[0, K)``."""
    codes = np.asarray(y_true, dtype=np.int64) * n_classes + np.asarray(y_pred, dtype=np.int64)
    return np.bincount(codes, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def grouped_confusion(
    codes: np.ndarray, groups: np.ndarray, n_groups: int, n_classes: int
) -> np.ndarray:
    """Confusion matrices per group and per leading row of ``groups``.

    ``codes`` are ``y_true * K + y_pred`` per sample ``(n,)``; ``groups`` are integer group ids,
    shape ``(n,)`` or ``(B, n)`` (e.g. one row per permutation). Returns ``(B, G, K, K)``.
    """
    groups = np.atleast_2d(groups)
    n_batch = groups.shape[0]
    kk = n_classes * n_classes
    flat = (np.arange(n_batch)[:, None] * n_groups + groups) * kk + codes[None, :]
    counts = np.bincount(flat.ravel(), minlength=n_batch * n_groups * kk)
    return counts.reshape(n_batch, n_groups, n_classes, n_classes)


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num, den = np.broadcast_arrays(np.asarray(num, float), np.asarray(den, float))
    return np.divide(num, den, out=np.zeros(num.shape), where=den > 0)


def _per_class(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    precision = _safe_div(tp, cm.sum(-2))
    recall = _safe_div(tp, cm.sum(-1))
    f1 = _safe_div(2 * precision * recall, precision + recall)
    return precision, recall, f1


def _macro(values: np.ndarray, cm: np.ndarray) -> np.ndarray:
    present = (cm.sum(-1) + cm.sum(-2)) > 0
    return _safe_div((values * present).sum(-1), present.sum(-1))


def accuracy(cm: np.ndarray) -> np.ndarray:
    return _safe_div(np.trace(cm, axis1=-2, axis2=-1), cm.sum((-2, -1)))


def precision_macro(cm: np.ndarray) -> np.ndarray:
    return _macro(_per_class(cm)[0], cm)


def recall_macro(cm: np.ndarray) -> np.ndarray:
    return _macro(_per_class(cm)[1], cm)


def f1_macro(cm: np.ndarray) -> np.ndarray:
    return _macro(_per_class(cm)[2], cm)


def class_recall(k: int) -> CMMetric:
    """Recall of class ``k``; NaN where the class does not occur in ``y_true``."""

    def recall_k(cm: np.ndarray) -> np.ndarray:
        support = cm[..., k, :].sum(-1)
        return np.where(support > 0, _safe_div(cm[..., k, k], support), np.nan)

    return recall_k


def predicted_rate(k: int) -> CMMetric:
    """Share of samples predicted as class ``k``."""

    def rate_k(cm: np.ndarray) -> np.ndarray:
        return _safe_div(cm[..., :, k].sum(-1), cm.sum((-2, -1)))

    return rate_k


def cm_metrics(classes: list[str]) -> dict[str, CMMetric]:
    """All reported metrics by column name: table metrics, per-class recall, predicted rates.

    For single-label multi-class data micro precision, recall and F1 all equal accuracy.
    """
    metrics: dict[str, CMMetric] = {
        "accuracy": accuracy,
        "precision_macro": precision_macro,
        "precision_micro": accuracy,
        "recall_macro": recall_macro,
        "recall_micro": accuracy,
        "f1_macro": f1_macro,
        "f1_micro": accuracy,
    }
    metrics.update({f"recall_{c}": class_recall(k) for k, c in enumerate(classes)})
    metrics.update({f"rate_{c}": predicted_rate(k) for k, c in enumerate(classes)})
    return metrics


def label_metric(metric: CMMetric, n_classes: int) -> Callable[[np.ndarray, np.ndarray], float]:
    """Adapt a confusion-matrix metric to the ``(y_true, y_pred) -> float`` form of fairlearn."""

    def from_labels(y_true, y_pred) -> float:
        return float(metric(confusion_matrix(y_true, y_pred, n_classes)))

    return from_labels
