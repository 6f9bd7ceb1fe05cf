"""One mapping from flags to TrainConfig, self-contained checkpoints, one predictions schema."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import pandas as pd
import pytest
import torch

from aiducation.cli import build_parser
from aiducation.data.augment import AugmentConfig
from aiducation.fairness.inputs import read_predictions
from aiducation.models import create_model, has_aux_head
from aiducation.models.checkpoint import (
    LEGACY_MEAN,
    LEGACY_STD,
    MODEL_CONFIG_FILE,
    load_checkpoint,
    save_checkpoint,
)
from aiducation.models.layers import Normalize
from aiducation.training.config import TrainConfig
from aiducation.training.flags import TRAIN_FLAGS, config_from_args

CLASSES = ["Angry", "Bored", "Focused", "Neutral"]


def test_every_training_flag_sets_a_config_field() -> None:
    config_fields = {f.name for f in fields(TrainConfig)}
    augment_fields = {f.name for f in fields(AugmentConfig)}
    for flag in TRAIN_FLAGS:
        head, _, tail = flag.field.partition(".")
        assert head in config_fields, flag
        assert not tail or tail in augment_fields, flag


def test_train_grid_kfold_and_mitigate_read_the_same_flags_alike(tmp_path: Path) -> None:
    file = tmp_path / "train.json"
    file.write_text(json.dumps({"train": {"lr": 0.01, "augment": {"max_rotate": 3.0}}}))
    flags = ["--config", str(file), "--epochs", "3", "--lr", "0.005", "--erase", "0.2", "--tta",
             "--label-smoothing", "0.1", "--model-arg", "width=8", "--no-progress"]  # fmt: skip
    commands = {
        "train": ["train", "--model", "faceresnet_t"],
        "grid": ["grid", "--models", "faceresnet_t"],
        "kfold": ["kfold", "--model", "faceresnet_t"],
        "mitigate": ["mitigate", "--attributes", "a.csv", "--model", "faceresnet_t"],
    }
    parser = build_parser()
    configs = {
        name: config_from_args(parser.parse_args([*argv, *flags]), model="faceresnet_t")
        for name, argv in commands.items()
    }
    expected = TrainConfig(
        model="faceresnet_t", model_kwargs={"width": 8}, epochs=3, lr=0.005,
        label_smoothing=0.1, augment=AugmentConfig(max_rotate=3.0, erase_prob=0.2),
        tta_flip=True, progress=False,
    )  # fmt: skip
    for name, config in configs.items():
        assert config == expected, name
    mitigate = parser.parse_args([*commands["mitigate"], "--seed", "4", "--train-seed", "7"])
    assert mitigate.seed == 4 and config_from_args(mitigate).seed == 7


def test_checkpoints_carry_their_input_statistics(tmp_path: Path) -> None:
    model = create_model("faceresnet_t", mean=0.3, std=0.2)
    path = save_checkpoint(tmp_path / "ckpt", model, arch="faceresnet_t", arch_kwargs={},
                           classes=CLASSES)  # fmt: skip
    saved = json.loads((path / MODEL_CONFIG_FILE).read_text())
    assert (saved["arch_kwargs"]["mean"], saved["arch_kwargs"]["std"]) == (0.3, 0.2)
    layer = next(m for m in load_checkpoint(path).model.modules() if isinstance(m, Normalize))
    assert (layer.mean, layer.std) == (0.3, 0.2)
    # a checkpoint written before model.json held them gets the constants of that time
    saved["arch_kwargs"] = {}
    (path / MODEL_CONFIG_FILE).write_text(json.dumps(saved))
    layer = next(m for m in load_checkpoint(path).model.modules() if isinstance(m, Normalize))
    assert (layer.mean, layer.std) == (LEGACY_MEAN, LEGACY_STD) == (0.5077, 0.2550)


def test_bundled_model_states_its_input_statistics() -> None:
    checkpoint = load_checkpoint(None)
    kwargs = checkpoint.config["arch_kwargs"]
    assert (kwargs["mean"], kwargs["std"]) == (LEGACY_MEAN, LEGACY_STD)


def test_auxiliary_head_is_a_declared_capability() -> None:
    assert has_aux_head("faceresnet_s") and has_aux_head("faceresnet_t")
    assert not has_aux_head("B16_N8_FC2_K5_AP20")
    x = torch.zeros(2, 1, 48, 48)
    logits, aux = create_model("faceresnet_t", aux_classes=8).eval().forward_with_aux(x)
    assert logits.shape == (2, 4) and aux.shape == (2, 8)


def test_predictions_schema_and_old_predictions_files(tmp_path: Path) -> None:
    new = pd.DataFrame({"index": [0, 1], "image_name": ["a.png", "b.png"],
                        "y_true": ["Angry", "Bored"], "y_pred": ["Angry", "Neutral"],
                        "p_Angry": [0.9, 0.1]})  # fmt: skip
    old = new.rename(columns={"y_true": "label", "y_pred": "predicted"})
    for name, frame in (("new", new), ("old", old)):
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
        read = read_predictions(tmp_path / f"{name}.csv", CLASSES)
        assert read["y_true"].tolist() == [0, 1] and read["y_pred"].tolist() == [0, 3], name
    new.drop(columns="y_pred").to_csv(tmp_path / "broken.csv", index=False)
    with pytest.raises(Exception, match="no predicted label column; expected one of y_pred"):
        read_predictions(tmp_path / "broken.csv", CLASSES)


def test_checkpoint_flag_and_its_old_spelling() -> None:
    parser = build_parser()
    for command in ("evaluate", "analyze", "serve"):
        for flag in ("--checkpoint", "--model"):
            assert parser.parse_args([command, flag, "runs/x"]).checkpoint == "runs/x"
    args = parser.parse_args(["bias", "--attributes", "a.csv", "--checkpoint", "runs/x"])
    assert args.checkpoint == "runs/x" and args.out == "runs/bias"
    assert parser.parse_args(["evaluate"]).checkpoint is None  # the bundled model
