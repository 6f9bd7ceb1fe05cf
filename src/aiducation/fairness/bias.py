"""Grouped performance metrics, gaps between groups and their uncertainty (SPEC §4).

:func:`analyze_bias` is pure: labels, predictions and an attribute table in, a
:class:`BiasReport` of DataFrames out. Point estimates per group come from fairlearn's
``MetricFrame``; intervals and tests are resampled on confusion matrices (``stats``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from itertools import combinations

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame, count

from aiducation.fairness.stats import (
    bootstrap_confusions,
    group_ratio,
    holm_adjust,
    percentile_interval,
    permutation_gap_test,
)
from aiducation.metrics import TABLE_METRICS, cm_metrics, confusion_matrix, label_metric

INTERSECTION_SEP = " × "


@dataclass
class BiasConfig:
    """Settings of one bias analysis (saved beside its results)."""

    min_group_size: int = 30  # images; smaller groups are listed but not compared
    n_bootstrap: int = 1000  # resamples for the confidence intervals
    n_permutations: int = 2000  # label shuffles for the gap test
    confidence: float = 0.95  # level of the bootstrap intervals
    alpha: float = 0.05  # significance level, applied to Holm-adjusted p-values
    gap_metrics: tuple[str, ...] = ("accuracy", "precision_macro", "recall_macro", "f1_macro")
    intersections: bool = True  # also analyse every pair of attributes (e.g. age × gender)
    seed: int = 0


@dataclass
class BiasReport:
    """Result of :func:`analyze_bias`; every table is a plain DataFrame."""

    groups: pd.DataFrame  # one row per (attribute, group): n, metrics, CI bounds, compared
    gaps: pd.DataFrame  # one row per (attribute, metric): gap, ratio, CI, p-values, significant
    distribution: pd.DataFrame  # one row per (attribute, group, class): count and share
    overall: dict  # metrics over every analysed image
    classes: list[str]
    config: BiasConfig
    notes: list[str] = field(default_factory=list)
    # best − worst accuracy gap split into class mix and per-class recall (one row per attribute)
    decomposition: pd.DataFrame = field(default_factory=pd.DataFrame)
    # share of each group's faces the model calls "Other", with CIs (models that answer Other)
    other_rates: pd.DataFrame = field(default_factory=pd.DataFrame)
    # per attribute: highest − lowest of those shares over the compared groups, permutation test
    other_gaps: pd.DataFrame = field(default_factory=pd.DataFrame)

    def to_dict(self) -> dict:
        return {
            "config": asdict(self.config),
            "classes": self.classes,
            "overall": {k: None if v != v else v for k, v in self.overall.items()},
            "groups": _records(self.groups),
            "gaps": _records(self.gaps),
            "distribution": _records(self.distribution),
            "decomposition": _records(self.decomposition),
            "other_rates": _records(self.other_rates),
            "other_gaps": _records(self.other_gaps),
            "notes": self.notes,
        }


def _records(frame: pd.DataFrame) -> list[dict]:
    return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")


def attribute_sets(attributes: pd.DataFrame, intersections: bool) -> list[list[str]]:
    """Single attributes, then every pair of them when ``intersections`` is set."""
    columns = list(attributes.columns)
    sets = [[c] for c in columns]
    if intersections:
        sets += [list(pair) for pair in combinations(columns, 2)]
    return sets


def _group_labels(attributes: pd.DataFrame, columns: list[str]) -> pd.Series:
    """Group label per row (``"adult × female"`` for pairs); NaN where any value is missing."""
    values = attributes[columns].astype("string").apply(lambda s: s.str.strip())
    values = values.mask(values == "")
    labels = values[columns[0]].copy()
    for column in columns[1:]:
        labels = labels + INTERSECTION_SEP + values[column]
    return labels


def analyze_bias(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    attributes: pd.DataFrame,
    classes: list[str],
    config: BiasConfig | None = None,
    called_other: np.ndarray | None = None,
) -> BiasReport:
    """Per-group metrics, gaps, bootstrap intervals and permutation tests for each attribute.

    ``y_true``/``y_pred`` are class ids (indices into ``classes``); ``attributes`` has one row
    per sample and one column per attribute, missing values as NaN or empty strings.
    ``called_other``: per sample, whether the model answered "Other" (its four-state decision
    is still in ``y_pred``); gives :attr:`BiasReport.other_rates` and ``other_gaps``.
    """
    config = config or BiasConfig()
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    attributes = attributes.reset_index(drop=True)
    if not len(y_true) == len(y_pred) == len(attributes):
        raise ValueError("y_true, y_pred and attributes must have one row per sample")
    n_classes = len(classes)
    metrics = cm_metrics(classes)
    overall_cm = confusion_matrix(y_true, y_pred, n_classes)
    overall = {"n": len(y_true), **{k: float(f(overall_cm)) for k, f in metrics.items()}}

    group_frames, gap_rows, dist_frames, other_frames, notes = [], [], [], [], []
    other_gap_rows = []
    for index, columns in enumerate(attribute_sets(attributes, config.intersections)):
        name = INTERSECTION_SEP.join(columns)
        labels = _group_labels(attributes, columns)
        keep = labels.notna().to_numpy()
        if not keep.any():
            notes.append(f"{name}: no image has a value")
            continue
        groups, gaps, dist = _analyze_attribute(
            name, y_true[keep], y_pred[keep], labels[keep].to_numpy(str), classes, config, index
        )
        group_frames.append(groups)
        dist_frames.append(dist)
        if called_other is not None:
            event, members = np.asarray(called_other, bool)[keep], labels[keep].to_numpy(str)
            other_frames.append(group_rates(name, event, members, config, index))
            other_gap_rows += rate_gap(name, event, members, other_frames[-1], config, index)
        gap_rows += gaps
        small = groups.loc[~groups["compared"], "group"].tolist()
        if small:
            notes.append(
                f"{name}: groups below {config.min_group_size} images not compared: "
                + ", ".join(small)
            )

    gaps = _with_holm(pd.DataFrame(gap_rows, columns=_GAP_COLUMNS), config)
    groups = pd.concat(group_frames, ignore_index=True) if group_frames else pd.DataFrame()
    distribution = pd.concat(dist_frames, ignore_index=True) if dist_frames else pd.DataFrame()
    return BiasReport(
        groups=groups,
        gaps=gaps,
        distribution=distribution,
        overall=overall,
        classes=list(classes),
        config=config,
        notes=notes,
        decomposition=decompose_gaps(groups, distribution, gaps, classes),
        other_rates=pd.concat(other_frames, ignore_index=True) if other_frames else pd.DataFrame(),
        other_gaps=_with_holm(pd.DataFrame(other_gap_rows, columns=_RATE_GAP_COLUMNS), config),
    )


def _with_holm(gaps: pd.DataFrame, config: BiasConfig) -> pd.DataFrame:
    """``gaps`` with Holm-adjusted p-values over its rows and ``significant`` at ``alpha``."""
    if len(gaps):
        gaps["p_holm"] = holm_adjust(gaps["p_value"].to_numpy())
        gaps["significant"] = gaps["p_holm"] < config.alpha
    return gaps


_RATE_GAP_COLUMNS = [
    "attribute", "highest_group", "lowest_group", "highest", "lowest", "gap", "p_value",
]  # fmt: skip


def rate_gap(
    name: str,
    event: np.ndarray,
    labels: np.ndarray,
    rates: pd.DataFrame,
    config: BiasConfig,
    index: int = 0,
) -> list[dict]:
    """Highest − lowest share of samples with ``event`` over the compared groups of ``rates``
    (:func:`group_rates`), with a permutation p-value (group labels shuffled); one row, or
    none when fewer than two groups are compared."""
    compared = rates[rates["compared"]].reset_index(drop=True)
    if len(compared) < 2:
        return []
    inside = np.isin(labels, compared["group"].to_numpy())
    group_ids = pd.Categorical(labels[inside], categories=compared["group"]).codes
    # the event as a 2-class confusion matrix: true class 0, "predicted" 1 when it happened
    gap, p_value = permutation_gap_test(
        event[inside].astype(np.int64), group_ids, len(compared), 2,
        lambda cm: cm[..., 0, 1] / np.maximum(cm.sum(axis=(-2, -1)), 1),
        config.n_permutations, config.seed + 1009 * index + 29,
    )  # fmt: skip
    high, low = compared["rate"].idxmax(), compared["rate"].idxmin()
    return [
        {"attribute": name, "highest_group": compared.at[high, "group"],
         "lowest_group": compared.at[low, "group"], "highest": compared.at[high, "rate"],
         "lowest": compared.at[low, "rate"], "gap": gap, "p_value": p_value}
    ]  # fmt: skip


def group_rates(
    name: str, event: np.ndarray, labels: np.ndarray, config: BiasConfig, index: int = 0
) -> pd.DataFrame:
    """Share of each group's samples with ``event`` and its bootstrap interval."""
    rng = np.random.default_rng(config.seed + 1009 * index + 13)
    rows = []
    for group in sorted(set(labels)):
        members = event[labels == group].astype(float)
        draws = members[rng.integers(0, len(members), (config.n_bootstrap, len(members)))]
        low, high = percentile_interval(draws.mean(axis=1), config.confidence)
        rows.append(
            {"attribute": name, "group": group, "n": len(members), "rate": members.mean(),
             "rate_ci_low": float(low), "rate_ci_high": float(high),
             "compared": len(members) >= config.min_group_size}
        )  # fmt: skip
    return pd.DataFrame(rows)


