"""Broken or hostile checkpoints: one clear ValueError naming the checkpoint (CLI: one line)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from aiducation.cli import main
from aiducation.models import checkpoint as checkpoint_module
from aiducation.models import create_model
from aiducation.models.checkpoint import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    load_checkpoint,
    save_checkpoint,
)


@pytest.fixture
def ckpt(tmp_path: Path) -> Path:
    model = create_model("faceresnet_t")
    classes = ["Angry", "Bored", "Focused", "Neutral"]
    return save_checkpoint(tmp_path / "ckpt", model, arch="faceresnet_t", arch_kwargs={},
                           classes=classes)  # fmt: skip


def edit_config(directory: Path, **changes: object) -> None:
    path = directory / CONFIG_FILE
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


def truncate(directory: Path) -> None:
    weights = directory / WEIGHTS_FILE
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])


BREAKAGES: dict[str, tuple[Callable[[Path], None], str]] = {
    "mismatched shapes": (lambda d: edit_config(d, arch_kwargs={"width": 24}), "does not fit"),
    "unknown kwarg": (lambda d: edit_config(d, arch_kwargs={"nope": 1}), "cannot build"),
    "truncated weights": (truncate, "cannot load"),
    "fewer classes than outputs": (
        lambda d: edit_config(d, classes=["Angry", "Bored", "Focused"]),
        "4 outputs but model.json names 3 classes",
    ),
    "classes not a list": (lambda d: edit_config(d, classes="Angry"), "'classes' must be"),
    "config not JSON": (lambda d: (d / CONFIG_FILE).write_text("{"), "not readable JSON"),
}


@pytest.mark.parametrize("case", list(BREAKAGES))
def test_broken_checkpoint_is_one_value_error(ckpt: Path, case: str) -> None:
    breakage, fragment = BREAKAGES[case]
    breakage(ckpt)
    with pytest.raises(ValueError, match=f"checkpoint {ckpt}") as info:
        load_checkpoint(ckpt)
    assert fragment in str(info.value)


def test_absurd_width_is_refused_before_any_weight_is_allocated(
    ckpt: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = checkpoint_module.create_model

    def only_on_meta(name: str, **kwargs):
        if kwargs.get("width", 0) > 10_000 and torch.get_default_device().type != "meta":
            raise AssertionError("built the real model before checking the weights' shapes")
        return real(name, **kwargs)

    monkeypatch.setattr(checkpoint_module, "create_model", only_on_meta)
    edit_config(ckpt, arch_kwargs={"width": 1_000_000})
    with pytest.raises(ValueError, match="does not fit 'faceresnet_t'"):
        load_checkpoint(ckpt)


@pytest.mark.parametrize("case", ["mismatched shapes", "truncated weights"])
@pytest.mark.parametrize("command", ["evaluate", "analyze", "bias"])
def test_cli_reports_a_broken_checkpoint_in_one_line(
    ckpt: Path, prepared_dir: Path, tmp_path: Path, capsys, command: str, case: str
) -> None:
    BREAKAGES[case][0](ckpt)
    out = ["--out", str(tmp_path / "out")]
    args = {
        "evaluate": ["--model", str(ckpt), "--data", str(prepared_dir)],
        "analyze": ["--model", str(ckpt), "--no-progress"],
        "bias": ["--checkpoint", str(ckpt), "--data", str(prepared_dir), "--attributes",
                 str(tmp_path / "age.csv"), "--trained-on", "train"],
    }[command]  # fmt: skip
    (tmp_path / "age.csv").write_text("image,age\nfer0000000.png,adult\n")
    assert main([command, *args, *out]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and str(ckpt) in err
    assert BREAKAGES[case][1] in err
    assert not (tmp_path / "out").exists()
