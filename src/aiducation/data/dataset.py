"""The prepared dataset: the on-disk format written by ``aiducation prepare`` and its loader.

Layout of a prepared directory::

    images.npy    uint8 array (N, 48, 48), row i is the face described by meta row i
    meta.csv      one row per image: index, source_row, image_name, usage, split, label,
                  label_id, dup_group, and the ten FER+ vote columns
    summary.json  counts (see ``aiducation prepare``), ``classes`` and ``rule_set``
    unlabelled.npy, unlabelled.csv
                  the cleaned images no rule labels (same columns, ``label_id`` −1), kept for
                  auxiliary training on their votes; optional (older directories lack them)

``split`` is one of ``train``, ``val``, ``test``; ``label_id`` indexes ``classes``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from aiducation.csvfiles import read_csv
from aiducation.data.labels import VOTE_COLUMNS

IMAGES_FILE = "images.npy"
META_FILE = "meta.csv"
SUMMARY_FILE = "summary.json"
UNLABELLED_IMAGES_FILE = "unlabelled.npy"
UNLABELLED_META_FILE = "unlabelled.csv"
SPLITS = ("train", "val", "test")


@dataclass
class Unlabelled:
    """Cleaned images that no rule labels: pixels plus the same metadata columns."""

    images: np.ndarray
    meta: pd.DataFrame

    @property
    def votes(self) -> np.ndarray:
        return self.meta[list(VOTE_COLUMNS)].to_numpy(np.int64)


@dataclass
class PreparedDataset:
    """Images, per-image metadata and the summary of one prepared directory."""

    root: Path
    images: np.ndarray
    meta: pd.DataFrame
    summary: dict
    unlabelled: Unlabelled | None = None

    @property
    def classes(self) -> list[str]:
        return list(self.summary["classes"])

    @property
    def labels(self) -> np.ndarray:
        return self.meta["label_id"].to_numpy(np.int64)

    @property
    def votes(self) -> np.ndarray:
        return self.meta[list(VOTE_COLUMNS)].to_numpy(np.int64)

    @property
    def groups(self) -> np.ndarray:
        """Duplicate-group id per image: identical pixel arrays share one id."""
        return self.meta["dup_group"].to_numpy(np.int64)

    def split_indices(self, split: str) -> np.ndarray:
        """Row indices of ``split`` (``train``, ``val`` or ``test``)."""
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
        return np.flatnonzero(self.meta["split"].to_numpy() == split)


def load_prepared(root: str | Path, mmap: bool = False) -> PreparedDataset:
    """Load a directory written by ``aiducation prepare``."""
    root = Path(root)
    missing = [f for f in (IMAGES_FILE, META_FILE, SUMMARY_FILE) if not (root / f).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{root} is not a prepared dataset: missing {', '.join(missing)} "
            "(create one with `aiducation prepare`)"
        )
    images = np.load(root / IMAGES_FILE, mmap_mode="r" if mmap else None, allow_pickle=False)
    meta = read_csv(root / META_FILE, keep_default_na=False)
    summary = json.loads((root / SUMMARY_FILE).read_text())
    if len(images) != len(meta):
        raise ValueError(
            f"{root}: {IMAGES_FILE} has {len(images)} images but {META_FILE} has {len(meta)} rows"
        )
    return PreparedDataset(root, images, meta, summary, _load_unlabelled(root, mmap))


def _load_unlabelled(root: Path, mmap: bool) -> Unlabelled | None:
    if not (root / UNLABELLED_IMAGES_FILE).is_file():
        return None
    images = np.load(
        root / UNLABELLED_IMAGES_FILE, mmap_mode="r" if mmap else None, allow_pickle=False
    )
    meta = read_csv(root / UNLABELLED_META_FILE, keep_default_na=False)
    if len(images) != len(meta):
        raise ValueError(
            f"{root}: {UNLABELLED_IMAGES_FILE} has {len(images)} images but "
            f"{UNLABELLED_META_FILE} has {len(meta)} rows"
        )
    return Unlabelled(images, meta)


def auxiliary_rows(
    dataset: PreparedDataset, train_idx: np.ndarray, exclude_groups: np.ndarray | None = None
) -> np.ndarray:
    """Unlabelled rows usable as extra training images beside labelled ``train_idx``.

    Those of the ``train`` split whose duplicate group holds no labelled image outside
    ``train_idx`` (so no copy of a validation, test or held-out fold image is trained on) and
    is not in ``exclude_groups``.
    """
    if dataset.unlabelled is None:
        return np.zeros(0, np.int64)
    held_out = np.ones(len(dataset.meta), bool)
    held_out[np.asarray(train_idx, np.int64)] = False
    held_groups = dataset.groups[held_out]
    if exclude_groups is not None:
        held_groups = np.concatenate([held_groups, np.asarray(exclude_groups, np.int64)])
    meta = dataset.unlabelled.meta
    usable = (meta["split"].to_numpy() == "train") & ~np.isin(
        meta["dup_group"].to_numpy(np.int64), held_groups
    )
    return np.flatnonzero(usable)
