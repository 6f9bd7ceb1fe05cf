"""Mitigation strategies, the annotated hold-out split and ``aiducation mitigate`` end to end."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

import aiducation.models.checkpoint as checkpoint_module
from aiducation.cli import main
from aiducation.data.dataset import load_prepared
from aiducation.fairness.experiment import group_values
from aiducation.fairness.holdout import annotated_folds, holdout_indices
from aiducation.fairness.inputs import read_attributes
from aiducation.fairness.mitigate import (
    MitigationInputs,
    balance_weights,
    get_strategy,
    group_log_prior_shift,
    joint_groups,
    list_strategies,
)


def test_registry_lists_strategies_and_rejects_unknown():
    assert {"none", "reweight", "oversample", "group_prior"} <= set(list_strategies())
    with pytest.raises(ValueError, match="unknown mitigation strategy 'magic'"):
        get_strategy("magic")


def test_balance_weights_equalise_group_totals():
    groups = pd.Series(["adult"] * 6 + ["child"] * 2 + [np.nan] * 2).to_frame("age")
    weights = balance_weights(groups, np.arange(10))
    np.testing.assert_allclose(weights, [1] * 6 + [3, 3] + [1, 1])
    assert weights[:6].sum() == weights[6:8].sum()
    inputs = MitigationInputs(np.zeros(10, int), groups, np.arange(10), 4)
    assert get_strategy("oversample")(inputs).sampler_weights[7] == 3
    assert get_strategy("reweight")(inputs).sample_weights[7] == 3
    assert not get_strategy("none")(inputs).retrains


def test_balance_weights_rake_two_attributes_until_both_balance():
    rng = np.random.default_rng(0)
    age = rng.choice(["adult", "child"], 400, p=[0.8, 0.2])
    gender = np.where(rng.random(400) < np.where(age == "child", 0.3, 0.6), "male", "female")
    gender = np.where(rng.random(400) < 0.2, None, gender)  # some faces: "cannot tell"
    groups = pd.DataFrame({"age": age, "gender": gender})
    groups.loc[:9] = np.nan  # not annotated: weight 1
    weights = balance_weights(groups, np.arange(400))
    np.testing.assert_allclose(weights[:10], 1)
    for column in groups:
        totals = pd.Series(weights).groupby(groups[column]).sum()
        np.testing.assert_allclose(totals.min() / totals.max(), 1, atol=1e-3)
    cells = balance_weights(joint_groups(groups).to_frame(), np.arange(400))
    assert weights.max() < cells.max()  # raking stays closer to even than balancing cells


def test_group_prior_moves_predictions_towards_the_group_class_mix():
    labels = np.array([0] * 50 + [1] * 50 + [1] * 18 + [0] * 2)
    groups = pd.Series(["adult"] * 100 + ["child"] * 20)
    shifts = group_log_prior_shift(labels, groups, np.arange(120), 4)
    assert shifts["child"][1] > 0 > shifts["child"][0]
    mitigation = get_strategy("group_prior")(MitigationInputs(labels, groups, np.arange(120), 4))
    proba = np.tile([[0.55, 0.45, 0.0, 0.0]], (2, 1))
    adjusted = mitigation.adjust(proba, np.array([0, 110]))  # an adult row, a child row
    assert adjusted.argmax(1).tolist() == [0, 1]
    np.testing.assert_allclose(adjusted.sum(1), 1.0)


def annotate_half(dataset, seed=0):
    meta = dataset.meta
    rng = np.random.default_rng(seed)
    rows = meta[meta["split"] != "test"].index
    age = pd.Series(np.nan, index=meta.index, dtype=object)
    age[rows] = rng.choice(["adult", "child"], len(rows), p=[0.7, 0.3])
    return age


def test_annotated_folds_and_holdout_keep_reserved_images_and_duplicates_out(prepared_dir):
    dataset = load_prepared(prepared_dir)
    dataset.meta.loc[[0, 1, 2], "dup_group"] = 999_999  # three copies of one face
    dataset.meta.loc[[0, 1, 2], "split"] = ["train", "train", "val"]
    groups = annotate_half(dataset)
    groups[[1, 2]] = np.nan  # only one copy is annotated
    groups[0] = "child"
    folds = annotated_folds(dataset, groups, k=2, seed=0)
    annotated = np.flatnonzero(groups.notna())
    assert sorted(np.concatenate(folds).tolist()) == annotated.tolist()
    assert not set(folds[0]) & set(folds[1])
    assert abs(len(folds[0]) - len(folds[1])) <= 8  # at most one per class × group stratum
    fold = next(f for f in folds if 0 in f)
    train_idx, val_idx, excluded = holdout_indices(dataset, fold)
    used = set(train_idx) | set(val_idx)
    assert not used & set(fold)
    assert {1, 2} <= set(excluded) and not used & {1, 2}
    assert not used & set(dataset.split_indices("test"))


def test_mitigate_cli_end_to_end_then_bias_on_its_checkpoint(tmp_path, prepared_dir, capsys):
    dataset = load_prepared(prepared_dir)
    age = annotate_half(dataset)
    keep = age.notna()
    attrs = pd.DataFrame({"image": dataset.meta["image_name"][keep], "age": age[keep]})
    attrs.to_csv(tmp_path / "age.csv", index=False)
    train = {"model": "faceresnet_t", "epochs": 1, "progress": False, "batch_size": 32}
    (tmp_path / "train.json").write_text(json.dumps(train))
    out = tmp_path / "mitigate"
    args = ["mitigate", "--attributes", str(tmp_path / "age.csv"), "--data", str(prepared_dir)]
    args += ["--out", str(out), "--config", str(tmp_path / "train.json"), "--threads", "1"]
    args += ["--device", "cpu"]
    args += ["--strategy", "oversample", "group_prior", "--min-group-size", "5"]
    args += ["--bootstrap", "100", "--permutations", "100"]
    assert main(args) == 0
    assert "group_prior on official test" in capsys.readouterr().out

    report = out / "report"
    table = pd.read_csv(report / "table_3_4.csv")
    assert set(table["model"]) == {"none", "oversample", "group_prior"}
    assert set(table["group"]) == {"adult", "child", "average"}
    predictions = pd.read_csv(report / "predictions.csv")
    reserved = set(predictions["image_name"])
    split = pd.read_csv(out / "fold0" / "split.csv")
    assert not reserved & set(split.loc[split["role"].isin(["train", "val"]), "image_name"])
    assert reserved == set(split.loc[split["role"] == "bias_test", "image_name"])
    deltas = pd.read_csv(report / "deltas.csv")
    assert {"oversample", "group_prior"} == set(deltas["model"])
    assert (deltas["delta_ci_low"] <= deltas["delta"] + 1e-9).all()
    cost = pd.read_csv(report / "cost.csv")
    assert set(cost["images"]) == {"reserved annotated", "official test"}
    official = cost[(cost["images"] == "official test") & (cost["model"] == "group_prior")]
    assert (official["delta"] == 0).all()  # unannotated images are not post-processed
    assert (report / "plots" / "before_after_age.png").is_file()
    assert json.loads((out / "mitigate.json").read_text())["strategies"] == [
        "oversample",
        "group_prior",
    ]
    assert (out / "fold0" / "oversample" / "checkpoints" / "best" / "model.json").is_file()

    # `bias` on the baseline checkpoint: the annotated training half is refused ...
    bias = ["bias", "--checkpoint", str(out / "fold0" / "none"), "--data", str(prepared_dir)]
    bias += ["--min-group-size", "5", "--bootstrap", "100", "--permutations", "100"]
    bias += ["--no-intersections"]
    all_half = ["--attributes", str(tmp_path / "age.csv"), "--out", str(tmp_path / "b")]
    assert main([*bias, *all_half]) == 2
    assert main([*bias, *all_half, "--held-out-only"]) == 0
    kept = json.loads((tmp_path / "b" / "report.json").read_text())
    assert kept["overall"]["n"] == len(predictions) and "dropped" in kept["inputs"]["held_out"]
    # ... the reserved half is accepted, and matches the experiment's baseline predictions.
    attrs[attrs["image"].isin(reserved)].to_csv(tmp_path / "held.csv", index=False)
    held = ["--attributes", str(tmp_path / "held.csv"), "--out", str(tmp_path / "b"), "--overwrite"]
    assert main([*bias, *held]) == 0
    groups = pd.read_csv(tmp_path / "b" / "groups.csv").set_index("group")
    base = table[table["model"] == "none"].set_index("group")
    assert groups.loc["child", "accuracy"] == pytest.approx(base.loc["child", "accuracy"])


def test_group_values_blank_for_unannotated_and_repeated_names(prepared_dir, tmp_path):
    dataset = load_prepared(prepared_dir)
    dataset.meta.loc[5, "image_name"] = dataset.meta.loc[4, "image_name"]
    path = tmp_path / "a.csv"
    path.write_text(f"image,age\n{dataset.meta.loc[4, 'image_name']},child\n")
    values = group_values(dataset, read_attributes(path), "age")
    assert values[4] == "child" and pd.isna(values[5]) and values.notna().sum() == 1


def test_train_reserve_holds_annotated_images_out_then_bias_accepts_them(tmp_path, prepared_dir):
    """`train --reserve` (the bias study's model): no annotated face, labelled or unlabelled,
    nor any duplicate is trained or chosen on; `bias` then accepts all of them as held out."""
    unlabelled_csv = pd.read_csv(prepared_dir / "unlabelled.csv", keep_default_na=False)
    # the fixture's unlabelled names repeat labelled ones; real FER+ names are unique
    unlabelled_csv["image_name"] = [f"fer9{i:06d}.png" for i in range(len(unlabelled_csv))]
    unlabelled_csv.to_csv(prepared_dir / "unlabelled.csv", index=False)
    dataset = load_prepared(prepared_dir)
    meta = dataset.meta
    annotated = meta[meta["split"] != "test"].iloc[::3]
    unlabelled = dataset.unlabelled.meta
    first_val = meta.loc[meta["split"] == "val", "image_name"].iloc[0]  # copied by unlabelled 0
    reserved_unlabelled = unlabelled["image_name"].iat[5]
    names = list(dict.fromkeys([*annotated["image_name"], first_val, reserved_unlabelled]))
    attrs = pd.DataFrame({"image": names, "age": np.resize(["adult", "child"], len(names))})
    attrs.iloc[: len(names) // 2].to_csv(tmp_path / "a.csv", index=False)
    attrs.iloc[len(names) // 2 :].to_csv(tmp_path / "b.csv", index=False)
    run = tmp_path / "run"
    tiny = ["--model", "faceresnet_t", "--model-arg", "width=8", "--epochs", "1",
            "--batch-size", "16", "--threads", "1", "--no-progress", "--aux-weight", "1",
            "--aux-unlabelled", "--other-class", "--device", "cpu"]  # fmt: skip
    reserve = ["--reserve", str(tmp_path / "a.csv"), str(tmp_path / "b.csv")]
    assert main(["train", "--data", str(prepared_dir), "--out", str(run), *tiny, *reserve]) == 0
    split = pd.read_csv(run / "split.csv")
    held = set(split.loc[split["role"] == "bias_test", "image_name"])
    assert held == set(names) - {reserved_unlabelled}  # split.csv: labelled rows only
    used = split["role"].isin(["train", "val"])
    assert not held & set(split.loc[used, "image_name"])
    described = json.loads((run / "config.json").read_text())
    n_val = int((meta["split"] == "val").sum()) - int(
        (meta["image_name"].isin(names) & (meta["split"] == "val")).sum()
    )
    assert described["n_val"] == n_val
    assert described["n_train"] == int((split["role"] == "train").sum())
    # unlabelled 0 copies a reserved val face, unlabelled 5 is reserved: 24 - 2 join training
    assert described["n_train_unlabelled"] == len(unlabelled) - 2
    assert described["reserve"]["files"] == reserve[1:]
    bias = ["bias", "--checkpoint", str(run), "--data", str(prepared_dir), "--out",
            str(tmp_path / "bias"), "--attributes", str(tmp_path / "a.csv"),
            "--min-group-size", "2", "--bootstrap", "20", "--permutations", "20"]  # fmt: skip
    assert main(bias) == 0
    # resuming re-derives the same reservation from config.json
    assert main(["train", "--resume", str(run)]) == 0


def test_train_reserve_with_a_refused_config_leaves_no_run_folder(tmp_path, prepared_dir, capsys):
    """split.csv is written before the Learner checks the config; a refusal takes it back."""
    names = load_prepared(prepared_dir).meta["image_name"].iloc[:6]
    pd.DataFrame({"image": names, "age": "adult"}).to_csv(tmp_path / "a.csv", index=False)
    run = tmp_path / "run"
    refused = ["--model", "B4_N1_FC1_K3_AP4", "--aux-weight", "1", "--no-progress"]  # no aux head
    args = ["train", "--data", str(prepared_dir), "--out", str(run), *refused]
    assert main([*args, "--reserve", str(tmp_path / "a.csv")]) == 2
    assert "has none" in capsys.readouterr().err
    assert not run.exists()
    run.mkdir()  # a folder the user made stays, empty
    assert main([*args, "--reserve", str(tmp_path / "a.csv")]) == 2
    assert run.is_dir() and not any(run.iterdir())


def test_a_bias_study_warm_starts_only_from_a_run_that_reserved_its_images(
    tmp_path, prepared_dir, capsys, monkeypatch
):
    meta = load_prepared(prepared_dir).meta
    names = meta.loc[meta["split"] != "test", "image_name"].iloc[::3]
    attrs = pd.DataFrame({"image": names, "age": np.resize(["adult", "child"], len(names))})
    attrs.iloc[::2].to_csv(tmp_path / "a.csv", index=False)
    attrs.iloc[1::2].to_csv(tmp_path / "b.csv", index=False)
    tiny = ["--data", str(prepared_dir), "--model", "faceresnet_t", "--model-arg", "width=8",
            "--epochs", "1", "--batch-size", "16", "--threads", "1", "--no-progress"]  # fmt: skip
    both = ["--reserve", str(tmp_path / "a.csv"), str(tmp_path / "b.csv")]
    assert main(["train", *tiny, "--out", str(tmp_path / "plain")]) == 0
    assert main(["train", *tiny, "--out", str(tmp_path / "a"), *both[:2]]) == 0
    assert main(["train", *tiny, "--out", str(tmp_path / "both"), *both]) == 0
    warm = ["train", *tiny, *both, "--out", str(tmp_path / "warm"), "--init"]
    assert main([*warm, str(tmp_path / "plain")]) == 2
    assert "was not trained with --reserve" in capsys.readouterr().err
    assert main([*warm, str(tmp_path / "a")]) == 2
    assert f"did not reserve {len(names) // 2} of the images" in capsys.readouterr().err
    assert not (tmp_path / "warm").exists()
    loads, load = [], checkpoint_module.load_checkpoint
    counted = lambda path, **kw: loads.append(path) or load(path, **kw)  # noqa: E731
    monkeypatch.setattr(checkpoint_module, "load_checkpoint", counted)
    assert main([*warm, str(tmp_path / "both")]) == 0
    assert loads == [str(tmp_path / "both")]  # checked, reservation, weights: one read
    assert json.loads((tmp_path / "warm" / "config.json").read_text())["train"]["init_from"]
    shutil.rmtree(tmp_path / "both")  # a resumed study no longer needs its warm start's source
    assert main(["train", "--resume", str(tmp_path / "warm")]) == 0


def test_mitigate_two_attribute_files_at_the_bundled_recipe_shape(tmp_path, prepared_dir):
    """Two attribute files, two attributes balanced together and compared one by one, with
    the unlabelled faces and the fifth class of the bundled recipe beside the weights."""
    dataset = load_prepared(prepared_dir)
    age = annotate_half(dataset)
    keep = age.notna()
    names = dataset.meta["image_name"][keep]
    pd.DataFrame({"image": names, "age": age[keep]}).to_csv(tmp_path / "age.csv", index=False)
    gender = np.resize(["female", "male", "", "male"], int(keep.sum()))  # "": cannot tell
    pd.DataFrame({"image": names, "gender": gender}).to_csv(tmp_path / "gender.csv", index=False)
    out = tmp_path / "mitigate"
    args = ["mitigate", "--attributes", str(tmp_path / "age.csv"), str(tmp_path / "gender.csv")]
    args += ["--attribute", "age", "gender", "--data", str(prepared_dir), "--out", str(out)]
    args += ["--model", "faceresnet_t", "--model-arg", "width=8", "--epochs", "1"]
    args += ["--batch-size", "32", "--threads", "1", "--no-progress", "--device", "cpu"]
    args += ["--aux-weight", "1", "--aux-unlabelled", "--other-class"]
    args += ["--strategy", "reweight", "group_prior", "--min-group-size", "5"]
    args += ["--bootstrap", "50", "--permutations", "50"]
    assert main(args) == 0
    report = out / "report"
    table = pd.read_csv(report / "table_3_4.csv")
    assert set(table["attribute"]) == {"age", "gender"}
    assert set(table["group"]) == {"adult", "child", "female", "male", "average"}
    deltas = pd.read_csv(report / "deltas.csv")
    assert set(deltas["attribute"]) == {"age", "gender"}
    n_gender = deltas[(deltas["attribute"] == "gender") & (deltas["group"] == "all images")]
    n_age = deltas[(deltas["attribute"] == "age") & (deltas["group"] == "all images")]
    assert n_gender["n"].iloc[0] < n_age["n"].iloc[0]  # "cannot tell" faces left out
    for attribute in ("age", "gender"):
        assert (report / "plots" / f"before_after_{attribute}.png").is_file()
    run = json.loads((out / "fold0" / "reweight" / "config.json").read_text())
    assert run["n_train_unlabelled"] > 0
