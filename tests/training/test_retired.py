"""Retired training options (measured, not kept): old runs that never used them still load and
resume bit-exactly; a saved config or a flag that uses one is refused with one clear line."""

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from aiducation.cli import main
from aiducation.errors import InputError
from aiducation.experiments.runs import check_unchanged, comparable_config
from aiducation.training.choices import LAST_COMMIT, RETIRED, RetiredOptionError
from aiducation.training.config import TrainConfig

from .test_commands import TINY

# as config.json files of runs saved before the options were retired hold them
AT_DEFAULT = {"teachers": [], "distill_weight": 0.0, "ema_decay": 0.0, "mixup_alpha": 0.0,
              "sam_rho": 0.0, "weight_seed": None}  # fmt: skip


def test_every_retired_option_is_gone_from_the_config() -> None:
    assert {r.field for r in RETIRED} == set(AT_DEFAULT)
    assert not set(AT_DEFAULT) & set(TrainConfig().to_dict())


def test_a_saved_config_with_retired_fields_at_their_default_loads() -> None:
    saved = {**TrainConfig(seed=2, lr=0.01).to_dict(), **AT_DEFAULT}
    assert TrainConfig.from_dict(saved) == TrainConfig(seed=2, lr=0.01)
    assert TrainConfig(seed=2, lr=0.01).same_run(saved)
    # --weight-seed equal to --seed drew the weights --seed draws now
    assert TrainConfig.from_dict({**saved, "weight_seed": 2}) == TrainConfig(seed=2, lr=0.01)


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("sam_rho", 0.05, "sam_rho=0.05 (sharpness-aware minimisation)"),
        ("mixup_alpha", 0.2, "mixup_alpha=0.2 (mixup)"),
        ("teachers", ["runs/a"], "teachers=['runs/a'] (distillation)"),
        ("ema_decay", 0.999, "ema_decay=0.999 (an exponential moving average"),
        ("weight_seed", 0, "weight_seed=0 (initial weights from their own seed)"),
    ],
)
def test_a_saved_config_that_used_a_retired_option_is_refused(field, value, words) -> None:
    saved = {**TrainConfig(seed=1).to_dict(), **AT_DEFAULT, field: value}
    with pytest.raises(RetiredOptionError) as caught:
        TrainConfig.from_dict(saved)
    message = str(caught.value)
    assert words in message and "retired in this version" in message
    assert f"commit {LAST_COMMIT}" in message and "\n" not in message
    assert isinstance(caught.value, InputError) and isinstance(caught.value, ValueError)


def test_several_used_options_are_named_in_one_line() -> None:
    with pytest.raises(RetiredOptionError, match=r"sam_rho=0.05 .*ema_decay=0.9 .*still has them"):
        TrainConfig.from_dict({"sam_rho": 0.05, "ema_decay": 0.9})


@pytest.mark.parametrize("flag", [r.flag for r in RETIRED])
@pytest.mark.parametrize(
    "command",
    [["train"], ["grid", "--models", "faceresnet_t"], ["kfold"], ["mitigate"]],
    ids=lambda c: c[0],
)
def test_a_retired_flag_is_one_error_line_and_exit_2(command, flag, capsys) -> None:
    with pytest.raises(SystemExit) as caught:
        main([*command, flag, "1"])
    assert caught.value.code == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {flag} (")
    assert "retired in this version" in lines[0] and LAST_COMMIT in lines[0]
    assert "usage:" not in captured.err and "Traceback" not in captured.err


def test_a_config_file_or_a_run_that_used_a_retired_option_is_one_error_line(
    prepared_dir: Path, tmp_path: Path, capsys
) -> None:
    used = tmp_path / "sam.json"
    used.write_text(json.dumps({"model": "faceresnet_t", "sam_rho": 0.05}))
    assert main(["train", "--data", str(prepared_dir), "--config", str(used)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: invalid training configuration: sam_rho=0.05")
    run = tmp_path / "old-sam-run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"train": {**AT_DEFAULT, "sam_rho": 0.05}}))
    assert main(["train", "--resume", str(run)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "sam_rho=0.05 (sharpness-aware minimisation)" in err[0]


def test_a_run_saved_with_retired_fields_at_default_resumes_bit_exactly(
    prepared_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aiducation.training import learner

    from .test_learner import InterruptAt

    data = ["--data", str(prepared_dir)]
    assert main(["train", *data, "--out", str(tmp_path / "full"), *TINY]) == 0
    run, real = tmp_path / "cut", learner.default_callbacks
    monkeypatch.setattr(learner, "default_callbacks", lambda *a: [InterruptAt(1), *real(*a)])
    assert main(["train", *data, "--out", str(run), *TINY]) == 130
    monkeypatch.setattr(learner, "default_callbacks", real)
    described = json.loads((run / "config.json").read_text())  # as an older version wrote it
    described["train"].update(AT_DEFAULT)
    (run / "config.json").write_text(json.dumps(described))
    state_file = run / "checkpoints" / "resume" / "state.json"
    state = json.loads(state_file.read_text())
    entries = dict(state["__dict__"])
    entries["config"]["__dict__"] += [[k, v] for k, v in AT_DEFAULT.items()]
    state["__dict__"].append(["ema", None])
    state_file.write_text(json.dumps(state))
    assert main(["train", "--resume", str(run), "--no-progress"]) == 0
    full = load_file(str(tmp_path / "full" / "checkpoints/last/model.safetensors"))
    cut = load_file(str(run / "checkpoints/last/model.safetensors"))
    for key in full:
        torch.testing.assert_close(cut[key], full[key], rtol=0, atol=0)
    # a checkpoint of a run that used a retired option still evaluates: it holds weights
    model_json = run / "checkpoints" / "best" / "model.json"
    saved = json.loads(model_json.read_text())
    saved["train_config"]["sam_rho"] = 0.05
    model_json.write_text(json.dumps(saved))
    evaluate = ["evaluate", "--checkpoint", str(run), *data, "--out", str(tmp_path / "eval")]
    assert main([*evaluate, "--device", "cpu"]) == 0


def test_an_experiment_folder_saved_with_retired_fields_continues(tmp_path: Path) -> None:
    config = TrainConfig(model="faceresnet_t", epochs=2)
    described = {"config": comparable_config(config), "data": "d"}
    (tmp_path / "grid.json").write_text(
        json.dumps({**described, "config": {**described["config"], **AT_DEFAULT}})
    )
    check_unchanged(tmp_path / "grid.json", described, ("config", "data"))  # no error
    (tmp_path / "grid.json").write_text(
        json.dumps({**described, "config": {**described["config"], "mixup_alpha": 0.2}})
    )
    with pytest.raises(ValueError, match=r"mixup_alpha=0\.2"):
        check_unchanged(tmp_path / "grid.json", described, ("config", "data"))
