"""The human report of a prepared dataset: class bar plot, per-split table, sample faces.

Table and figure builders are pure (data in, table/figure out); :func:`write_report` saves them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from aiducation.csvfiles import to_csv
from aiducation.data.dataset import SPLITS
from aiducation.figures import save_figure
from aiducation.tables import markdown_table


def split_table(summary: dict) -> pd.DataFrame:
    """Images per split (rows) and class (columns), with totals."""
    classes = list(summary["classes"])
    counts = summary["split_counts"]
    table = pd.DataFrame(
        [[counts.get(s, {}).get(c, 0) for c in classes] for s in SPLITS],
        index=pd.Index(SPLITS, name="split"),
        columns=classes,
    )
    table["total"] = table.sum(axis=1)
    table.loc["total"] = table.sum(axis=0)
    return table


def class_bar_figure(summary: dict):
    """Bar plot of images per class, stacked by split."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = split_table(summary).drop(index="total", columns="total")
    fig, ax = plt.subplots(figsize=(6, 3.6), layout="constrained")
    bottom = np.zeros(table.shape[1])
    for split, row in table.iterrows():
        ax.bar(table.columns, row.to_numpy(), bottom=bottom, label=split)
        bottom += row.to_numpy()
    for x, total in enumerate(bottom):
        ax.annotate(f"{int(total):,}", (x, total), ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("images")
    ax.set_title(f"Images per class (rule set {summary['rule_set']!r})")
    ax.legend(title="split", loc="upper left", bbox_to_anchor=(1, 1))
    ax.margins(y=0.1)
    return fig


def sample_grid_figure(
    images: np.ndarray, labels: np.ndarray, classes: list[str], per_class: int = 8, seed: int = 0
):
    """A grid of ``per_class`` random faces (seeded) for each class, one row per class."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(
        len(classes), per_class, figsize=(per_class * 0.9, len(classes) * 1.0), squeeze=False
    )
    for c, name in enumerate(classes):
        members = np.flatnonzero(labels == c)
        chosen = rng.choice(members, size=min(per_class, len(members)), replace=False)
        for j, ax in enumerate(axes[c]):
            ax.set_xticks([])
            ax.set_yticks([])
            if j < len(chosen):
                ax.imshow(images[chosen[j]], cmap="gray", vmin=0, vmax=255)
            else:
                ax.set_axis_off()
        axes[c][0].set_ylabel(name, rotation=0, ha="right", va="center")
    fig.subplots_adjust(left=0.15, wspace=0.05, hspace=0.05)
    return fig


def write_report(root: Path, images: np.ndarray, labels: np.ndarray, summary: dict) -> None:
    """Write ``report.md``, ``class_counts.png``, ``split_counts.{csv,md}``, ``samples.png``."""

    root.mkdir(parents=True, exist_ok=True)
    table = split_table(summary)
    to_csv(table, root / "split_counts.csv", index=True)
    (root / "split_counts.md").write_text(markdown_table(table, index=True, thousands=True))
    for name, fig in (
        ("class_counts.png", class_bar_figure(summary)),
        ("samples.png", sample_grid_figure(images, labels, list(summary["classes"]))),
    ):
        save_figure(fig, root / name, bbox_inches="tight")
    removed_nf = ", ".join(f"NF={k}: {v}" for k, v in summary["removed_by_nf"].items())
    removed_unknown = ", ".join(
        f"unknown={k}: {v}" for k, v in summary["removed_by_unknown"].items()
    )
    dup = summary["duplicates"]
    (root / "report.md").write_text(
        f"# Prepared dataset\n\n"
        f"Rule set `{summary['rule_set']}`, split `{summary['split']['method']}`.\n\n"
        f"Rows: {summary['rows_total']:,} → {summary['rows_after_nf']:,} after NF "
        f"→ {summary['rows_after_unknown']:,} after unknown ≥ 5 → "
        f"{summary['images']:,} labelled.\n\n"
        f"Removed by NF: {removed_nf or 'none'}. "
        f"Removed by unknown: {removed_unknown or 'none'}.\n\n"
        f"Duplicates among cleaned rows: {dup['cleaned']['distinct']:,} distinct of "
        f"{dup['cleaned']['images']:,} images; {dup['cleaned']['groups_with_copies']:,} groups "
        f"hold copies. Groups spanning more than one split: {dup['groups_across_splits']}.\n\n"
        f"## Images per split and class\n\n{markdown_table(table, index=True, thousands=True)}\n"
        f"![class counts](class_counts.png)\n\n## Sample faces\n\n![samples](samples.png)\n"
    )
