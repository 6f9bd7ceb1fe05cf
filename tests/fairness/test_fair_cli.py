"""``aiducation bias`` end to end: inputs, held-out refusal, outputs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from fairworld import CLASSES, synthetic_predictions

from aiducation.cli import main
from aiducation.data.dataset import load_prepared
from aiducation.errors import InputError
from aiducation.fairness.inputs import read_attributes

FAST = ["--bootstrap", "200", "--permutations", "300", "--no-intersections"]


def write_inputs(tmp_path, gap=True, extra=None):
    accuracy = {"adult": 0.8, "child": 0.6} if gap else None
    y_true, y_pred, attrs = synthetic_predictions(n=800, accuracy=accuracy)
    names = [f"fer{i:07d}.png" for i in range(len(y_true))]
    predictions = pd.DataFrame(
        {
            "image_name": names,
            "label": [CLASSES[k] for k in y_true],
            "predicted": [CLASSES[k] for k in y_pred],
            **(extra or {}),
        }
    )
    predictions.to_csv(tmp_path / "pred.csv", index=False)
    table = attrs.assign(image=names, split="Train")[["image", "split", "age", "gender"]]
    table.loc[::5, "gender"] = ""  # missing values
    table.to_csv(tmp_path / "attrs.csv", index=False)
    return tmp_path / "pred.csv", tmp_path / "attrs.csv"


def test_bias_cli_writes_tables_plots_and_detects_gap(tmp_path, capsys):
    pred, attrs = write_inputs(tmp_path, extra={"fold": np.arange(800) % 5})
    out = tmp_path / "report"
    code = main(["bias", "--predictions", str(pred), "--attributes", str(attrs), "--out", str(out)])
    assert code == 0
    assert "age: accuracy gap" in capsys.readouterr().out
    for name in ("groups.csv", "gaps.csv", "distribution.csv", "table_3_3.csv", "report.md"):
        assert (out / name).is_file(), name
    assert (out / "plots" / "distribution_age.png").stat().st_size > 1000
    assert (out / "plots" / "metrics_age_x_gender.png").is_file()
    report = json.loads((out / "report.json").read_text())
    age = next(g for g in report["gaps"] if g["attribute"] == "age" and g["metric"] == "accuracy")
    assert age["significant"] and age["worst_group"] == "child"
    assert "out-of-fold" in report["inputs"]["held_out"]
    table = pd.read_csv(out / "table_3_3.csv")
    assert {"split"}.isdisjoint(table["attribute"])  # bookkeeping column is not an attribute
    assert "Table 3.3" in (out / "report.md").read_text()


def test_bias_cli_refuses_unknown_or_training_images(tmp_path, capsys):
    pred, attrs = write_inputs(tmp_path, gap=False)
    args = ["bias", "--predictions", str(pred), "--attributes", str(attrs), *FAST]
    assert main([*args, "--out", str(tmp_path / "a")]) == 2
    assert "cannot tell whether" in capsys.readouterr().err
    assert not (tmp_path / "a").exists()
    assert main([*args, "--out", str(tmp_path / "b"), "--assume-held-out"]) == 0

    in_training = np.zeros(800, bool)
    in_training[[3, 7]] = True
    pred, attrs = write_inputs(tmp_path, extra={"in_training": in_training})
    assert main([*args, "--out", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert "2 of 800 annotated images were in the model's training set" in err
    assert "fer0000003.png" in err
    assert main([*args, "--out", str(tmp_path / "d"), "--force"]) == 0
    report = json.loads((tmp_path / "d" / "report.json").read_text())
    assert "included by --force" in report["inputs"]["held_out"]


def save_untrained_checkpoint(run_dir):
    import torch

    from aiducation.models.checkpoint import save_checkpoint
    from aiducation.models.registry import create_model

    torch.manual_seed(0)
    model = create_model("faceresnet_t", num_classes=4)
    save_checkpoint(
        run_dir / "checkpoints" / "best",
        model,
        arch="faceresnet_t",
        arch_kwargs={"num_classes": 4},
        classes=CLASSES,
    )


def test_bias_cli_from_checkpoint_uses_split_file_or_declared_splits(tmp_path, prepared_dir):
    dataset = load_prepared(prepared_dir)
    run = tmp_path / "run"
    save_untrained_checkpoint(run)
    meta = dataset.meta
    rng = np.random.default_rng(0)
    attrs = pd.DataFrame(
        {"image": meta["image_name"], "age": rng.choice(["adult", "child"], len(meta))}
    )
    attrs.to_csv(tmp_path / "attrs.csv", index=False)
    args = ["bias", "--checkpoint", str(run), "--data", str(prepared_dir), "--device", "cpu"]
    args += ["--attributes", str(tmp_path / "attrs.csv"), "--min-group-size", "5", *FAST]
    assert main([*args, "--out", str(tmp_path / "unknown")]) == 2

    # Declared: the model trained on the train split, so train images are refused ...
    assert main([*args, "--out", str(tmp_path / "x"), "--trained-on", "train"]) == 2
    # ... and an attribute file restricted to val/test images is accepted.
    held = attrs[meta["split"] != "train"]
    held.to_csv(tmp_path / "held.csv", index=False)
    args[args.index(str(tmp_path / "attrs.csv"))] = str(tmp_path / "held.csv")
    out = tmp_path / "ok"
    assert main([*args, "--out", str(out), "--trained-on", "train"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["overall"]["n"] == len(held)

    # A run's split.csv says exactly which images were trained on.
    roles = np.where(meta["split"] == "test", "bias_test", "train")
    pd.DataFrame({"index": meta["index"], "image_name": meta["image_name"], "role": roles}).to_csv(
        run / "split.csv", index=False
    )
    assert main([*args, "--out", str(tmp_path / "x2")]) == 2  # val images were trained on
    test_only = attrs[meta["split"] == "test"]
    test_only.to_csv(tmp_path / "held.csv", index=False)
    assert main([*args, "--out", str(out)]) == 2  # an existing report needs --overwrite
    assert main([*args, "--out", str(out), "--overwrite"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["overall"]["n"] == len(test_only) and "split.csv" in report["inputs"]["held_out"]


def test_read_attributes_errors_and_keys(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("name,age\nfer1.png,adult\n")
    with pytest.raises(InputError, match="no id column 'image'"):
        read_attributes(path)
    path.write_text("image,age\nfer1.png,adult\nFER2013Train/fer1.png,child\n")
    with pytest.raises(InputError, match=r"'fer1' has conflicting values in rows \[2, 3\]"):
        read_attributes(path)
    path.write_text("image,split,age,gender\nfer1.png,Train,adult,\nfer2,Valid, child ,female\n")
    table = read_attributes(path)
    assert list(table.columns) == ["age", "gender"]
    assert table.loc["fer2", "age"] == "child" and pd.isna(table.loc["fer1", "gender"])
    with pytest.raises(InputError, match="no attribute column height"):
        read_attributes(path, attributes=["height"])


@pytest.mark.parametrize(
    ("extra", "declared"),
    [
        ({"train_config": {"model": "faceresnet_t"}}, []),  # its model.json says: official split
        (
            {"other_threshold_rule": "best five-way accuracy on the val split's faces"},
            ["--trained-on", "train"],
        ),
    ],
)
def test_images_that_chose_the_checkpoint_are_never_held_out(
    tmp_path, prepared_dir, extra, declared
):
    """Validation images chose the checkpoint and its Other threshold: with --held-out-only
    they are dropped too, not reported as if held out."""
    from aiducation.models import create_model
    from aiducation.models.checkpoint import save_checkpoint

    meta = load_prepared(prepared_dir).meta
    run = tmp_path / "run"
    save_checkpoint(run / "checkpoints" / "best", create_model("faceresnet_t", num_classes=4),
                    arch="faceresnet_t", arch_kwargs={"num_classes": 4}, classes=CLASSES,
                    **extra)  # fmt: skip
    held = meta["split"] != "train"  # val and test images annotated
    pd.DataFrame({"image": meta["image_name"][held], "age": "adult"}).to_csv(
        tmp_path / "attrs.csv", index=False
    )
    out = tmp_path / "out"
    args = ["bias", "--checkpoint", str(run), "--data", str(prepared_dir), "--device", "cpu",
            "--attributes", str(tmp_path / "attrs.csv"), "--min-group-size", "5", *FAST,
            *declared, "--out", str(out)]  # fmt: skip
    assert main(args) == 2  # val images were used
    assert main([*args, "--held-out-only"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["overall"]["n"] == int((meta["split"] == "test").sum())
