"""Evaluate a checkpoint on dataset rows, and write the results directory::

metrics.json      accuracy, macro/micro P/R/F1, per-class P/R/F1, confusion matrix, n
metrics.md        the same as Markdown tables
confusion.png     confusion matrix, counts and normalised
predictions.csv   one row per image: index, image_name, y_true, y_pred, p_<class>...

:func:`evaluate_checkpoint` is the one "load a checkpoint and score it" path: ``train``,
``evaluate``, ``kfold``, ``bias --checkpoint`` and ``mitigate`` all call it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from aiducation.csvfiles import to_csv
from aiducation.data.dataset import PreparedDataset
from aiducation.data.labels import OTHER
from aiducation.defaults import EVAL_BATCH_SIZE
from aiducation.metrics import classification_metrics, metrics_markdown
from aiducation.models.answers import has_other, restrict_to_scheme
from aiducation.models.checkpoint import Checkpoint
from aiducation.outdir import output_dir
from aiducation.training.scheme import (
    SplitPredictions,
    evaluate_scheme,
    predict_faces,
    scheme_markdown,
)

PREDICTION_COLUMNS = ("index", "image_name", "y_true", "y_pred")
"""The columns of every predictions CSV, then ``p_<class>`` per model output (documented in
docs/outputs.md); ``y_true``/``y_pred`` are class names, ``y_pred`` one of the learning states."""


def score(probs: np.ndarray, labels: np.ndarray, classes: list[str]) -> dict:
    """Metrics of ``probs`` (one column per model output) against ``labels``, plus ``loss``
    (cross-entropy). A model with more outputs than ``classes`` (an extra "Other") is scored on
    the decision restricted to ``classes``: its probabilities over them, renormalised."""
    scheme = restrict_to_scheme(probs, len(classes)).astype(np.float64)
    labels = np.asarray(labels, np.int64)
    picked = scheme[np.arange(len(labels)), labels]
    loss = float(-np.log(np.maximum(picked, 1e-12)).mean()) if len(labels) else 0.0
    return {"loss": loss, **classification_metrics(labels, scheme.argmax(axis=1), classes)}


def check_classes(checkpoint: Checkpoint, dataset: PreparedDataset) -> None:
    """``ValueError`` unless the checkpoint's outputs are the dataset's classes (+ "Other")."""
    if checkpoint.classes not in (dataset.classes, [*dataset.classes, OTHER]):
        raise ValueError(
            f"checkpoint classes {checkpoint.classes} differ from dataset classes {dataset.classes}"
        )


def predictions_frame(
    faces: SplitPredictions, classes: list[str], outputs: list[str]
) -> pd.DataFrame:
    """The labelled faces of ``faces`` in the predictions schema (:data:`PREDICTION_COLUMNS`)."""
    n = len(faces.indices)
    probs = faces.probs[:n]
    return pd.DataFrame(
        {
            "index": faces.indices,
            "image_name": faces.image_names[:n],
            "y_true": [classes[i] for i in faces.labels[:n]],
            "y_pred": [classes[i] for i in probs[:, : len(classes)].argmax(axis=1)],
            **{f"p_{c}": probs[:, i].round(6) for i, c in enumerate(outputs)},
        }
    )


def evaluate_checkpoint(
    checkpoint: Checkpoint,
    dataset: PreparedDataset,
    indices: np.ndarray | None = None,
    *,
    split: str | None = None,
    tta_flip: bool = False,
    batch_size: int = EVAL_BATCH_SIZE,
    predictions: SplitPredictions | None = None,
) -> tuple[dict, pd.DataFrame]:
    """Metrics and per-image predictions of ``checkpoint`` on dataset rows ``indices`` (default:
    the labelled rows of ``split``).

    With ``split`` and a checkpoint that answers "Other", the same prediction pass also covers
    the split's unlabelled faces and ``metrics["out_of_scheme"]`` holds
    :func:`~aiducation.training.scheme.evaluate_scheme`. ``predictions``: that pass, when
    already made with the same ``tta_flip``.
    """
    check_classes(checkpoint, dataset)
    other = split is not None and has_other(checkpoint.classes)
    if predictions is None:
        rows = dataset.split_indices(split) if indices is None else indices
        predictions = predict_faces(
            checkpoint.model, len(checkpoint.classes), dataset, rows,
            unlabelled_split=split if other else None, tta_flip=tta_flip, batch_size=batch_size,
        )  # fmt: skip
    n = len(predictions.indices)
    metrics = score(predictions.probs[:n], predictions.labels[:n], dataset.classes)
    if other:
        metrics["out_of_scheme"] = evaluate_scheme(
            checkpoint, dataset, split, predictions=predictions
        )
    return metrics, predictions_frame(predictions, dataset.classes, checkpoint.classes)


def write_evaluation(
    out_dir: str | Path,
    metrics: dict,
    predictions: pd.DataFrame,
    title: str = "",
    *,
    overwrite: bool = False,
    inputs: tuple = (),
) -> Path:
    """Write metrics.json/.md, confusion.png and predictions.csv atomically into ``out_dir``
    (the output-folder rule of :func:`aiducation.outdir.output_dir`)."""
    from aiducation.figures import save_figure
    from aiducation.plots import plot_confusion

    with output_dir(out_dir, owner="evaluate", overwrite=overwrite, inputs=inputs) as tmp:
        (tmp / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
        markdown = metrics_markdown(metrics)
        if "out_of_scheme" in metrics:
            markdown += "\n## Faces outside the scheme\n\n" + scheme_markdown(
                metrics["out_of_scheme"], metrics["classes"]
            )
        (tmp / "metrics.md").write_text(markdown)
        to_csv(predictions, tmp / "predictions.csv", index=False)
        fig = plot_confusion(metrics["confusion_matrix"], metrics["classes"], title)
        save_figure(fig, tmp / "confusion.png")
    return Path(out_dir)