def decompose_gaps(
    groups: pd.DataFrame, distribution: pd.DataFrame, gaps: pd.DataFrame, classes: list[str]
) -> pd.DataFrame:
    """Split each attribute's accuracy gap (best − worst group) into class mix and recall.

    Accuracy is Σ_k share_k × recall_k over the true classes. ``counterfactual`` gives the
    worst group's class mix the best group's per-class recall: ``mix = best − counterfactual``
    is what the class mix alone explains, ``recall = counterfactual − worst`` what the model
    does worse on the same classes (they sum to the gap).
    """
    if gaps.empty or groups.empty:
        return pd.DataFrame()
    rows = []
    for _, gap in gaps[gaps["metric"] == "accuracy"].iterrows():
        name = gap["attribute"]
        recall = groups[groups["attribute"] == name].set_index("group")
        share = distribution[distribution["attribute"] == name].pivot_table(
            index="group", columns="class", values="share"
        )[classes]
        best, worst = gap["best_group"], gap["worst_group"]
        best_recall = recall.loc[best, [f"recall_{c}" for c in classes]].to_numpy(float)
        counterfactual = float(np.nansum(share.loc[worst].to_numpy(float) * best_recall))
        rows.append(
            {"attribute": name, "best_group": best, "worst_group": worst,
             "best": gap["best"], "worst": gap["worst"], "gap": gap["best"] - gap["worst"],
             "counterfactual": counterfactual, "mix": gap["best"] - counterfactual,
             "recall": counterfactual - gap["worst"]}
        )  # fmt: skip
    return pd.DataFrame(rows)


