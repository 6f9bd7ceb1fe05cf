"""Fixtures of the experiment tests: one tiny grid and one tiny k-fold, run once per session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from tests.conftest import write_prepared

from aiducation.cli import main

GRID_MODELS = ("B4_N1_FC1_K3_AP4", "B4_N2_FC2_K5_AP4")
TINY = ["--epochs", "2", "--batch-size", "16", "--threads", "1", "--no-progress", "--device", "cpu"]

torch.set_num_threads(1)


def with_duplicates(root: Path) -> Path:
    """Make every 8th image an exact copy of the one before it (same pixels, same group)."""
    images = np.load(root / "images.npy")
    meta = pd.read_csv(root / "meta.csv", keep_default_na=False)
    for i in range(1, len(meta), 8):
        images[i] = images[i - 1]
        meta.loc[i, ["dup_group", "label", "label_id"]] = meta.loc[
            i - 1, ["dup_group", "label", "label_id"]
        ].to_numpy()
    np.save(root / "images.npy", images)
    meta.to_csv(root / "meta.csv", index=False)
    return root


@pytest.fixture(scope="session")
def exp_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """160 generated learnable images (96/32/32), with 20 duplicate pairs."""
    return with_duplicates(write_prepared(tmp_path_factory.mktemp("exp") / "prepared"))


@pytest.fixture(scope="session")
def grid_dir(exp_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("grid") / "grid"
    args = ["grid", "--models", *GRID_MODELS, "--data", str(exp_data), "--out", str(out), *TINY]
    assert main(args) == 0
    return out


@pytest.fixture(scope="session")
def kfold_dir(exp_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("kfold") / "kfold"
    args = ["kfold", "--model", GRID_MODELS[1], "--folds", "3", "--data", str(exp_data)]
    assert main([*args, "--out", str(out), *TINY]) == 0
    return out
