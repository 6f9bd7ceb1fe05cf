"""Device selection, per-trial GPUs and ``--device`` on every command, without a GPU.

CUDA and MPS are simulated by monkeypatching torch's availability checks; nothing here needs
either.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from aiducation import devices
from aiducation.cli import main
from aiducation.devices import (
    autocast_dtype,
    make_deterministic,
    resolve_device,
    trial_devices,
)
from aiducation.errors import InputError
from aiducation.experiments.backends import BackendConfig
from aiducation.experiments.grid import GridSpec
from aiducation.inference.classifier import FaceClassifier
from aiducation.models.checkpoint import load_checkpoint, save_checkpoint
from aiducation.models.predict import classify_batches, model_device
from aiducation.models.registry import create_model
from aiducation.training.config import TrainConfig
from aiducation.training.optim import use_bf16


def fake_machine(monkeypatch: pytest.MonkeyPatch, cuda: int = 0, mps: bool = False) -> None:
    """Pretend this machine has ``cuda`` CUDA GPUs and (or not) an Apple GPU."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: cuda)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(devices, "_mps_available", lambda: mps)


@pytest.mark.parametrize(
    ("cuda", "mps", "expected"),
    [(0, False, "cpu"), (0, True, "mps"), (2, True, "cuda:0"), (1, False, "cuda:0")],
)
def test_auto_picks_cuda_then_mps_then_cpu(monkeypatch, cuda, mps, expected) -> None:
    fake_machine(monkeypatch, cuda=cuda, mps=mps)
    assert resolve_device("auto") == torch.device(expected)
    assert resolve_device(" AUTO ") == torch.device(expected)


def test_named_devices_and_clear_errors_for_absent_ones(monkeypatch) -> None:
    fake_machine(monkeypatch, cuda=0)
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    with pytest.raises(ValueError, match="'cuda': this machine has no CUDA GPU"):
        resolve_device("cuda")
    with pytest.raises(ValueError, match="no Apple GPU"):
        resolve_device("mps")
    with pytest.raises(ValueError, match="expected auto, cpu, cuda, cuda:N or mps"):
        resolve_device("gpu")
    fake_machine(monkeypatch, cuda=2)
    assert resolve_device("cuda") == torch.device("cuda", 0)
    assert resolve_device("CUDA:1") == torch.device("cuda", 1)
    with pytest.raises(ValueError, match="'cuda:2': this machine has 2 CUDA device"):
        resolve_device("cuda:2")


def test_bf16_autocast_where_the_device_supports_it(monkeypatch) -> None:
    cuda = torch.device("cuda", 0)
    for supported in (True, False):
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda s=supported: s)
        dtype = torch.bfloat16 if supported else None
        assert autocast_dtype(cuda, True) is dtype
        assert use_bf16(TrainConfig(bf16="auto"), cuda) is supported
        assert use_bf16(TrainConfig(bf16="off"), cuda) is False
    assert autocast_dtype(cuda, False) is None
    assert use_bf16(TrainConfig(bf16="on"), torch.device("mps")) is False  # fp32 on MPS
    assert use_bf16(TrainConfig(bf16="on"), torch.device("cpu")) is True
    assert use_bf16(TrainConfig(bf16="off")) is False


def test_cudnn_is_made_deterministic_on_cuda_only(monkeypatch) -> None:
    monkeypatch.setattr(torch.backends.cudnn, "deterministic", False)
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", True)
    make_deterministic(torch.device("cpu"))
    assert (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark) == (False, True)
    make_deterministic(torch.device("cuda", 0))
    assert (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark) == (True, False)


def test_local_trials_spread_over_several_gpus(monkeypatch) -> None:
    fake_machine(monkeypatch, cuda=3)
    assert trial_devices("cuda", 5, workers=4) == ["cuda:0", "cuda:1", "cuda:2", "cuda:0", "cuda:1"]
    assert trial_devices("auto", 2, workers=2) == ["cuda:0", "cuda:1"]
    assert trial_devices("cuda", 3, workers=1) == ["cuda"] * 3  # one at a time: the first GPU
    assert trial_devices("cuda:2", 2, workers=2) == ["cuda:2"] * 2  # a named GPU: all on it
    assert trial_devices("cpu", 2, workers=2) == ["cpu"] * 2
    fake_machine(monkeypatch, cuda=1)
    assert trial_devices("cuda", 3, workers=3) == ["cuda"] * 3  # several trials on one GPU
    fake_machine(monkeypatch, cuda=0)
    assert trial_devices("auto", 2, workers=2) == ["auto"] * 2


