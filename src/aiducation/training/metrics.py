"""Pure classification metrics on label arrays (NumPy only; reused by the fairness code).

All functions take integer class ids ``y_true`` and ``y_pred`` of equal length and the number
of classes; classes absent from both arrays get precision/recall/F1 of 0 and support 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """``cm[i, j]`` = number of images of true class ``i`` predicted as ``j``."""
    y_true, y_pred = np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape} differ in shape")
    flat = np.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes)


def normalize_confusion(cm: np.ndarray) -> np.ndarray:
    """Row-normalised confusion matrix (each true class sums to 1; empty rows stay 0)."""
    rows = cm.sum(axis=1, keepdims=True)
    return np.divide(cm, rows, out=np.zeros(cm.shape, float), where=rows > 0)


def _safe_div(a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.divide(a, b, out=np.zeros(np.broadcast(a, b).shape), where=b > 0)


def f1_score(precision: np.ndarray | float, recall: np.ndarray | float) -> np.ndarray:
    return _safe_div(2 * np.asarray(precision) * recall, np.asarray(precision) + recall)


def per_class_scores(cm: np.ndarray) -> dict[str, np.ndarray]:
    """Precision, recall, F1 and support per class from a confusion matrix."""
    tp = np.diag(cm).astype(float)
    precision = _safe_div(tp, cm.sum(axis=0))
    recall = _safe_div(tp, cm.sum(axis=1))
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1_score(precision, recall),
        "support": cm.sum(axis=1),
    }


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[str]) -> dict:
    """Accuracy, macro and micro P/R/F1, per-class P/R/F1/support and the confusion matrix.

    Macro averages are unweighted means over all ``classes``; micro scores pool every decision
    (for single-label classification they equal accuracy). The result is JSON-serialisable.
    """
    cm = confusion_matrix(y_true, y_pred, len(classes))
    scores = per_class_scores(cm)
    n = int(cm.sum())
    tp = int(np.trace(cm))
    micro = float(_safe_div(tp, n))
    macro_p, macro_r = float(scores["precision"].mean()), float(scores["recall"].mean())
    return {
        "n": n,
        "accuracy": micro,
        "macro_precision": macro_p,
        "macro_recall": macro_r,
        "macro_f1": float(scores["f1"].mean()),
        "micro_precision": micro,
        "micro_recall": micro,
        "micro_f1": micro,
        "per_class": {
            name: {
                "precision": float(scores["precision"][i]),
                "recall": float(scores["recall"][i]),
                "f1": float(scores["f1"][i]),
                "support": int(scores["support"][i]),
            }
            for i, name in enumerate(classes)
        },
        "classes": list(classes),
        "confusion_matrix": cm.tolist(),
    }


HEADLINE_METRICS = ("accuracy", "macro_precision", "macro_recall", "macro_f1")  # the tables
LOGGED_METRICS = (*HEADLINE_METRICS, "micro_precision", "micro_recall", "micro_f1")  # log.csv
SUMMARY_KEYS = (*HEADLINE_METRICS, "micro_f1")  # printed and in metrics.md


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
