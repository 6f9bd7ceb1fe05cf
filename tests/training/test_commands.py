"""`aiducation train` / `aiducation evaluate` end to end on the generated dataset."""

import json
from pathlib import Path

import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from aiducation.cli import main
from aiducation.training.evaluation import PREDICTION_COLUMNS

TINY = ["--model", "faceresnet_t", "--model-arg", "width=8", "--epochs", "2",
        "--batch-size", "16", "--threads", "1", "--no-progress"]  # fmt: skip


def test_train_then_evaluate_reproduces_test_metrics(prepared_dir: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    aux = ["--aux-weight", "0.5", "--aux-unlabelled"]  # the checkpoint carries an extra head
    cpu = ["--device", "cpu"]
    assert main(["train", "--data", str(prepared_dir), "--out", str(run), *TINY, *aux, *cpu]) == 0
    described = json.loads((run / "config.json").read_text())
    assert described["train"]["aux_weight"] == 0.5 and described["n_train_unlabelled"] == 23
    assert described["train"]["device"] == "cpu" and described["device"] == "cpu"
    for name in ("config.json", "log.csv", "plots/history.png", "test/metrics.json",
                 "test/confusion.png", "val/metrics.md", "checkpoints/best/model.safetensors",
                 "checkpoints/last/model.json", "checkpoints/resume/state.json"):  # fmt: skip
        assert (run / name).is_file(), name
    assert json.loads((run / "config.json").read_text())["data"] == str(prepared_dir)
    out = tmp_path / "eval"
    assert (
        main(
            ["evaluate", "--model", str(run), "--data", str(prepared_dir), "--out", str(out), *cpu]
        )
        == 0
    )
    ours, theirs = (json.loads((d / "metrics.json").read_text()) for d in (out, run / "test"))
    for key in ("accuracy", "macro_f1", "confusion_matrix", "per_class", "n"):
        assert ours[key] == theirs[key]
    assert ours["n"] == 32
    for predictions in (out / "predictions.csv", run / "test" / "predictions.csv"):
        columns = pd.read_csv(predictions).columns.tolist()
        assert columns[:4] == list(PREDICTION_COLUMNS) and "p_Angry" in columns


def test_resume_from_cli_matches_uninterrupted(prepared_dir: Path, tmp_path: Path) -> None:
    from aiducation.data.dataset import load_prepared
    from aiducation.rundir import RunDir
    from aiducation.training.config import TrainConfig
    from aiducation.training.learner import default_callbacks, fit

    from .test_learner import InterruptAt

    full, cut = tmp_path / "full", tmp_path / "cut"
    assert main(["train", "--data", str(prepared_dir), "--out", str(full), *TINY]) == 0
    config = TrainConfig.from_dict(RunDir(full).read_config()["train"])
    data = load_prepared(prepared_dir)
    with pytest.raises(KeyboardInterrupt):  # simulated Ctrl-C during epoch 2
        callbacks = [InterruptAt(1), *default_callbacks(config, cut)]
        fit(config, data, data.split_indices("train"), data.split_indices("val"), cut,
            callbacks=callbacks)  # fmt: skip
    meta = RunDir(cut).read_config()
    RunDir(cut).config.write_text(json.dumps({**meta, "data": str(prepared_dir)}))
    assert main(["train", "--resume", str(cut), "--no-progress"]) == 0
    a = load_file(str(full / "checkpoints/last/model.safetensors"))
    b = load_file(str(cut / "checkpoints/last/model.safetensors"))
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)


def test_user_errors_exit_2(prepared_dir: Path, tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    assert main(["train", "--data", str(tmp_path / "none"), "--out", str(run), *TINY]) == 2
    assert "not a prepared dataset" in capsys.readouterr().err
    assert main(["train", "--data", str(prepared_dir), "--model", "resnet9000"]) == 2
    assert "unknown model" in capsys.readouterr().err
    run.mkdir()
    (run / "config.json").write_text("{}")  # an earlier run lives there
    assert main(["train", "--data", str(prepared_dir), "--out", str(run), *TINY]) == 2
    assert "--resume" in capsys.readouterr().err
    assert main(["evaluate", "--model", str(tmp_path), "--data", str(prepared_dir)]) == 2
    assert "no checkpoint" in capsys.readouterr().err
    seed_model = ["--model", "B4_N1_FC1_K3_AP4", "--aux-weight", "1", "--no-progress"]
    assert (
        main(["train", "--data", str(prepared_dir), "--out", str(tmp_path / "s"), *seed_model]) == 2
    )
    assert "has none" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()  # a refused config leaves no run folder


def test_warm_start_errors_exit_2(prepared_dir: Path, tmp_path: Path, capsys) -> None:
    data = ["--data", str(prepared_dir)]
    assert main(["train", *data, "--out", str(tmp_path / "a"), "--init", str(tmp_path), *TINY]) == 2
    assert "--init: no checkpoint at" in capsys.readouterr().err
    assert main(["train", *data, "--out", str(tmp_path / "source"), *TINY]) == 0
    wide = [*TINY, "--model-arg", "width=12", "--init", str(tmp_path / "source")]
    assert main(["train", *data, "--out", str(tmp_path / "wide"), *wide]) == 2
    assert "warm start needs 'faceresnet_t'" in capsys.readouterr().err
    assert not (tmp_path / "wide").exists()
    kfold = ["kfold", *data, "--out", str(tmp_path / "k"), "--model", "faceresnet_t"]
    with pytest.raises(SystemExit):  # no such flag: its checkpoint saw the held-out folds
        main([*kfold, "--init", str(tmp_path / "source")])
    assert "unrecognized arguments: --init" in capsys.readouterr().err
    config = tmp_path / "warm.json"
    config.write_text(json.dumps({"init_from": str(tmp_path / "source")}))
    assert main([*kfold, "--config", str(config)]) == 2
    assert "a warm start is only for `train`" in capsys.readouterr().err
    assert not (tmp_path / "k").exists()


def test_resume_as_printed_after_ctrl_c_with_non_default_data(
    prepared_dir: Path, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aiducation.training import learner

    from .test_learner import InterruptAt

    run, real = tmp_path / "run", learner.default_callbacks
    monkeypatch.setattr(learner, "default_callbacks", lambda *a: [InterruptAt(1), *real(*a)])
    assert main(["train", "--data", str(prepared_dir), "--out", str(run), *TINY]) == 130
    printed = capsys.readouterr().out.strip().splitlines()[-1]
    assert printed == f"stopped; continue with: aiducation train --resume {run}"
    assert json.loads((run / "config.json").read_text())["data"] == str(prepared_dir)
    monkeypatch.setattr(learner, "default_callbacks", real)
    assert main([*printed.split("aiducation ")[1].split(), "--no-progress"]) == 0  # as printed
    assert (run / "test" / "metrics.json").is_file()
    assert len((run / "log.csv").read_text().splitlines()) == 1 + 2  # header + both epochs


def test_thread_defaults_are_one_and_threads_overrides() -> None:
    from aiducation.cli import build_parser
    from aiducation.commands.train import train_config

    parser = build_parser()
    assert train_config(parser.parse_args(["train"])).threads == 1
    assert train_config(parser.parse_args(["train", "--threads", "2"])).threads == 2
    assert parser.parse_args(["serve"]).threads == 1
    assert parser.parse_args(["analyze"]).threads == 1
