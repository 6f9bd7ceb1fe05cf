"""The rows a run trains on: images, votes, labels and targets, unlabelled faces included."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aiducation.data.dataset import PreparedDataset, auxiliary_rows
from aiducation.data.labels import OTHER, get_rule_set
from aiducation.training.config import TrainConfig
from aiducation.training.targets import smooth, vote_resample_probs


@dataclass
class TrainingRows:
    """Every labelled row of the dataset, then the unlabelled training rows that join them.

    ``train_idx`` indexes these arrays; an unlabelled row has label ``len(classes) - 1``
    ("Other") with ``other_class``, else −1 (it then only feeds the auxiliary loss).
    """

    images: np.ndarray
    votes: np.ndarray
    labels: np.ndarray
    targets: np.ndarray  # (N, len(classes)) training targets
    train_idx: np.ndarray
    n_unlabelled: int = 0


def model_classes(config: TrainConfig, dataset: PreparedDataset) -> list[str]:
    """The model's outputs: the dataset's classes, then "Other" with ``other_class``."""
    return dataset.classes + [OTHER] * config.other_class


def class_targets(
    config: TrainConfig, dataset: PreparedDataset, votes: np.ndarray, labels: np.ndarray,
    n_classes: int,
) -> np.ndarray:  # fmt: skip
    """One-hot (or blended soft) targets over ``n_classes`` outputs for rows with ``labels``."""
    targets = np.eye(n_classes)[labels]
    if config.targets == "soft":
        rule_set = get_rule_set(dataset.summary.get("rule_set", "seed"))
        soft = vote_resample_probs(
            votes, labels, rule_set, config.soft_draws, config.seed, other=config.other_class
        )
        targets = config.hard_mix * targets + (1 - config.hard_mix) * soft
    return smooth(targets, config.label_smoothing)


def training_rows(
    config: TrainConfig,
    dataset: PreparedDataset,
    train_idx: np.ndarray,
    *,
    exclude_groups: np.ndarray | None = None,
) -> TrainingRows:
    """The rows of a run on ``train_idx``; with ``aux_unlabelled`` the usable unlabelled training
    images follow the labelled ones and join ``train_idx`` (none from ``exclude_groups``, the
    duplicate groups of faces reserved for a bias study)."""
    n_classes = len(model_classes(config, dataset))
    images, votes, labels = dataset.images, dataset.votes, dataset.labels
    targets = class_targets(config, dataset, votes, labels, n_classes)
    rows = TrainingRows(images, votes, labels, targets, np.asarray(train_idx, np.int64))
    if not config.aux_unlabelled:
        return rows
    extra = auxiliary_rows(dataset, rows.train_idx, exclude_groups)
    if not len(extra):
        raise ValueError(
            f"{dataset.root}: no unlabelled training images for aux_unlabelled "
            "(prepare the dataset again with this version of `aiducation prepare`)"
        )
    extra_votes = dataset.unlabelled.votes[extra]
    if config.other_class:
        extra_labels = np.full(len(extra), n_classes - 1)
        extra_targets = class_targets(config, dataset, extra_votes, extra_labels, n_classes)
    else:
        extra_labels = np.full(len(extra), -1)
        extra_targets = np.zeros((len(extra), n_classes))
    return TrainingRows(
        images=np.concatenate([images, dataset.unlabelled.images[extra]]),
        votes=np.concatenate([votes, extra_votes]),
        labels=np.concatenate([labels, extra_labels]),
        targets=np.concatenate([targets, extra_targets]),
        train_idx=np.concatenate([rows.train_idx, len(labels) + np.arange(len(extra))]),
        n_unlabelled=len(extra),
    )
