"""Shared fixtures: the real data folder (skip when absent) and small generated datasets."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aiducation.data.labels import LEARNING_STATES, VOTE_COLUMNS

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("AIDUCATION_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(autouse=True)
def private_data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """No test touches the user's real data directory (where the lesson database lives)."""
    monkeypatch.setenv("AIDUCATION_DATA_DIR", str(tmp_path_factory.mktemp("user-data")))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (or $AIDUCATION_SHARED_DATA); tests using it skip when it is absent."""
    if not (SHARED_DATA / "ferplus" / "fer2013new.csv").is_file():
        pytest.skip(f"real FER+ data not found at {SHARED_DATA} (set AIDUCATION_SHARED_DATA)")
    return SHARED_DATA


def synthetic_faces(labels: np.ndarray, seed: int = 0) -> np.ndarray:
    """48×48 uint8 'faces' whose class is visible: a bright horizontal band at a class-specific
    height over noise, so a small CNN can learn the labels within a few epochs."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 90, size=(len(labels), 48, 48), dtype=np.uint8)
    for i, label in enumerate(labels):
        top = 4 + 11 * int(label)
        images[i, top : top + 6, 6:42] = 200 + rng.integers(0, 40)
    return images


def write_prepared(
    root: Path, n_per_class: int = 40, seed: int = 0, splits=(0.6, 0.2, 0.2), n_unlabelled=24
) -> Path:
    """Write a small prepared dataset in the format of :mod:`aiducation.data.dataset`,
    with ``n_unlabelled`` unlabelled training images (see :func:`write_unlabelled`)."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(LEARNING_STATES)), n_per_class)
    rng.shuffle(labels)
    n = len(labels)
    cut1, cut2 = int(splits[0] * n), int((splits[0] + splits[1]) * n)
    split = np.array(["train"] * cut1 + ["val"] * (cut2 - cut1) + ["test"] * (n - cut2))
    votes = np.zeros((n, len(VOTE_COLUMNS)), dtype=np.int64)
    main_vote = {"Angry": "anger", "Bored": "sadness", "Focused": "neutral", "Neutral": "neutral"}
    for i, label in enumerate(labels):
        votes[i, VOTE_COLUMNS.index(main_vote[LEARNING_STATES[label]])] = 8
        votes[i, 0 if LEARNING_STATES[label] == "Bored" else 2] += 2
    usage = {"train": "Training", "val": "PublicTest", "test": "PrivateTest"}
    meta = pd.DataFrame(
        {
            "index": np.arange(n),
            "source_row": np.arange(n) * 2,
            "image_name": [f"fer{i:07d}.png" for i in range(n)],
            "usage": [usage[s] for s in split],
            "split": split,
            "label": [LEARNING_STATES[i] for i in labels],
            "label_id": labels,
            "dup_group": np.arange(n),
            **{c: votes[:, j] for j, c in enumerate(VOTE_COLUMNS)},
        }
    )
    root.mkdir(parents=True, exist_ok=True)
    np.save(root / "images.npy", synthetic_faces(labels, seed))
    meta.to_csv(root / "meta.csv", index=False)
    summary = {
        "classes": list(LEARNING_STATES),
        "rule_set": "seed",
        "class_counts": {c: int((labels == i).sum()) for i, c in enumerate(LEARNING_STATES)},
        "split_counts": {s: int((split == s).sum()) for s in ("train", "val", "test")},
    }
    (root / "summary.json").write_text(json.dumps(summary, indent=2))
    write_unlabelled(root, meta, n_unlabelled, seed)
    return root


def write_unlabelled(root: Path, meta: pd.DataFrame, n: int, seed: int = 0) -> None:
    """``n`` unlabelled training faces (a vertical band, votes all 'happiness'); the first is
    a copy of the first validation image (same duplicate group), so training must skip it."""
    rng = np.random.default_rng(seed + 1)
    images = rng.integers(0, 90, size=(n, 48, 48), dtype=np.uint8)
    images[:, 6:42, 20:28] = 220
    groups = np.arange(n) + len(meta)
    first_val = int(np.flatnonzero(meta["split"].to_numpy() == "val")[0])
    images[0] = np.load(root / "images.npy")[first_val]
    groups[0] = meta["dup_group"].iat[first_val]
    votes = np.zeros((n, len(VOTE_COLUMNS)), dtype=np.int64)
    votes[:, VOTE_COLUMNS.index("happiness")] = 10
    unlabelled = pd.DataFrame(
        {
            "index": np.arange(n),
            "source_row": np.arange(n) * 2 + 1,
            "image_name": [f"fer{2 * i + 1:07d}.png" for i in range(n)],
            "usage": "Training",
            "split": "train",
            "label": "",
            "label_id": -1,
            "dup_group": groups,
            **{c: votes[:, j] for j, c in enumerate(VOTE_COLUMNS)},
        }
    )
    np.save(root / "unlabelled.npy", images)
    unlabelled.to_csv(root / "unlabelled.csv", index=False)


@pytest.fixture
def prepared_dir(tmp_path: Path) -> Path:
    """A small generated prepared dataset (160 learnable images, 96/32/32 train/val/test,
    plus 24 unlabelled training images)."""
    return write_prepared(tmp_path / "prepared")
