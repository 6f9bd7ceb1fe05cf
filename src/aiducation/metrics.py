"""Classification metrics: one implementation for every table (2.2, 3.2, 3.3, 3.4).

Every metric maps confusion matrices ``(..., K, K)`` (rows = true class, columns = predicted)
to values ``(...)``, so one function serves a whole split, a single group, a stack of bootstrap
resamples or a stack of permutations. :func:`classification_metrics` is the per-split summary
(``metrics.json``, Table 2.2) built from the same functions.

**Macro averages** are unweighted means over the classes *present* in ``y_true`` or ``y_pred``,
scikit-learn's convention when ``labels`` is not given. Why: a class that neither occurs nor
is predicted in a small group says nothing about that group, and counting it as 0 (averaging
over all classes) would call a perfect ``y=[0, 0, 1]``, ``ŷ=[0, 0, 1]`` of four classes 0.5.
On a whole test split every class is present, so both conventions agree there. Precision,
recall or F1 with a zero denominator count as 0; micro P/R/F1 equal accuracy
(single-label data).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

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
HEADLINE_METRICS = ("accuracy", "macro_precision", "macro_recall", "macro_f1")  # Tables 2.2/3.2
LOGGED_METRICS = (*HEADLINE_METRICS, "micro_precision", "micro_recall", "micro_f1")  # log.csv
SUMMARY_KEYS = (*HEADLINE_METRICS, "micro_f1")  # printed and in metrics.md


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """``cm[i, j]`` = number of images of true class ``i`` predicted as ``j``."""
    y_true, y_pred = np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape} differ in shape")
    flat = np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes)
    return flat.reshape(n_classes, n_classes)


def normalize_confusion(cm: np.ndarray) -> np.ndarray:
    """Row-normalised confusion matrix (each true class sums to 1; empty rows stay 0)."""
    rows = cm.sum(axis=-1, keepdims=True)
    return np.divide(cm, rows, out=np.zeros(cm.shape, float), where=rows > 0)


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


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[str]) -> dict:
    """Accuracy, macro and micro P/R/F1, per-class P/R/F1/support and the confusion matrix.

    Macro averages are over the classes present (module docstring); a class absent from both
    arrays is listed with zeros and support 0. The result is JSON-serialisable.
    """
    cm = confusion_matrix(y_true, y_pred, len(classes))
    precision, recall, f1 = _per_class(cm)
    micro = float(accuracy(cm))
    return {
        "n": int(cm.sum()),
        "accuracy": micro,
        "macro_precision": float(precision_macro(cm)),
        "macro_recall": float(recall_macro(cm)),
        "macro_f1": float(f1_macro(cm)),
        "micro_precision": micro,
        "micro_recall": micro,
        "micro_f1": micro,
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(cm[i].sum()),
            }
            for i, name in enumerate(classes)
        },
        "classes": list(classes),
        "confusion_matrix": cm.tolist(),
    }


def metrics_markdown(metrics: dict) -> str:
    """A Markdown table: one summary row, then one row per class."""
    lines = [
        "| metric | value |",
        "| --- | --- |",
        f"| n | {metrics['n']} |",
        *(f"| {key} | {metrics[key]:.4f} |" for key in SUMMARY_KEYS),
        "",
        "| class | precision | recall | F1 | support |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, s in metrics["per_class"].items():
        lines.append(
            f"| {name} | {s['precision']:.4f} | {s['recall']:.4f} | {s['f1']:.4f} "
            f"| {s['support']} |"
        )
    return "\n".join(lines) + "\n"


def format_metrics(metrics: dict) -> str:
    """One-screen text summary for the terminal."""
    head = "  ".join(f"{key}={metrics[key]:.4f}" for key in SUMMARY_KEYS)
    rows = [
        f"  {name:<10} P={s['precision']:.3f} R={s['recall']:.3f} F1={s['f1']:.3f} n={s['support']}"
        for name, s in metrics["per_class"].items()
    ]
    return "\n".join([f"n={metrics['n']}  {head}", *rows])
