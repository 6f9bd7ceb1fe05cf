"""Before/after comparison of models on the same held-out images (the report's Table 3.4).

Pure: labels, one prediction array per model and the group of each image in; DataFrames out.
Deltas get paired bootstrap intervals (every model resampled with the same draws).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from aiducation.fairness.bias import BiasConfig, BiasReport, analyze_bias, table_3_3
from aiducation.fairness.stats import bootstrap_confusions, percentile_interval
from aiducation.metrics import cm_metrics

OVERALL = "all images"


@dataclass
class Comparison:
    """Per-model bias reports plus the before/after tables."""

    reports: dict[str, BiasReport]
    table: pd.DataFrame  # Table 3.4 shape, one block per model
    deltas: pd.DataFrame  # (model, group, metric): before, after, delta and its CI
    gaps: pd.DataFrame  # (model, metric): gap, CI, p-value, significant


def paired_deltas(
    y_true: np.ndarray,
    before: np.ndarray,
    after: np.ndarray,
    labels: np.ndarray,
    classes: list[str],
    config: BiasConfig,
) -> pd.DataFrame:
    """``after − before`` per group (and over all images) with paired bootstrap intervals."""
    n_classes = len(classes)
    metrics = cm_metrics(classes)
    names = sorted(set(labels))
    codes = np.stack([y_true * n_classes + before, y_true * n_classes + after])
    group_ids = np.searchsorted(names, labels)
    rows = []
    for group_names, ids in ((names, group_ids), ([OVERALL], np.zeros(len(labels), int))):
        boot = bootstrap_confusions(
            codes, ids, len(group_names), n_classes, config.n_bootstrap, config.seed
        )
        for g, group in enumerate(group_names):
            keep = ids == g
            for metric in config.gap_metrics:
                fn = metrics[metric]
                point = [
                    float(fn(np.bincount(c[keep], minlength=n_classes**2).reshape(n_classes, -1)))
                    for c in codes
                ]
                low, high = percentile_interval(
                    fn(boot[1, :, g]) - fn(boot[0, :, g]), config.confidence
                )
                rows.append(
                    {
                        "group": group,
                        "n": int(keep.sum()),
                        "metric": metric,
                        "before": point[0],
                        "after": point[1],
                        "delta": point[1] - point[0],
                        "delta_ci_low": float(low),
                        "delta_ci_high": float(high),
                    }
                )
    return pd.DataFrame(rows)


def compare_models(
    y_true: np.ndarray,
    predictions: dict[str, np.ndarray],
    groups: pd.DataFrame | pd.Series,
    classes: list[str],
    baseline: str = "none",
    config: BiasConfig | None = None,
) -> Comparison:
    """Bias report per model on the same images, Table 3.4 blocks, deltas against
    ``baseline`` and the gap of each model, for every attribute (column) of ``groups``."""
    config = config or BiasConfig(intersections=False)
    y_true = np.asarray(y_true, np.int64)
    attributes = (groups.to_frame() if isinstance(groups, pd.Series) else groups).reset_index(
        drop=True
    )
    reports = {
        name: analyze_bias(y_true, np.asarray(pred, np.int64), attributes, classes, config)
        for name, pred in predictions.items()
    }
    table = pd.concat(
        [table_3_3(r.groups).assign(model=name) for name, r in reports.items()], ignore_index=True
    )
    table = table[["model", *[c for c in table.columns if c != "model"]]]
    gaps = pd.concat([r.gaps.assign(model=name) for name, r in reports.items()], ignore_index=True)
    gaps = gaps[["model", *[c for c in gaps.columns if c != "model"]]]
    deltas = []
    for attribute in attributes.columns:
        known = attributes[attribute].notna().to_numpy()
        labels = attributes[attribute][known].astype(str).to_numpy()
        deltas += [
            paired_deltas(
                y_true[known], np.asarray(predictions[baseline])[known],
                np.asarray(pred, np.int64)[known], labels, classes, config,
            ).assign(model=name, attribute=attribute)
            for name, pred in predictions.items()
            if name != baseline
        ]  # fmt: skip
    deltas = pd.concat(deltas, ignore_index=True) if deltas else pd.DataFrame()
    if len(deltas):
        first = ["model", "attribute"]
        deltas = deltas[[*first, *[c for c in deltas.columns if c not in first]]]
    return Comparison(reports=reports, table=table, deltas=deltas, gaps=gaps)
