"""The Ray backend gives the local backend's results: grid and k-fold, same seeds, 1 thread.

CI installs the ``ray`` extra, so these run there; without Ray they skip with the reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from tests.experiments.conftest import GRID_MODELS, TINY

from aiducation.cli import main

ray = pytest.importorskip("ray", reason="Ray not installed (pip install 'aiducation[ray]')")

pytestmark = pytest.mark.slow  # a local Ray instance takes 10-40 s to start on 2 busy cores


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """One local Ray instance (2 CPUs) for the module; the commands find it running."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


RAY = ["--backend", "ray"]  # TINY sets 1 thread per trial


def test_ray_grid_reproduces_the_local_grid(
    local_ray: None, grid_dir: Path, exp_data: Path, tmp_path: Path
) -> None:
    out = tmp_path / "grid"
    args = ["grid", "--models", *GRID_MODELS, "--data", str(exp_data), "--out", str(out)]
    assert main([*args, *TINY, *RAY]) == 0
    local, on_ray = (pd.read_csv(d / "table_2_2.csv") for d in (grid_dir, out))
    columns = ["model", "accuracy", "macro_f1", "val_accuracy", "best_epoch"]
    pd.testing.assert_frame_equal(on_ray[columns], local[columns])


def test_ray_kfold_reproduces_the_local_kfold(
    local_ray: None, kfold_dir: Path, exp_data: Path, tmp_path: Path
) -> None:
    out = tmp_path / "kfold"
    args = ["kfold", "--model", GRID_MODELS[1], "--folds", "3", "--data", str(exp_data)]
    assert main([*args, "--out", str(out), *TINY, *RAY]) == 0
    pd.testing.assert_frame_equal(
        *(pd.read_csv(d / "oof_predictions.csv") for d in (out, kfold_dir))
    )
    local, on_ray = (pd.read_csv(d / "table_3_2.csv").drop(columns="train_minutes")
                     for d in (kfold_dir, out))  # fmt: skip
    pd.testing.assert_frame_equal(on_ray, local)
