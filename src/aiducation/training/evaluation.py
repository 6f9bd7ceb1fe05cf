"""Evaluate a checkpoint on a split of a prepared dataset and write the results directory::

metrics.json      accuracy, macro/micro P/R/F1, per-class P/R/F1, confusion matrix, n
metrics.md        the same as Markdown tables
confusion.png     confusion matrix, counts and normalised
predictions.csv   per image: index, image_name, true label, predicted label, probabilities
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from aiducation.data.dataset import PreparedDataset
from aiducation.data.labels import OTHER
from aiducation.models.checkpoint import Checkpoint
from aiducation.outdir import output_dir
from aiducation.training.learner import evaluate
from aiducation.training.metrics import metrics_markdown
from aiducation.training.scheme import scheme_markdown


def evaluate_checkpoint(
    checkpoint: Checkpoint,
    dataset: PreparedDataset,
    indices: np.ndarray,
    *,
    tta_flip: bool = False,
    batch_size: int = 512,
) -> tuple[dict, pd.DataFrame]:
    """Metrics and per-image predictions of ``checkpoint`` on ``dataset`` rows ``indices``."""
    if checkpoint.classes not in (dataset.classes, [*dataset.classes, OTHER]):
        raise ValueError(
            f"checkpoint classes {checkpoint.classes} differ from dataset classes {dataset.classes}"
        )
    images = torch.from_numpy(np.ascontiguousarray(dataset.images[indices]))
    labels = dataset.labels[indices]
    metrics, probs = evaluate(
        checkpoint.model, images, labels, dataset.classes, batch_size=batch_size, tta_flip=tta_flip
    )
    classes = dataset.classes
    predicted = probs[:, : len(classes)].argmax(dim=1).numpy()  # decision among the rule classes
    predictions = pd.DataFrame(
        {
            "index": indices,
            "image_name": dataset.meta["image_name"].to_numpy()[indices],
            "label": [classes[i] for i in labels],
            "predicted": [classes[i] for i in predicted],
            **{f"p_{c}": probs[:, i].numpy().round(6) for i, c in enumerate(checkpoint.classes)},
        }
    )
    return metrics, predictions


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
    from aiducation.training.plots import plot_confusion, save_figure

    with output_dir(out_dir, owner="evaluate", overwrite=overwrite, inputs=inputs) as tmp:
        (tmp / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
        markdown = metrics_markdown(metrics)
        if "out_of_scheme" in metrics:
            markdown += "\n## Faces outside the scheme\n\n" + scheme_markdown(
                metrics["out_of_scheme"], metrics["classes"]
            )
        (tmp / "metrics.md").write_text(markdown)
        predictions.to_csv(tmp / "predictions.csv", index=False)
        fig = plot_confusion(metrics["confusion_matrix"], metrics["classes"], title)
        save_figure(fig, tmp / "confusion.png")
    return Path(out_dir)