def test_ray_trials_run_on_the_gpu_ray_reserved() -> None:
    assert trial_devices("auto", 2, ray=True, ray_gpus=0.5) == ["cuda", "cuda"]
    assert trial_devices("cuda", 1, ray=True, ray_gpus=1) == ["cuda"]
    assert trial_devices("auto", 1, ray=True) == ["cpu"]  # no GPU reserved: none taken
    with pytest.raises(ValueError, match="needs GPUs reserved per trial"):
        trial_devices("cuda", 1, ray=True)
    with pytest.raises(ValueError, match="runs on its own 'cuda'"):
        trial_devices("cpu", 1, ray=True, ray_gpus=1)


def test_grid_trials_record_their_gpu(monkeypatch, tmp_path: Path) -> None:
    fake_machine(monkeypatch, cuda=2)
    spec = GridSpec(
        models=["B4_N1_FC1_K3_AP4", "B4_N2_FC2_K5_AP4", "B4_N1_FC1_K5_AP4"],
        config=TrainConfig(device="cuda"),
        data=tmp_path,
        out=tmp_path / "grid",
        backend=BackendConfig(workers=3),
    )
    assert [t.config["device"] for t in spec.trials()] == ["cuda:0", "cuda:1", "cuda:0"]


def test_train_config_device_is_checked_and_ignored_when_resuming() -> None:
    assert TrainConfig(device=" CUDA:1 ").device == "cuda:1"  # a name; resolved when training
    with pytest.raises(ValueError, match="device 'gpu'"):
        TrainConfig(device="gpu")
    saved = TrainConfig(device="cuda", seed=3).to_dict()
    assert TrainConfig(device="cpu", seed=3).same_run(saved)
    assert not TrainConfig(device="cpu", seed=4).same_run(saved)
    old = {k: v for k, v in saved.items() if k != "device"}  # written before the field existed
    assert TrainConfig.from_dict(old).device == "auto" and TrainConfig(seed=3).same_run(old)


def tiny_checkpoint(directory: Path) -> Path:
    torch.manual_seed(0)
    model = create_model("faceresnet_t", num_classes=4, width=8).eval()
    kwargs = {"num_classes": 4, "width": 8}
    return save_checkpoint(directory, model, arch="faceresnet_t", arch_kwargs=kwargs,
                           classes=["a", "b", "c", "d"])  # fmt: skip


def test_checkpoints_load_on_the_requested_device(monkeypatch, tmp_path: Path) -> None:
    fake_machine(monkeypatch, cuda=0)
    path = tiny_checkpoint(tmp_path / "ckpt")
    assert "device" not in json.loads((path / "model.json").read_text())
    for device in ("auto", "cpu", torch.device("cpu")):
        model = load_checkpoint(path, device=device).model
        assert model_device(model) == torch.device("cpu")
    with pytest.raises(ValueError, match="'cuda:1': this machine has no CUDA GPU"):
        load_checkpoint(path, device="cuda:1")
    with pytest.raises(InputError, match="--device: device 'mps'"):
        FaceClassifier.load(path, device="mps")
    classifier = FaceClassifier.load(path, device="auto")
    faces = torch.randint(0, 256, (5, 48, 48), dtype=torch.uint8).numpy()
    assert classifier.predict_proba(faces).shape == (5, 4)


def test_predictions_come_back_to_the_cpu(tmp_path: Path) -> None:
    model = load_checkpoint(tiny_checkpoint(tmp_path / "ckpt")).model
    faces = torch.randint(0, 256, (7, 48, 48), dtype=torch.uint8)
    probs, extra = classify_batches(model, faces, 4, batch_size=3)
    assert probs.device.type == "cpu" and probs.shape == (7, 4) and extra is None
    torch.testing.assert_close(probs.sum(dim=1), torch.ones(7))
    assert model_device(nn.Identity()) == torch.device("cpu")  # no weights: the CPU


@pytest.mark.parametrize(
    "command",
    [
        ["train", "--model", "faceresnet_t"],
        ["grid", "--models", "B4_N1_FC1_K3_AP4"],
        ["kfold", "--model", "B4_N1_FC1_K3_AP4"],
        ["mitigate", "--attributes", "missing.csv"],
        ["evaluate"],
        ["bias", "--checkpoint", "run", "--attributes", "missing.csv"],
        ["analyze"],
        ["serve"],
    ],
)
@pytest.mark.parametrize(
    ("device", "message"),
    [("cuda:7", "device 'cuda:7': this machine has no CUDA GPU"), ("gpu", "expected auto, cpu")],
)
def test_every_command_refuses_an_absent_device_in_one_line(
    command, device, message, monkeypatch, prepared_dir: Path, tmp_path: Path, capsys
) -> None:
    fake_machine(monkeypatch, cuda=0)
    monkeypatch.chdir(tmp_path)
    where = [] if command[0] in ("analyze", "serve") else ["--out", str(tmp_path / "out")]
    data = ["--data", str(prepared_dir)] if command[0] not in ("analyze", "serve") else []
    assert main([*command, *data, *where, "--device", device]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and "device" in err[-1] and message in err[-1]
