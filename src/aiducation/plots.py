"""Pure plot functions: each takes data (a training log, a confusion matrix) and returns a figure.

Save with :func:`aiducation.figures.save_figure` (atomic) or serve with
:func:`aiducation.figures.figure_png`. Matplotlib uses the Agg backend; nothing is shown. The
training code draws these into its run directories, the web's Experiments page draws a run's
live curves: neither side imports the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from aiducation.csvfiles import read_csv
from aiducation.metrics import normalize_confusion

METRIC_COLUMNS = ("val_accuracy", "val_macro_precision", "val_macro_recall", "val_macro_f1")


def plot_history(log: pd.DataFrame | str | Path, title: str = "") -> Figure:
    """Losses (train, val) and validation metrics per epoch from a run's ``log.csv`` (a path or
    the table read from it)."""
    if not isinstance(log, pd.DataFrame):
        log = read_csv(log)
    fig, (ax_loss, ax_metric) = plt.subplots(1, 2, figsize=(11, 4))
    for column in ("train_loss", "val_loss"):
        ax_loss.plot(log["epoch"], log[column], marker=".", label=column)
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title="losses")
    columns = [c for c in ("train_accuracy", *METRIC_COLUMNS) if c in log]
    for column in columns:
        ax_metric.plot(log["epoch"], log[column], marker=".", label=column)
    best = log.loc[log["val_accuracy"].idxmax()]
    ax_metric.axvline(best["epoch"], color="grey", linestyle=":", label="best val_accuracy")
    ax_metric.set(xlabel="epoch", ylabel="score", title="metrics")
    first, last = log["epoch"].min(), log["epoch"].max()
    for ax in (ax_loss, ax_metric):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))  # whole epochs
        if first == last:  # one epoch: one tick, not an axis from 0.96 to 1.04
            ax.set_xlim(first - 0.5, last + 0.5)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:  # often a folder name: literal text, never mathtext ("$x_$" would not draw)
        fig.suptitle(title, parse_math=False)
    fig.tight_layout()
    return fig


def plot_confusion(cm: np.ndarray | list, classes: Sequence[str], title: str = "") -> Figure:
    """Confusion matrix as counts (left) and row-normalised (right)."""
    cm = np.asarray(cm)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
    for ax, values, name, fmt in (
        (axes[0], cm, "counts", "d"),
        (axes[1], normalize_confusion(cm), "normalised by true class", ".2f"),
    ):
        image = ax.imshow(values, cmap="Blues")
        fig.colorbar(image, ax=ax, fraction=0.046)
        limit = values.max() / 2 if values.size else 0
        for (i, j), value in np.ndenumerate(values):
            color = "white" if value > limit else "black"
            ax.text(j, i, format(value, fmt), ha="center", va="center", color=color)
        ticks = range(len(classes))
        ax.set(xticks=ticks, yticks=ticks, xticklabels=classes, yticklabels=classes)
        ax.set(xlabel="predicted", ylabel="true", title=name)
    if title:  # often a folder name: literal text, never mathtext
        fig.suptitle(title, parse_math=False)
    fig.tight_layout()
    return fig
