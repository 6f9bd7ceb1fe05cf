"""Attribute files (issue 34): the usual spellings of "no value" are missing values, and values
differing only in case are one group, reported in one spelling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairworld import CLASSES, synthetic_predictions

from aiducation.cli import main
from aiducation.errors import InputError
from aiducation.fairness.inputs import MISSING_VALUES, read_attribute_files, read_attributes

SPELLINGS = ["nan", "NaN", "None", "null", "NULL", "N/A", "n/a", "#N/A", "-", "na", "NA", "unknown"]
SPELLINGS += ["Unknown", " none ", "  ", "", "cannot tell", "Cannot Tell", "unsure", "?", "<NA>"]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_missing_spellings_leave_the_image_without_a_group(spelling, tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(f"image,gender,age\nfer1.png,female,{spelling}\nfer2.png,{spelling},adult\n")
    table = read_attributes(path)
    assert table.loc["fer1", "gender"] == "female" and pd.isna(table.loc["fer1", "age"])
    assert pd.isna(table.loc["fer2", "gender"]) and table.loc["fer2", "age"] == "adult"
    assert table["gender"].dropna().tolist() == ["female"]  # no group named after the spelling


def test_missing_values_are_listed_in_lower_case():
    assert all(v == v.strip().casefold() for v in MISSING_VALUES)
    assert {"nan", "none", "null", "n/a", "#n/a", "-", "na", "unknown"} <= MISSING_VALUES


def test_values_differing_in_case_are_one_group_spelled_as_most_cells_spell_it(tmp_path):
    path = tmp_path / "a.csv"
    rows = ["fer1,Female,Adult", "fer2,female,adult", "fer3, FEMALE ,adult", "fer4,Female,child"]
    rows += ["fer5,male,Child", "fer6,Male,adult", "fer7,Female,ADULT"]
    path.write_text("image,gender,age\n" + "\n".join(rows) + "\n")
    table = read_attributes(path)
    assert table["gender"].tolist() == ["Female"] * 4 + ["male"] * 2 + ["Female"]  # tie: first
    assert table["age"].tolist() == ["adult", "adult", "adult", "child", "child", "adult", "adult"]
    raw = read_attributes(path, respell=False)
    assert raw["gender"].tolist()[:3] == ["Female", "female", "FEMALE"]


def test_an_image_listed_twice_in_two_spellings_is_no_conflict(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("image,gender\nfer1.png,Female\nfer1,female\nfer2,female\nfer1,male\n")
    with pytest.raises(InputError, match=r"'fer1' has conflicting values in rows \[2, 3, 5\]"):
        read_attributes(path)
    path.write_text("image,gender\nfer1.png,Female\nfer1,female\nfer2,female\n")
    # an image counts once (its first row): Female 1, female 1, a tie won by the first seen
    assert read_attributes(path)["gender"].tolist() == ["Female", "Female"]


def test_files_agree_ignoring_case_and_share_one_spelling(tmp_path):
    (tmp_path / "a.csv").write_text("image,gender\nfer1,Female\nfer2,male\nfer3,NaN\n")
    (tmp_path / "b.csv").write_text(
        "image,gender,age\nfer1,FEMALE,adult\nfer4,Male,n/a\nfer5,Male,-\n"
    )
    table = read_attribute_files([tmp_path / "a.csv", tmp_path / "b.csv"])
    assert table["gender"].fillna("(missing)").to_dict() == {
        "fer1": "Female", "fer2": "Male", "fer3": "(missing)", "fer4": "Male", "fer5": "Male"
    }  # fmt: skip
    assert table["age"].dropna().tolist() == ["adult"]
    (tmp_path / "c.csv").write_text("image,gender\nfer2,female\n")
    with pytest.raises(InputError, match=r"c\.csv: image 'fer2' has gender='female' but"):
        read_attribute_files([tmp_path / "a.csv", tmp_path / "c.csv"])


def test_bias_reports_one_group_per_value_and_no_group_for_missing_spellings(tmp_path):
    y_true, y_pred, attrs = synthetic_predictions(n=400)
    names = [f"fer{i:07d}.png" for i in range(len(y_true))]
    pd.DataFrame(
        {
            "image_name": names,
            "label": [CLASSES[k] for k in y_true],
            "predicted": [CLASSES[k] for k in y_pred],
            "fold": np.arange(len(names)) % 5,
        }
    ).to_csv(tmp_path / "pred.csv", index=False)
    gender = attrs["gender"].to_numpy(object).copy()
    gender[::4] = np.char.upper(gender[::4].astype(str))  # FEMALE, MALE
    gender[1::4] = np.char.capitalize(gender[1::4].astype(str))  # Female, Male
    gender[2::8] = np.array(["nan", "None", "N/A", "#N/A", " null ", "-", "na", "unknown"] * 7)[
        : len(gender[2::8])
    ]
    pd.DataFrame({"image": names, "age": attrs["age"], "gender": gender}).to_csv(
        tmp_path / "attrs.csv", index=False
    )
    out = tmp_path / "report"
    args = ["bias", "--predictions", str(tmp_path / "pred.csv"), "--attributes"]
    args += [str(tmp_path / "attrs.csv"), "--out", str(out), "--bootstrap", "20"]
    assert main([*args, "--permutations", "20", "--no-intersections"]) == 0
    groups = pd.read_csv(out / "groups.csv", keep_default_na=False)
    genders = groups[groups["attribute"] == "gender"]
    assert sorted(genders["group"]) == ["female", "male"]  # the lower-case spelling is commonest
    expected = attrs["gender"].to_numpy()[np.arange(len(names)) % 8 != 2]
    n = dict(zip(genders["group"], genders["n"], strict=True))
    assert n == {
        "female": int((expected == "female").sum()),
        "male": int((expected == "male").sum()),
    }
