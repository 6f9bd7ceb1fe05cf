"""``aiducation kfold``: duplicate-aware stratified folds, inner validation, Table 3.2, OOF CSV."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aiducation.cli import main
from aiducation.data.dataset import load_prepared
from aiducation.data.labels import LEARNING_STATES
from aiducation.experiments.kfold import KFoldSpec, fold_plan, table_3_2
from aiducation.fairness.inputs import read_predictions
from aiducation.training.config import TrainConfig


def test_folds_are_stratified_seeded_and_keep_duplicates_together(exp_data: Path) -> None:
    data = load_prepared(exp_data)
    spec = KFoldSpec(TrainConfig(model="faceresnet_t"), exp_data, Path("unused"), folds=4, seed=3)
    plan = fold_plan(data, spec)
    assert sorted(plan["index"]) == list(range(len(data.meta)))  # every image, once
    groups = data.groups[plan["index"]]
    assert (pd.Series(plan["fold"].to_numpy()).groupby(groups).nunique() == 1).all()
    assert (data.groups[plan["index"]] != np.arange(len(plan))).any()  # fixture has duplicates
    per_class = pd.crosstab(data.labels[plan["index"]], plan["fold"])
    assert (per_class.max(axis=1) - per_class.min(axis=1) <= 2).all()
    for i in range(4):
        role = plan[f"role_{i}"]
        assert ((role == "test") == (plan["fold"] == i)).all()
        val_groups = set(groups[role == "val"])
        assert val_groups and not val_groups & set(groups[role == "train"])
        assert 0.05 < (role == "val").sum() / (role != "test").sum() < 0.2
    pd.testing.assert_frame_equal(plan, fold_plan(data, spec))
    other = fold_plan(data, KFoldSpec(spec.config, exp_data, Path("unused"), folds=4, seed=4))
    assert not (other["fold"] == plan["fold"]).all()


def test_oof_predictions_cover_every_image_once_and_feed_the_bias_analysis(
    kfold_dir: Path, exp_data: Path
) -> None:
    data = load_prepared(exp_data)
    oof = pd.read_csv(kfold_dir / "oof_predictions.csv")
    columns = ["index", "image_name", "source_row", "y_true", "y_pred"]
    assert list(oof.columns) == [*columns, *(f"p_{c}" for c in LEARNING_STATES), "fold"]
    assert sorted(oof["index"]) == list(range(len(data.meta)))
    assert (oof["y_true"] == data.meta["label"].to_numpy()[oof["index"]]).all()
    assert (oof["source_row"] == data.meta["source_row"].to_numpy()[oof["index"]]).all()
    probs = oof[[f"p_{c}" for c in LEARNING_STATES]].to_numpy()
    assert np.allclose(probs.sum(axis=1), 1, atol=1e-4)
    assert (np.array(LEARNING_STATES)[probs.argmax(axis=1)] == oof["y_pred"]).all()
    folds = pd.read_csv(kfold_dir / "folds.csv")
    assert (folds.set_index("index").loc[oof["index"], "fold"].to_numpy() == oof["fold"]).all()
    read = read_predictions(kfold_dir / "oof_predictions.csv", list(LEARNING_STATES))
    assert len(read) == len(oof) and "fold" in read


def test_table_3_2_rows_are_the_held_out_fold_metrics_with_mean_and_std(kfold_dir: Path) -> None:
    table = pd.read_csv(kfold_dir / "table_3_2.csv", dtype={"fold": str})
    assert list(table["fold"]) == ["0", "1", "2", "mean", "std"]
    oof = pd.read_csv(kfold_dir / "oof_predictions.csv")
    for fold in range(3):
        rows = oof[oof["fold"] == fold]
        assert table.loc[fold, "accuracy"] == pytest.approx((rows.y_true == rows.y_pred).mean())
        assert table.loc[fold, "n_test"] == len(rows)
    assert table.loc[3, "accuracy"] == pytest.approx(table.loc[:2, "accuracy"].mean())
    assert table.loc[4, "accuracy"] == pytest.approx(table.loc[:2, "accuracy"].std(ddof=1))
    assert "±" in (kfold_dir / "table_3_2.md").read_text()
    assert (kfold_dir / "plots" / "folds.png").stat().st_size > 5_000
    for fold in range(3):
        run = kfold_dir / f"fold_{fold:02d}"
        result = json.loads((run / "result.json").read_text())
        log = pd.read_csv(run / "log.csv")
        assert result["best_epoch"] == log.loc[log["val_accuracy"].idxmax(), "epoch"]
        assert result["n_train"] + result["n_val"] + result["n_test"] == len(oof)


def test_rerun_skips_finished_folds(kfold_dir: Path, monkeypatch) -> None:
    def no_training(*args, **kwargs):
        raise AssertionError("a finished fold was trained again")

    monkeypatch.setattr("aiducation.training.learner.fit", no_training)
    described = json.loads((kfold_dir / "kfold.json").read_text())
    before = pd.read_csv(kfold_dir / "table_3_2.csv")
    args = ["kfold", "--model", described["config"]["model"], "--folds", "3", "--out"]
    args += [str(kfold_dir), "--data", described["data"], "--epochs", "2", "--batch-size", "16"]
    assert main(args) == 0
    pd.testing.assert_frame_equal(pd.read_csv(kfold_dir / "table_3_2.csv"), before)


def test_table_3_2_std_is_over_folds() -> None:
    rows = [
        {"fold": i, "accuracy": a, "macro_precision": a, "macro_recall": a, "macro_f1": a,
         "train_minutes": 1.0, "n_test": 10, "best_epoch": 1}
        for i, a in enumerate((0.5, 0.7))
    ]  # fmt: skip
    table = table_3_2(rows).set_index("fold")
    assert table.loc["mean", "accuracy"] == pytest.approx(0.6)
    assert table.loc["std", "accuracy"] == pytest.approx(np.std([0.5, 0.7], ddof=1))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--folds", "1"], "at least 2"),
        (["--val-fraction", "1.5"], "--val-fraction"),
        (["--splits", "train,bogus"], "--splits"),
    ],
)
def test_bad_kfold_options_exit_2(extra, message, exp_data: Path, capsys) -> None:
    argv = ["kfold", "--model", "faceresnet_t", "--data", str(exp_data), *extra]
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_from_grid_needs_a_finished_grid(tmp_path: Path, exp_data: Path, capsys) -> None:
    assert main(["kfold", "--data", str(exp_data), "--from-grid", str(tmp_path)]) == 2
    assert "best_model.json" in capsys.readouterr().err


def test_from_grid_takes_the_best_model_and_the_grids_options(grid_dir: Path) -> None:
    from aiducation.cli import build_parser
    from aiducation.commands.kfold import base_config

    best = json.loads((grid_dir / "best_model.json").read_text())["model"]
    args = build_parser().parse_args(["kfold", "--from-grid", str(grid_dir)])
    config = base_config(args)
    assert config.model == best and (config.epochs, config.batch_size) == (2, 16)
    args = build_parser().parse_args(["kfold", "--from-grid", str(grid_dir), "--epochs", "5"])
    assert base_config(args).epochs == 5
    args = build_parser().parse_args(["kfold", "--from-grid", str(grid_dir), "--preset", "seed"])
    assert (base_config(args).batch_size, base_config(args).optimizer) == (64, "adam")
