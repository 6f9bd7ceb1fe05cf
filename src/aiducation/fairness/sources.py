"""Where the predictions of a bias analysis come from, and the held-out check.

Two sources give the same frame (``image_name, y_true, y_pred, in_training``): a predictions
CSV (e.g. out-of-fold predictions) or a checkpoint applied to the annotated images of a
prepared dataset. :func:`require_held_out` refuses training images unless forced.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from aiducation.data.dataset import PreparedDataset
from aiducation.errors import InputError
from aiducation.fairness.holdout import trained_rows
from aiducation.fairness.inputs import image_key, join_attributes, read_predictions

if TYPE_CHECKING:
    import torch


def annotated_rows(dataset: PreparedDataset, attributes: pd.DataFrame) -> np.ndarray:
    """Dataset rows whose image has at least one attribute value (first row per image name)."""
    keys = dataset.meta["image_name"].map(image_key)
    has_value = attributes.notna().any(axis=1)
    wanted = set(has_value[has_value].index)
    mask = keys.isin(wanted).to_numpy() & ~keys.duplicated().to_numpy()
    return np.flatnonzero(mask)


def predict_rows(
    checkpoint_dir: str | Path,
    dataset: PreparedDataset,
    rows: np.ndarray,
    *,
    tta_flip: bool = False,
    device: str | torch.device = "cpu",
):
    """Predicted class ids and probabilities of a checkpoint (run on ``device``) for dataset
    ``rows``, the checkpoint, and whether it answers "Other" for each row (``None`` for a model
    without that output, which is scored, like every model, on the decision restricted to the
    dataset's classes)."""
    from aiducation.models.answers import answers, other_threshold, restrict_to_scheme
    from aiducation.models.checkpoint import load_checkpoint
    from aiducation.training.evaluation import check_classes
    from aiducation.training.scheme import predict_faces

    try:
        checkpoint = load_checkpoint(checkpoint_dir, device=device)
    except (FileNotFoundError, ValueError) as exc:
        raise InputError(f"checkpoint: {exc}") from None
    try:
        check_classes(checkpoint, dataset)
    except ValueError as exc:
        raise InputError(f"{checkpoint.path}: {exc}") from None
    faces = predict_faces(
        checkpoint.model, len(checkpoint.classes), dataset, rows, tta_flip=tta_flip
    )
    proba = restrict_to_scheme(faces.probs, len(dataset.classes))
    called_other = None
    threshold, _ = other_threshold(checkpoint.config, checkpoint.classes)
    if threshold is not None:  # chosen without flips, as analyze runs
        if tta_flip:
            faces = predict_faces(checkpoint.model, len(checkpoint.classes), dataset, rows)
        called_other = answers(faces.probs, threshold) == len(checkpoint.classes) - 1
    return proba.argmax(1), proba, checkpoint, called_other


def from_checkpoint(
    checkpoint_dir: str | Path,
    dataset: PreparedDataset,
    attributes: pd.DataFrame,
    declared_splits: list[str] | None = None,
    *,
    tta_flip: bool = False,
    device: str | torch.device = "cpu",
) -> tuple[pd.DataFrame, str]:
    """Predictions of a checkpoint on every annotated image, with ``in_training`` flags.

    Returns the frame and a sentence saying how training membership is known.
    """
    rows = annotated_rows(dataset, attributes)
    if len(rows) == 0:
        raise InputError(
            f"no image of the attribute file is in the prepared dataset {dataset.root} "
            "(images are matched by file name, e.g. fer0000003.png)"
        )
    y_pred, proba, checkpoint, called_other = predict_rows(
        checkpoint_dir, dataset, rows, tta_flip=tta_flip, device=device
    )
    frame = pd.DataFrame(
        {
            "index": rows,
            "image_name": dataset.meta["image_name"].to_numpy()[rows],
            "y_true": dataset.labels[rows],
            "y_pred": y_pred,
        }
    )
    for k, name in enumerate(dataset.classes):
        frame[f"p_{name}"] = proba[:, k].round(6)
    if called_other is not None:
        frame["called_other"] = called_other
    known = trained_rows(checkpoint.path, checkpoint.config, dataset, declared_splits)
    if known is None:
        frame["in_training"] = pd.NA
        return frame, "unknown"
    mask, how = known
    frame["in_training"] = mask[rows]
    return frame, how


def from_predictions_csv(path: str | Path, classes: list[str]) -> tuple[pd.DataFrame, str]:
    """A predictions CSV; ``in_training`` from its own column, or False for out-of-fold files
    (a ``fold`` column), otherwise unknown."""
    frame = read_predictions(path, classes)
    if "in_training" in frame:
        return frame, f"{path} (in_training column)"
    if "fold" in frame:
        frame["in_training"] = False
        return frame, f"{path} (out-of-fold predictions: fold column)"
    frame["in_training"] = pd.NA
    return frame, "unknown"


def annotated_predictions(
    frame: pd.DataFrame,
    how: str,
    attributes: pd.DataFrame,
    attributes_name: str = "the attribute file",
    *,
    held_out_only: bool = False,
    force: bool = False,
    assume_held_out: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """The predictions of the annotated images, their attribute rows and the held-out statement.

    ``held_out_only`` drops the images the model trained on (when that is known); the rest is
    :func:`require_held_out`.
    """
    joined = join_attributes(frame["image_name"], attributes)
    matched = joined.notna().any(axis=1).to_numpy()
    if not matched.any():
        raise InputError(
            f"no prediction matches an image of {attributes_name} (by file name, e.g. "
            f"{frame['image_name'].iloc[0] if len(frame) else '?'})"
        )
    frame, joined = frame[matched].reset_index(drop=True), joined[matched]
    dropped = ""
    if held_out_only and how != "unknown":
        keep = ~frame["in_training"].astype(bool).to_numpy()
        if not keep.any():
            raise InputError(f"every annotated image was in the model's training set ({how})")
        dropped = f"; {int((~keep).sum())} training images dropped by --held-out-only"
        frame, joined = frame[keep].reset_index(drop=True), joined[keep]
    held_out = require_held_out(frame, how, force=force, assume_held_out=assume_held_out)
    return frame, joined, held_out + dropped


def require_held_out(frame: pd.DataFrame, how: str, *, force: bool, assume_held_out: bool) -> str:
    """Raise :class:`InputError` if any row is (or may be) a training image, unless allowed.

    Returns a one-line statement of the held-out status for the report.
    """
    if how == "unknown":
        if force or assume_held_out:
            flag = "--force" if force else "--assume-held-out"
            return f"training membership unknown; accepted by {flag}"
        raise InputError(
            "cannot tell whether these images were in the model's training set: pass "
            "--trained-on SPLIT (splits the checkpoint trained on), a predictions CSV with an "
            "in_training or fold column, --assume-held-out if you know they were not, or "
            "--force to report anyway"
        )
    trained = frame["in_training"].astype(bool).to_numpy()
    if trained.any() and not force:
        examples = ", ".join(frame.loc[trained, "image_name"].head(3))
        raise InputError(
            f"{int(trained.sum())} of {len(frame)} annotated images were in the model's training "
            f"set ({how}), e.g. {examples}; evaluate a model that held them out (see "
            "`aiducation mitigate --strategy none` or out-of-fold predictions), or pass --force"
        )
    if trained.any():
        return f"{int(trained.sum())} training images included by --force ({how})"
    return f"all {len(frame)} images held out from training ({how})"
