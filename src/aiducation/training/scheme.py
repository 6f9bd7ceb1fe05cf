"""Faces outside the rule scheme: the "Other" answer, its threshold and its metrics.

A model trained with ``other_class`` has one output more than the rule set's classes. A face's
**in-scheme probability** is ``1 − P(Other)``; the five-way answer is "Other" when that is below
the operating threshold (chosen on the validation split by :func:`choose_threshold`), else the
most probable rule class. The face's **expression** is the most likely FER+ emotion of the
auxiliary vote-share head.

Ground truth: a labelled face's rule class, or "Other" for a cleaned face no rule labels
(``dataset.unlabelled``). All functions below are pure (NumPy in, dicts out) except
:func:`predict_faces` (and :func:`predict_split`), which run a model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from aiducation.data.dataset import PreparedDataset
from aiducation.data.labels import OTHER, ferplus_majority
from aiducation.defaults import EVAL_BATCH_SIZE
from aiducation.metrics import classification_metrics
from aiducation.models.answers import (
    EXPRESSIONS,
    THRESHOLD_KEY,
    THRESHOLD_RULE_KEY,
    answers,
    in_scheme_probability,
    other_threshold,
)
from aiducation.models.predict import classify_batches, with_expression

MAX_LABELLED_OTHER = 0.10  # operating point: at most 1 in 10 in-scheme faces called "Other"


@dataclass
class SplitPredictions:
    """Predictions on every valid face of one split: labelled rows first, then unlabelled."""

    probs: np.ndarray  # (N, K + 1) class probabilities, last column "Other"
    expression_probs: np.ndarray | None  # (N, 8) FER+ emotion shares (auxiliary head)
    labels: np.ndarray  # rule class id, or K ("Other") for unlabelled faces
    votes: np.ndarray  # (N, 10) FER+ votes
    image_names: np.ndarray
    indices: np.ndarray | None = None  # dataset rows of the labelled faces (the first ones)


def choose_threshold(
    probs: np.ndarray, labels: np.ndarray, max_labelled_other: float = MAX_LABELLED_OTHER
) -> float:
    """The in-scheme threshold (0.01 steps) with the best five-way accuracy on these faces,
    among those that call at most ``max_labelled_other`` of the labelled faces "Other"."""
    candidates = np.round(np.arange(0.01, 1.0, 0.01), 2)
    inside = labels < probs.shape[1] - 1
    best, best_accuracy = float(candidates[0]), -1.0
    for t in candidates:
        answer = answers(probs, t)
        lost = float((answer[inside] == probs.shape[1] - 1).mean()) if inside.any() else 0.0
        accuracy = float((answer == labels).mean())
        if lost <= max_labelled_other and accuracy > best_accuracy:
            best, best_accuracy = float(t), accuracy
    return best


def majority_emotions(votes: np.ndarray) -> list[str]:
    """Each face's FER+ majority emotion (``"tie"`` when no unique strict maximum)."""
    ids = ferplus_majority(np.asarray(votes, np.int64))
    return [EXPRESSIONS[i] if i >= 0 else "tie" for i in ids]


def scheme_metrics(predictions: SplitPredictions, classes: list[str], threshold: float) -> dict:
    """Four-state metrics on the labelled faces and the out-of-scheme metrics on all faces."""
    probs, labels = predictions.probs, predictions.labels
    k = len(classes)
    inside = labels < k
    answer = answers(probs, threshold)
    called_other, is_other = answer == k, ~inside
    four = classification_metrics(labels[inside], probs[inside, :k].argmax(axis=1), classes)
    majority = np.array(majority_emotions(predictions.votes))
    names = [*classes, OTHER]
    by_majority = {}
    for emotion in [*EXPRESSIONS, "tie"]:
        rows = majority == emotion
        if rows.any():
            counts = np.bincount(answer[rows], minlength=k + 1)
            by_majority[emotion] = {
                "n": int(rows.sum()),
                **{
                    name: round(float(c / rows.sum()), 4)
                    for name, c in zip(names, counts, strict=True)
                },
            }
    has_both = inside.any() and is_other.any()
    return {
        "threshold": threshold,
        "n_labelled": int(inside.sum()),
        "n_unlabelled": int(is_other.sum()),
        "four_state_accuracy": four["accuracy"],
        "four_state_macro_f1": four["macro_f1"],
        "in_scheme_auroc": float(roc_auc_score(inside, in_scheme_probability(probs)))
        if has_both
        else None,
        "other_precision": _share(is_other, called_other),
        "other_recall": _share(called_other, is_other),
        "labelled_called_other": _share(called_other, inside),
        "five_way_accuracy": float((answer == labels).mean()) if len(labels) else 0.0,
        "answers_by_majority_emotion": by_majority,
    }


def _share(event: np.ndarray, given: np.ndarray) -> float | None:
    """P(event | given), ``None`` when nothing is given."""
    return float(event[given].mean()) if given.any() else None


