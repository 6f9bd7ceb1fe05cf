"""analyze_bias: injected gaps are detected, fair data is not flagged, tables have the report's
shape, small groups are not compared."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairworld import CLASSES, synthetic_predictions

from aiducation.fairness.bias import BiasConfig, analyze_bias, table_3_3
from aiducation.fairness.stats import holm_adjust, permutation_gap_test
from aiducation.metrics import TABLE_METRICS, accuracy

FAST = BiasConfig(n_bootstrap=300, n_permutations=500)


def gap_row(report, attribute, metric="accuracy"):
    gaps = report.gaps
    return gaps[(gaps["attribute"] == attribute) & (gaps["metric"] == metric)].iloc[0]


def test_injected_age_gap_is_detected_and_gender_is_not():
    y_true, y_pred, attrs = synthetic_predictions(accuracy={"adult": 0.78, "child": 0.62})
    report = analyze_bias(y_true, y_pred, attrs, CLASSES, FAST)
    age = gap_row(report, "age")
    assert (age["best_group"], age["worst_group"]) == ("adult", "child")
    assert age["gap"] == pytest.approx(0.16, abs=0.05)
    assert age["gap_ci_low"] > 0 and age["significant"] and age["p_value"] < 0.01
    gender = gap_row(report, "gender")
    assert not gender["significant"]
    assert gender["gap_ci_low"] < 0 < gender["gap_ci_high"]


def test_fair_case_not_flagged():
    y_true, y_pred, attrs = synthetic_predictions(accuracy={"adult": 0.7, "child": 0.7}, seed=3)
    report = analyze_bias(y_true, y_pred, attrs, CLASSES, FAST)
    assert not report.gaps["significant"].any()
    age = gap_row(report, "age")
    assert age["gap_ci_low"] < 0 < age["gap_ci_high"]


def test_permutation_test_false_positive_rate_is_near_alpha():
    """Over many fair data sets the test rejects at about its nominal 5% rate."""
    rejections = []
    for seed in range(120):
        y_true, y_pred, attrs = synthetic_predictions(n=300, seed=100 + seed)
        groups = (attrs["age"] == "child").to_numpy().astype(np.int64)
        _, p = permutation_gap_test(y_true * 4 + y_pred, groups, 2, 4, accuracy, 199, seed)
        rejections.append(p < 0.05)
    assert 0.0 < np.mean(rejections) <= 0.12


def test_intervals_contain_point_estimates_and_are_reproducible():
    y_true, y_pred, attrs = synthetic_predictions()
    config = BiasConfig(n_bootstrap=300, n_permutations=300, intersections=False)
    first = analyze_bias(y_true, y_pred, attrs, CLASSES, config)
    again = analyze_bias(y_true, y_pred, attrs, CLASSES, config)
    pd.testing.assert_frame_equal(first.groups, again.groups)
    pd.testing.assert_frame_equal(first.gaps, again.gaps)
    groups = first.groups
    for metric in FAST.gap_metrics:
        assert (groups[f"{metric}_ci_low"] <= groups[metric]).all()
        assert (groups[metric] <= groups[f"{metric}_ci_high"]).all()


def test_group_metrics_and_table_3_3_shape():
    y_true, y_pred, attrs = synthetic_predictions()
    report = analyze_bias(y_true, y_pred, attrs, CLASSES, FAST)
    table = table_3_3(report.groups)
    assert list(table.columns) == ["attribute", "group", "n", *TABLE_METRICS, "note"]
    age = table[table["attribute"] == "age"].set_index("group")
    assert list(age.index) == ["adult", "child", "average"]
    expected = (age.loc["adult", "accuracy"] + age.loc["child", "accuracy"]) / 2
    assert age.loc["average", "accuracy"] == pytest.approx(expected)
    child = (attrs["age"] == "child").to_numpy()
    assert age.loc["child", "n"] == child.sum()
    assert age.loc["child", "accuracy"] == pytest.approx(np.mean(y_true[child] == y_pred[child]))
    assert (table["precision_micro"] == table["accuracy"]).all()
    groups = report.groups.set_index(["attribute", "group"])
    rates = groups[[f"rate_{c}" for c in CLASSES]].sum(axis=1)
    np.testing.assert_allclose(rates, 1.0)
    assert ("age × gender", "child × female") in groups.index


def test_distribution_counts_true_classes_per_group():
    y_true, y_pred, attrs = synthetic_predictions()
    report = analyze_bias(y_true, y_pred, attrs, CLASSES, FAST)
    dist = report.distribution
    child = dist[(dist["attribute"] == "age") & (dist["group"] == "child")].set_index("class")
    mask = (attrs["age"] == "child").to_numpy()
    for k, c in enumerate(CLASSES):
        assert child.loc[c, "count"] == np.sum(y_true[mask] == k)
    assert child["share"].sum() == pytest.approx(1.0)


def test_missing_values_and_small_groups():
    y_true, y_pred, attrs = synthetic_predictions(n=400)
    attrs.loc[::2, "gender"] = np.nan  # half the images lack a gender
    attrs.loc[:9, "age"] = "elderly"  # a 10-image group
    config = BiasConfig(n_bootstrap=100, n_permutations=100, min_group_size=30)
    report = analyze_bias(y_true, y_pred, attrs, CLASSES, config)
    groups = report.groups.set_index(["attribute", "group"])
    assert groups.loc[("gender", "female"), "n"] + groups.loc[("gender", "male"), "n"] == 200
    assert not groups.loc[("age", "elderly"), "compared"]
    assert any("elderly" in note for note in report.notes)
    table = table_3_3(report.groups).set_index(["attribute", "group"])
    assert table.loc[("age", "elderly"), "note"] == "too few images: not compared"  # not hidden
    assert table.loc[("age", "average"), "n"] == 390  # the average is over compared groups
    assert set(gap_row(report, "age")[["best_group", "worst_group"]]) == {"adult", "child"}


def test_holm_adjustment():
    np.testing.assert_allclose(holm_adjust(np.array([0.01, 0.04, 0.03])), [0.03, 0.06, 0.06])


def test_gap_decomposition_separates_class_mix_from_recall():
    """Children have more of the hard class (recall 0.2) but the same per-class recall: the
    whole gap is class mix. Then children get a lower recall on the same mix: all recall."""
    rng = np.random.default_rng(0)
    n = 40_000
    age = np.where(np.arange(n) < n // 2, "adult", "child")
    hard_share = np.where(age == "child", 0.6, 0.1)
    y_true = np.where(rng.random(n) < hard_share, 3, rng.integers(0, 3, n))
    recall = np.where(y_true == 3, 0.2, 0.9)
    wrong = (y_true + 1) % 4
    y_pred = np.where(rng.random(n) < recall, y_true, wrong)
    attrs = pd.DataFrame({"age": age})
    config = BiasConfig(n_bootstrap=50, n_permutations=50)
    mix = analyze_bias(y_true, y_pred, attrs, CLASSES, config).decomposition.iloc[0]
    assert (mix["best_group"], mix["worst_group"]) == ("adult", "child")
    assert mix["gap"] == pytest.approx(0.35, abs=0.04)
    assert mix["mix"] == pytest.approx(mix["gap"], abs=0.015) and abs(mix["recall"]) < 0.015
    assert mix["mix"] + mix["recall"] == pytest.approx(mix["gap"])

    y_true = rng.integers(0, 4, n)  # same mix for both groups, children recognised less
    y_pred = np.where(rng.random(n) < np.where(age == "child", 0.5, 0.8), y_true, (y_true + 1) % 4)
    model = analyze_bias(y_true, y_pred, attrs, CLASSES, config).decomposition.iloc[0]
    assert abs(model["mix"]) < 0.015 and model["recall"] == pytest.approx(0.3, abs=0.02)


def test_other_rates_per_group_with_intervals():
    y_true, y_pred, attrs = synthetic_predictions(n=1000)
    called_other = (attrs["gender"] == "female").to_numpy() & (np.arange(1000) % 4 == 0)
    report = analyze_bias(y_true, y_pred, attrs, CLASSES, FAST, called_other=called_other)
    rates = report.other_rates.set_index(["attribute", "group"])
    female = rates.loc[("gender", "female")]
    assert (
        female["rate"] == pytest.approx(0.25, abs=0.03)
        and rates.loc[("gender", "male"), "rate"] == 0
    )
    assert female["rate_ci_low"] < female["rate"] < female["rate_ci_high"]
    assert ("age × gender", "adult × female") in rates.index
    assert analyze_bias(y_true, y_pred, attrs, CLASSES, FAST).other_rates.empty


def test_a_gap_in_other_rates_is_tested_and_an_equal_one_is_not_significant():
    y_true, y_pred, attrs = synthetic_predictions(n=1000)
    female = (attrs["gender"] == "female").to_numpy()
    every_fourth = np.arange(1000) % 4 == 0
    report = analyze_bias(y_true, y_pred, attrs, CLASSES, FAST, called_other=female & every_fourth)
    gaps = report.other_gaps.set_index("attribute")
    gender = gaps.loc["gender"]
    rates = report.other_rates.set_index(["attribute", "group"])["rate"]
    assert (gender["highest_group"], gender["lowest_group"]) == ("female", "male")
    assert gender["gap"] == pytest.approx(rates["gender", "female"] - rates["gender", "male"])
    assert gender["p_holm"] < 0.01 and gender["significant"]
    # the same share in every group: the gap is noise
    report = analyze_bias(y_true, y_pred, attrs, CLASSES, FAST, called_other=every_fourth)
    assert not report.other_gaps.set_index("attribute").loc["gender", "significant"]
    assert analyze_bias(y_true, y_pred, attrs, CLASSES, FAST).other_gaps.empty
