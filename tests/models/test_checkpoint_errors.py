"""Broken or hostile checkpoints: one clear ValueError naming the checkpoint (CLI: one line)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from aiducation.cli import main
from aiducation.models import checkpoint as checkpoint_module
from aiducation.models import create_model
from aiducation.models.checkpoint import (
    MODEL_CONFIG_FILE,
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
    path = directory / MODEL_CONFIG_FILE
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


def truncate(directory: Path) -> None:
    weights = directory / WEIGHTS_FILE
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])


def edit_weights(directory: Path, edit: Callable[[dict[str, torch.Tensor]], None]) -> None:
    """Rewrite ``model.safetensors`` after ``edit`` changed its tensors in place."""
    weights = directory / WEIGHTS_FILE
    state = load_file(str(weights))
    edit(state)
    save_file(state, str(weights))


def first_weight(state: dict[str, torch.Tensor]) -> str:
    return next(k for k, v in state.items() if v.is_floating_point() and v.ndim == 4)


def retype(dtype: torch.dtype, pick: Callable[[dict], str] = first_weight):
    """A breakage storing one tensor as ``dtype`` (load_state_dict's copy_ would cast it)."""

    def edit(state: dict[str, torch.Tensor]) -> None:
        name = pick(state)
        state[name] = state[name].to(dtype)

    return lambda d: edit_weights(d, edit)


def fill(value: float, every: bool = True):
    """A breakage writing ``value`` into every floating tensor, or into one running_var."""

    def edit(state: dict[str, torch.Tensor]) -> None:
        for name, tensor in state.items():
            if tensor.is_floating_point() and every:
                tensor.fill_(value)
            elif name.endswith("running_var"):
                tensor.view(-1)[0] = value
                return

    return lambda d: edit_weights(d, edit)


def batches_tracked(state: dict) -> str:
    return next(k for k in state if k.endswith("num_batches_tracked"))


BREAKAGES: dict[str, tuple[Callable[[Path], None], str]] = {
    "mismatched shapes": (lambda d: edit_config(d, arch_kwargs={"width": 24}), "does not fit"),
    "unknown kwarg": (lambda d: edit_config(d, arch_kwargs={"nope": 1}), "cannot build"),
    "truncated weights": (truncate, "cannot load"),
    "fewer classes than outputs": (
        lambda d: edit_config(d, classes=["Angry", "Bored", "Focused"]),
        "4 outputs but model.json names 3 classes",
    ),
    "classes not a list": (lambda d: edit_config(d, classes="Angry"), "'classes' must be"),
    "config not JSON": (lambda d: (d / MODEL_CONFIG_FILE).write_text("{"), "not readable JSON"),
    # issue 34: loaded and answered before
    "int32 weights": (retype(torch.int32), "weight is stored as I32, the model needs F32"),
    "half weights": (retype(torch.float16), "weight is stored as F16, the model needs F32"),
    "float step count": (
        retype(torch.float32, batches_tracked),
        "num_batches_tracked is stored as F32, the model needs I64",
    ),
    "all weights NaN": (fill(float("nan")), "non-finite values (NaN or infinity) of"),
    "one infinite variance": (fill(float("inf"), every=False), "running_var holds 1 non-finite"),
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


@pytest.mark.parametrize(
    "case", ["mismatched shapes", "truncated weights", "int32 weights", "all weights NaN"]
)
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


def test_damaged_weights_name_the_file_and_the_tensor(ckpt: Path) -> None:
    state = load_file(str(ckpt / WEIGHTS_FILE))
    name = first_weight(state)
    edit_weights(ckpt, lambda s: s[name].view(-1)[:3].fill_(float("nan")))
    with pytest.raises(ValueError) as info:
        load_checkpoint(ckpt)
    assert str(info.value) == (
        f"checkpoint {ckpt}: {WEIGHTS_FILE}: {name} holds 3 non-finite values (NaN or infinity) "
        f"of {state[name].numel():,}; the weights are damaged (did the training diverge?)"
    )
    fill(float("nan"))(ckpt)
    with pytest.raises(ValueError, match=r"of [\d,]+ \(and \d+ more tensors\); the weights"):
        load_checkpoint(ckpt)


def test_int32_weights_are_refused_before_any_weight_is_read(
    ckpt: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The header's dtype is checked with the shapes, before the weights are loaded."""
    retype(torch.int32)(ckpt)

    def refuse(*args, **kwargs):
        raise AssertionError("weights read before their dtypes were checked")

    monkeypatch.setattr(checkpoint_module, "load_file", refuse)
    with pytest.raises(ValueError, match=rf"checkpoint {ckpt}: {WEIGHTS_FILE} does not fit"):
        load_checkpoint(ckpt)


def test_a_sound_checkpoint_loads_with_the_same_weights(ckpt: Path) -> None:
    saved = load_file(str(ckpt / WEIGHTS_FILE))
    loaded = load_checkpoint(ckpt).model.state_dict()
    assert saved.keys() == loaded.keys()
    for name, tensor in saved.items():
        assert loaded[name].dtype == tensor.dtype and torch.equal(loaded[name], tensor), name