_GAP_COLUMNS = [
    "attribute", "metric", "best_group", "worst_group", "best", "worst", "gap",
    "gap_ci_low", "gap_ci_high", "ratio", "ratio_ci_low", "ratio_ci_high", "p_value",
]  # fmt: skip


def _analyze_attribute(
    name: str,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    labels: np.ndarray,
    classes: list[str],
    config: BiasConfig,
    index: int,
) -> tuple[pd.DataFrame, list[dict], pd.DataFrame]:
    n_classes = len(classes)
    metrics = cm_metrics(classes)
    frame = MetricFrame(
        metrics={"n": count, **{k: label_metric(f, n_classes) for k, f in metrics.items()}},
        y_true=y_true,
        y_pred=y_pred,
        sensitive_features=pd.Series(labels, name=name),
    )
    by_group = frame.by_group.reset_index().rename(columns={name: "group"})
    by_group["n"] = by_group["n"].astype(int)
    by_group["compared"] = by_group["n"] >= config.min_group_size
    by_group.insert(0, "attribute", name)

    group_names = by_group["group"].tolist()
    group_ids = pd.Categorical(labels, categories=group_names).codes.astype(np.int64)
    codes = y_true * n_classes + y_pred
    seed = config.seed + 1009 * index
    boot = bootstrap_confusions(
        codes, group_ids, len(group_names), n_classes, config.n_bootstrap, seed
    )[0]
    for metric in config.gap_metrics:
        low, high = percentile_interval(metrics[metric](boot), config.confidence)
        by_group[f"{metric}_ci_low"], by_group[f"{metric}_ci_high"] = low, high

    compared = np.flatnonzero(by_group["compared"].to_numpy())
    gaps = []
    if len(compared) >= 2:
        in_compared = np.isin(group_ids, compared)
        remap = np.full(len(group_names), -1)
        remap[compared] = np.arange(len(compared))
        for metric in config.gap_metrics:
            fn = metrics[metric]
            values = by_group[metric].to_numpy(float)[compared]
            best, worst = compared[np.argmax(values)], compared[np.argmin(values)]
            # Signed difference between the observed best and worst group, so a CI that
            # includes 0 means "no detectable gap" (max - min would always be positive).
            best_boot, worst_boot = fn(boot[:, best]), fn(boot[:, worst])
            gap_low, gap_high = percentile_interval(best_boot - worst_boot, config.confidence)
            ratio_boot = np.divide(
                worst_boot, best_boot, out=np.ones_like(best_boot), where=best_boot > 0
            )
            ratio_low, ratio_high = percentile_interval(ratio_boot, config.confidence)
            gap, p_value = permutation_gap_test(
                codes[in_compared],
                remap[group_ids[in_compared]],
                len(compared),
                n_classes,
                fn,
                config.n_permutations,
                seed + 7,
            )
            gaps.append(
                {
                    "attribute": name,
                    "metric": metric,
                    "best_group": group_names[best],
                    "worst_group": group_names[worst],
                    "best": float(values.max()),
                    "worst": float(values.min()),
                    "gap": gap,
                    "gap_ci_low": float(gap_low),
                    "gap_ci_high": float(gap_high),
                    "ratio": float(group_ratio(values)),
                    "ratio_ci_low": float(ratio_low),
                    "ratio_ci_high": float(ratio_high),
                    "p_value": p_value,
                }
            )

    counts = pd.crosstab(pd.Series(labels, name="group"), pd.Series(y_true, name="class_id"))
    counts = counts.reindex(index=group_names, columns=range(n_classes), fill_value=0)
    dist = counts.stack().rename("count").reset_index()
    dist["class"] = [classes[k] for k in dist["class_id"]]
    dist["share"] = dist["count"] / dist.groupby("group")["count"].transform("sum")
    dist.insert(0, "attribute", name)
    dist = dist[["attribute", "group", "class", "count", "share"]]
    return by_group, gaps, dist


def table_3_3(groups: pd.DataFrame) -> pd.DataFrame:
    """The report's Table 3.3 shape: attribute, group, n, accuracy, macro/micro P/R/F1, with
    an unweighted ``average`` row per attribute (as the report averaged its two groups) over
    the compared groups. Groups too small to compare stay listed, flagged in ``note``."""
    if groups.empty:
        return pd.DataFrame(columns=["attribute", "group", "n", *TABLE_METRICS, "note"])
    parts = []
    for attribute, part in groups.groupby("attribute", sort=False):
        compared = part["compared"].to_numpy(bool)
        note = np.where(compared, "", "too few images: not compared")
        part = part[["attribute", "group", "n", *TABLE_METRICS]].assign(note=note)
        average = {"attribute": attribute, "group": "average", "n": int(part["n"][compared].sum())}
        average.update(part.loc[compared, list(TABLE_METRICS)].mean().to_dict())
        parts += [part, pd.DataFrame([{**average, "note": ""}])]
    return pd.concat(parts, ignore_index=True)
