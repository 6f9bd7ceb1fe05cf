"""Pure plotting functions for bias reports: data in, matplotlib ``Figure`` out.

Figures are built without pyplot (no global state, no GUI backend); PNGs render with Agg.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure


def plot_class_distribution(distribution: pd.DataFrame, attribute: str) -> Figure:
    """The report's Figure 3.1 for one attribute: true-class counts and shares per group."""
    part = distribution[distribution["attribute"] == attribute]
    counts = part.pivot(index="group", columns="class", values="count")
    shares = part.pivot(index="group", columns="class", values="share")
    classes = list(dict.fromkeys(part["class"]))
    counts, shares = counts[classes], shares[classes]
    fig = Figure(figsize=(11, 4), layout="constrained")
    axes = fig.subplots(1, 2)
    width = 0.8 / len(counts.index)
    x = np.arange(len(classes))
    for i, group in enumerate(counts.index):
        n = int(counts.loc[group].sum())
        label = f"{group} (n={n})"
        axes[0].bar(x + i * width, counts.loc[group], width, label=label)
        axes[1].bar(x + i * width, shares.loc[group], width, label=label)
    for ax, ylabel in zip(axes, ("images", "share of the group"), strict=True):
        ax.set_xticks(x + width * (len(counts.index) - 1) / 2, classes)
        ax.set_ylabel(ylabel)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"Distribution of true classes by {attribute}")
    return fig


def plot_group_metrics(
    groups: pd.DataFrame, attribute: str, metrics: tuple[str, ...] = ("accuracy", "f1_macro")
) -> Figure:
    """Per-group metric values with their bootstrap confidence intervals as error bars."""
    part = groups[(groups["attribute"] == attribute) & groups["compared"]]
    fig = Figure(figsize=(1.6 + 1.3 * len(part) * len(metrics), 3.8), layout="constrained")
    ax = fig.subplots()
    width = 0.8 / len(metrics)
    x = np.arange(len(part))
    for i, metric in enumerate(metrics):
        values = part[metric].to_numpy(float)
        low_col, high_col = f"{metric}_ci_low", f"{metric}_ci_high"
        if low_col in part:
            err = np.vstack([values - part[low_col], part[high_col] - values])
        else:
            err = None
        ax.bar(x + i * width, values, width, yerr=err, capsize=4, label=metric)
    ax.set_xticks(
        x + width * (len(metrics) - 1) / 2,
        [f"{g}\n(n={n})" for g, n in zip(part["group"], part["n"], strict=True)],
    )
    ax.set_ylim(0, 1)
    ax.set_ylabel("score (95% CI)")
    ax.set_title(f"Metrics by {attribute}")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def plot_model_comparison(reports: dict, attribute: str, metric: str = "accuracy") -> Figure:
    """Per-group ``metric`` of each model (baseline and mitigations) with 95% CIs."""
    fig = Figure(figsize=(2.5 + 1.4 * len(reports), 3.8), layout="constrained")
    ax = fig.subplots()
    first = next(iter(reports.values())).groups
    group_names = first.loc[first["attribute"] == attribute, "group"].tolist()
    width = 0.8 / len(reports)
    x = np.arange(len(group_names))
    for i, (name, report) in enumerate(reports.items()):
        groups = report.groups[report.groups["attribute"] == attribute]
        part = groups.set_index("group").loc[group_names]
        values = part[metric].to_numpy(float)
        err = np.vstack([values - part[f"{metric}_ci_low"], part[f"{metric}_ci_high"] - values])
        ax.bar(x + i * width, values, width, yerr=err, capsize=4, label=name)
    ax.set_xticks(x + width * (len(reports) - 1) / 2, group_names)
    ax.set_ylim(0, 1)
    ax.set_ylabel(f"{metric} (95% CI)")
    ax.set_title(f"{metric} by {attribute}: before and after mitigation")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    return fig