def predict_faces(
    model: torch.nn.Module,
    n_outputs: int,
    dataset: PreparedDataset,
    rows: np.ndarray,
    *,
    unlabelled_split: str | None = None,
    tta_flip: bool = False,
    batch_size: int = EVAL_BATCH_SIZE,
) -> SplitPredictions:
    """Class probabilities (``n_outputs`` columns) and expression probabilities of ``model`` on
    the labelled dataset ``rows``, followed by the unlabelled faces of ``unlabelled_split``."""
    k = len(dataset.classes)
    rows = np.asarray(rows, np.int64)
    images, votes, labels = [dataset.images[rows]], [dataset.votes[rows]], [dataset.labels[rows]]
    names = [dataset.meta["image_name"].to_numpy()[rows]]
    if unlabelled_split is not None and dataset.unlabelled is not None:
        extra = np.flatnonzero(dataset.unlabelled.meta["split"].to_numpy() == unlabelled_split)
        images.append(dataset.unlabelled.images[extra])
        votes.append(dataset.unlabelled.votes[extra])
        labels.append(np.full(len(extra), k))
        names.append(dataset.unlabelled.meta["image_name"].to_numpy()[extra])
    faces = torch.from_numpy(np.ascontiguousarray(np.concatenate(images)))
    probs, expression = classify_batches(
        with_expression(model), faces, n_outputs, batch_size=batch_size, tta_flip=tta_flip
    )
    return SplitPredictions(
        probs=probs.numpy(),
        expression_probs=None if expression is None else expression.numpy(),
        labels=np.concatenate(labels),
        votes=np.concatenate(votes),
        image_names=np.concatenate(names),
        indices=rows,
    )


def predict_split(
    model: torch.nn.Module,
    n_outputs: int,
    dataset: PreparedDataset,
    split: str,
    *,
    tta_flip: bool = False,
    batch_size: int = EVAL_BATCH_SIZE,
) -> SplitPredictions:
    """:func:`predict_faces` on all valid faces of ``split``, labelled and unlabelled."""
    return predict_faces(
        model, n_outputs, dataset, dataset.split_indices(split), unlabelled_split=split,
        tta_flip=tta_flip, batch_size=batch_size,
    )  # fmt: skip


def scheme_markdown(metrics: dict, classes: list[str]) -> str:
    """The out-of-scheme metrics as Markdown: headline numbers and the per-emotion table."""

    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{100 * value:.1f} %"

    auroc = metrics["in_scheme_auroc"]
    lines = [
        f"Operating threshold (in-scheme probability, chosen on validation): "
        f"{metrics['threshold']:.2f}",
        "",
        "| metric | value |",
        "| --- | --- |",
        f"| labelled faces / unlabelled faces | {metrics['n_labelled']} / "
        f"{metrics['n_unlabelled']} |",
        f"| four-state accuracy (labelled) | {metrics['four_state_accuracy']:.4f} |",
        f"| four-state macro F1 (labelled) | {metrics['four_state_macro_f1']:.4f} |",
        f"| in/out AUROC | {'n/a' if auroc is None else f'{auroc:.4f}'} |",
        f"| Other precision | {pct(metrics['other_precision'])} |",
        f"| Other recall | {pct(metrics['other_recall'])} |",
        f"| labelled faces called Other | {pct(metrics['labelled_called_other'])} |",
        f"| five-way accuracy (all faces) | {metrics['five_way_accuracy']:.4f} |",
        "",
        "Answers by FER+ majority emotion (share of the faces of each row):",
        "",
        "| majority | n | " + " | ".join([*classes, OTHER]) + " |",
        "| --- | ---: |" + " ---: |" * (len(classes) + 1),
    ]
    for emotion, row in metrics["answers_by_majority_emotion"].items():
        shares = " | ".join(pct(row[name]) for name in [*classes, OTHER])
        lines.append(f"| {emotion} | {row['n']} | {shares} |")
    return "\n".join(lines) + "\n"


def calibrate_checkpoint(
    checkpoint,
    dataset: PreparedDataset,
    *,
    split: str = "val",
    predictions: SplitPredictions | None = None,
) -> float:
    """Choose the operating threshold of an "Other"-capable checkpoint on ``split`` (never
    test), without flip averaging as ``analyze`` runs, and store it in its ``model.json``
    (``other_threshold``). ``predictions``: that split's, when already made without flip."""
    from aiducation.atomic import write_json
    from aiducation.models.checkpoint import MODEL_CONFIG_FILE

    if split == "test":
        raise ValueError("the Other threshold must not be chosen on the test split")
    if predictions is None:
        predictions = predict_split(checkpoint.model, len(checkpoint.classes), dataset, split)
    threshold = choose_threshold(predictions.probs, predictions.labels)
    checkpoint.config[THRESHOLD_KEY] = threshold
    checkpoint.config[THRESHOLD_RULE_KEY] = (
        f"best five-way accuracy on the {split} split's {len(predictions.labels)} valid faces "
        f"(no flip averaging) with at most {MAX_LABELLED_OTHER:.0%} of its labelled faces "
        "called Other"
    )
    write_json(checkpoint.path / MODEL_CONFIG_FILE, checkpoint.config)
    return threshold


def evaluate_scheme(
    checkpoint,
    dataset: PreparedDataset,
    split: str,
    *,
    tta_flip: bool = False,
    predictions: SplitPredictions | None = None,
) -> dict:
    """:func:`scheme_metrics` of ``checkpoint`` on every valid face of ``split`` (``predictions``
    when already made), at its saved threshold (the default when it has none:
    :func:`aiducation.models.answers.other_threshold`)."""
    threshold, rule = other_threshold(checkpoint.config, checkpoint.classes)
    if predictions is None:
        predictions = predict_split(
            checkpoint.model, len(checkpoint.classes), dataset, split, tta_flip=tta_flip
        )
    return {**scheme_metrics(predictions, dataset.classes, threshold), "threshold_rule": rule}
