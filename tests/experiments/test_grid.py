"""``aiducation grid``: Table 2.2 from validation-chosen checkpoints, plots, resumable runs."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from tests.experiments.conftest import GRID_MODELS, TINY

from aiducation.cli import build_parser, main
from aiducation.data.dataset import load_prepared
from aiducation.experiments import grid as grid_module
from aiducation.experiments.grid import SEED_PRESET, GridTrial, run_grid_trial, table_2_2
from aiducation.experiments.options import build_base_config
from aiducation.models import count_parameters, create_model
from aiducation.models.checkpoint import load_checkpoint
from aiducation.training.callbacks import Callback
from aiducation.training.config import TrainConfig
from aiducation.training.evaluation import evaluate_checkpoint
from aiducation.training.learner import default_callbacks, fit


def test_table_2_2_holds_test_metrics_of_the_validation_chosen_checkpoint(
    grid_dir: Path, exp_data: Path
) -> None:
    table = pd.read_csv(grid_dir / "table_2_2.csv")
    assert list(table["model"]) == list(GRID_MODELS)
    assert list(table.columns[:6]) == ["model", "K", "blocks", "channels", "FCs", "parameters"]
    assert list(table["K"]) == [3, 5] and list(table["blocks"]) == [1, 2]
    assert list(table["FCs"]) == [1, 2] and list(table["channels"]) == [4, 4]
    data = load_prepared(exp_data)
    for row in table.itertuples():
        run = grid_dir / "runs" / row.model
        log = pd.read_csv(run / "log.csv")
        assert row.best_epoch == log.loc[log["val_accuracy"].idxmax(), "epoch"]
        assert row.parameters == count_parameters(create_model(row.model, num_classes=4))
        checkpoint = load_checkpoint(run)
        metrics, _ = evaluate_checkpoint(checkpoint, data, data.split_indices("test"))
        assert row.accuracy == pytest.approx(metrics["accuracy"])
        assert row.macro_f1 == pytest.approx(metrics["macro_f1"])
    markdown = (grid_dir / "table_2_2.md").read_text()
    assert all(f"| {m} |" in markdown for m in GRID_MODELS)
    best = json.loads((grid_dir / "best_model.json").read_text())
    assert best["model"] == table.loc[table["val_accuracy"].idxmax(), "model"]


def test_grid_writes_comparison_and_best_model_plots(grid_dir: Path) -> None:
    for name in ("comparison.png", "best_confusion.png", "best_history.png"):
        assert (grid_dir / "plots" / name).stat().st_size > 5_000
    described = json.loads((grid_dir / "grid.json").read_text())
    assert described["models"] == list(GRID_MODELS) and described["config"]["epochs"] == 2


def test_finished_runs_are_skipped(grid_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_training(*args, **kwargs):
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr("aiducation.training.run.train_run", no_training)
    before = pd.read_csv(grid_dir / "table_2_2.csv")
    described = json.loads((grid_dir / "grid.json").read_text())
    args = ["grid", "--models", *GRID_MODELS, "--data", described["data"], "--out", str(grid_dir)]
    assert main([*args, "--epochs", "2", "--batch-size", "16", "--no-progress"]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(grid_dir / "table_2_2.csv"), before)


class Interrupt(Callback):
    def on_epoch_end(self, learner, row: dict) -> None:
        if row["epoch"] == 1:
            raise KeyboardInterrupt


def test_an_interrupted_run_resumes_where_it_stopped(exp_data: Path, tmp_path: Path) -> None:
    config = TrainConfig(model="B4_N1_FC1_K3_AP4", epochs=2, batch_size=16, progress=False)
    data = load_prepared(exp_data)
    run_dir = tmp_path / "runs" / config.model
    with pytest.raises(KeyboardInterrupt):
        fit(config, data, data.split_indices("train"), data.split_indices("val"), run_dir,
            callbacks=[*default_callbacks(config, run_dir), Interrupt()])  # fmt: skip
    first_epoch = pd.read_csv(run_dir / "log.csv")
    assert len(first_epoch) == 1 and not (run_dir / "result.json").exists()
    trial = GridTrial(config.model, config.to_dict(), str(exp_data), str(run_dir))
    row = run_grid_trial(trial)
    log = pd.read_csv(run_dir / "log.csv")
    assert list(log["epoch"]) == [1, 2] and row["epochs_run"] == 2
    assert log.loc[0, "train_loss"] == first_epoch.loc[0, "train_loss"]  # epoch 1 not redone
    assert json.loads((run_dir / "result.json").read_text()) == row


def test_changed_options_on_an_existing_grid_are_refused(grid_dir: Path, capsys) -> None:
    described = json.loads((grid_dir / "grid.json").read_text())
    args = ["grid", "--models", GRID_MODELS[0], "--data", described["data"], "--out", str(grid_dir)]
    assert main([*args, "--epochs", "3", "--batch-size", "16"]) == 2
    err = capsys.readouterr().err
    assert "other options (config.epochs: " in err and "3 now" in err  # names what differs


def test_seed_preset_has_the_reports_hyper_parameters_and_flags_override_it(tmp_path) -> None:
    parser = build_parser()
    args = parser.parse_args(["grid", "--preset", "seed", "--epochs", "3"])
    config = build_base_config(args, "B16_N8_FC2_K5_AP20", SEED_PRESET)
    assert (config.optimizer, config.lr, config.weight_decay) == ("adam", 1e-3, 1e-4)
    assert (config.batch_size, config.epochs, config.schedule) == (64, 3, "constant")
    file = tmp_path / "config.json"
    file.write_text(json.dumps({"batch_size": 32}))
    args = parser.parse_args(["grid", "--preset", "seed", "--config", str(file)])
    config = build_base_config(args, "B16_N8_FC2_K5_AP20", SEED_PRESET)
    assert (config.batch_size, config.epochs) == (32, 100)


def test_time_budget_is_shared_between_runs(monkeypatch, exp_data: Path, tmp_path) -> None:
    seen = {}

    def fake_run_grid(spec):
        seen["spec"] = spec
        return pd.DataFrame()

    monkeypatch.setattr(grid_module, "run_grid", fake_run_grid)
    args = ["grid", "--preset", "seed", "--data", str(exp_data), "--out", str(tmp_path)]
    assert main([*args, "--budget-minutes", "60", "--workers", "2"]) == 0
    spec = seen["spec"]
    assert len(spec.models) == 12 and spec.config.max_minutes == pytest.approx(10.0)
    assert all(t.config["threads"] >= 1 and not t.config["progress"] for t in spec.trials())


def test_table_2_2_leaves_architecture_blank_for_other_families() -> None:
    row = {"model": "faceresnet_t", "K": None, "accuracy": 0.5, "val_accuracy": 0.4}
    table = table_2_2([row, {**row, "model": "B4_N1_FC1_K3_AP4", "K": 3}])
    assert table["K"].isna().tolist() == [True, False]
    assert replace(TrainConfig(), epochs=1).epochs == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["grid"], "--preset seed or --models"),
        (["grid", "--models", "nope_net"], "unknown model"),
        (["grid", "--models", "faceresnet_t", "--data", "/nonexistent"], "not a prepared dataset"),
    ],
)
def test_bad_input_exits_2_with_a_message(argv, message, capsys) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


@pytest.mark.slow  # spawns 2 processes that import torch and train (~10-30 s on 2 cores)
def test_parallel_processes_reproduce_the_sequential_grid(
    grid_dir: Path, exp_data: Path, tmp_path: Path
) -> None:
    out = tmp_path / "parallel"
    args = ["grid", "--models", *GRID_MODELS, "--data", str(exp_data), "--out", str(out)]
    assert main([*args, *TINY, "--workers", "2"]) == 0
    sequential, parallel = (pd.read_csv(d / "table_2_2.csv") for d in (grid_dir, out))
    columns = ["model", "accuracy", "macro_f1", "val_accuracy", "best_epoch"]
    pd.testing.assert_frame_equal(parallel[columns], sequential[columns])


def test_train_limit_trains_on_fewer_images_and_tests_on_the_whole_test_split(
    exp_data: Path, tmp_path: Path
) -> None:
    out = tmp_path / "grid"
    args = ["grid", "--models", GRID_MODELS[0], "--data", str(exp_data), "--out", str(out)]
    assert main([*args, *TINY, "--epochs", "1", "--train-limit", "24"]) == 0
    row = json.loads((out / "runs" / GRID_MODELS[0] / "result.json").read_text())
    assert row["n_test"] == len(load_prepared(exp_data).split_indices("test"))
    assert "random subset of 24 training images" in (out / "table_2_2.md").read_text()
    assert json.loads((out / "grid.json").read_text())["train_limit"] == 24
