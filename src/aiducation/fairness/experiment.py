"""``aiducation mitigate`` as a function: reserve annotated images, train the baseline and the
mitigated models on everything else, compare them on the same reserved images.

Layout of the output directory::

    mitigate.json          the exact MitigateConfig (with its TrainConfig and BiasConfig)
    fold<i>/split.csv      role of every dataset image in fold i (train/val/bias_test/...)
    fold<i>/<strategy>/    training run (config, log, checkpoints/best, split.csv)
    report/                table_3_4.csv/.md, deltas.csv, gaps.csv, cost.csv,
                           predictions.csv, report.md, plots/

Training runs resume, so an interrupted experiment continues where it stopped.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from aiducation.atomic import write_json
from aiducation.csvfiles import to_csv, write_csv
from aiducation.data.dataset import PreparedDataset
from aiducation.errors import InputError
from aiducation.fairness.bias import BiasConfig
from aiducation.fairness.compare import Comparison, compare_models, paired_deltas
from aiducation.fairness.holdout import annotated_folds, holdout_indices, split_table
from aiducation.fairness.inputs import image_key
from aiducation.fairness.mitigate import MitigationInputs, get_strategy, joint_groups
from aiducation.rundir import MITIGATE_FILE, SPLIT_FILE, RunDir

BASELINE = "none"


@dataclass
class MitigateConfig:
    """One mitigation experiment (saved as ``mitigate.json``)."""

    attributes: tuple[str, ...] = ("age",)  # columns whose groups are balanced and compared
    strategies: tuple[str, ...] = ("oversample",)  # registry names (see list_strategies)
    folds: int = 2  # annotated images are split into this many folds (2: half held out)
    run_folds: int = 1  # folds held out in turn; = folds gives out-of-fold predictions for all
    seed: int = 0  # seeds the folds (training seeds come from ``train``)
    train: dict = field(default_factory=dict)  # TrainConfig fields
    bias: BiasConfig = field(default_factory=lambda: BiasConfig(intersections=False))

    def __post_init__(self) -> None:
        self.attributes = (
            (self.attributes,) if isinstance(self.attributes, str) else tuple(self.attributes)
        )
        if not self.attributes:
            raise ValueError("need at least one attribute")
        if isinstance(self.bias, dict):
            self.bias = BiasConfig(**self.bias)
        self.strategies = tuple(s for s in self.strategies if s != BASELINE)
        for name in self.strategies:
            get_strategy(name)
        if not 1 <= self.run_folds <= self.folds or self.folds < 2:
            raise ValueError("need folds >= 2 and 1 <= run_folds <= folds")


def group_values(dataset: PreparedDataset, attributes: pd.DataFrame, attribute: str) -> pd.Series:
    """The ``attribute`` group of every dataset row (NaN: not annotated or a repeated name)."""
    keys = dataset.meta["image_name"].map(image_key)
    values = attributes[attribute].reindex(keys).reset_index(drop=True)
    return values.mask(keys.duplicated().to_numpy())


def _predict(config, checkpoint_dir: Path, dataset: PreparedDataset, rows: np.ndarray):
    """Probabilities over the dataset's classes, flip-averaged when the training config says."""
    from aiducation.fairness.sources import predict_rows

    tta_flip = bool(config.train.get("tta_flip", False))
    device = config.train.get("device", "auto")
    return predict_rows(checkpoint_dir, dataset, rows, tta_flip=tta_flip, device=device)[1]


def _train(config, dataset, train_idx, val_idx, run_dir: Path, mitigation, split: pd.DataFrame):
    from aiducation.training.config import TrainConfig
    from aiducation.training.learner import fit

    result = fit(
        TrainConfig.from_dict(config.train),
        dataset,
        train_idx,
        val_idx,
        run_dir,
        sample_weights=mitigation.sample_weights,
        sampler_weights=mitigation.sampler_weights,
    )
    write_csv(split, RunDir(run_dir).split)
    return result.best_checkpoint


def run_mitigation(
    config: MitigateConfig, dataset: PreparedDataset, attributes: pd.DataFrame, out_dir: Path
) -> tuple[Comparison, pd.DataFrame]:
    """Train and compare; returns the comparison and the accuracy-cost table."""
    missing = [a for a in config.attributes if a not in attributes.columns]
    if missing:
        raise InputError(
            f"attribute {', '.join(missing)} not in the attribute files "
            f"(columns: {', '.join(attributes.columns)})"
        )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(out_dir / MITIGATE_FILE, asdict(config))
    groups = pd.DataFrame({a: group_values(dataset, attributes, a) for a in config.attributes})
    folds = annotated_folds(dataset, joint_groups(groups), config.folds, config.seed)
    official_test = dataset.split_indices("test")
    models = [BASELINE, *config.strategies]
    reserved_parts, test_parts = [], []
    for fold in range(config.run_folds):
        reserved = folds[fold]
        train_idx, val_idx, excluded = holdout_indices(dataset, reserved)
        fold_dir = out_dir / f"fold{fold}"
        fold_dir.mkdir(exist_ok=True)
        split = split_table(dataset, train_idx, val_idx, reserved, excluded)
        write_csv(split, fold_dir / SPLIT_FILE)
        inputs = MitigationInputs(dataset.labels, groups, train_idx, len(dataset.classes))
        rows = np.concatenate([reserved, official_test])
        print(
            f"fold {fold}: {len(reserved)} reserved annotated images, train {len(train_idx)}, "
            f"val {len(val_idx)}, {len(excluded)} duplicates of reserved images excluded",
            flush=True,
        )
        baseline_ckpt = _train(
            config,
            dataset,
            train_idx,
            val_idx,
            fold_dir / BASELINE,
            get_strategy(BASELINE)(inputs),
            split,
        )
        base_proba = _predict(config, baseline_ckpt, dataset, rows)
        preds = {BASELINE: base_proba.argmax(1)}
        for name in config.strategies:
            mitigation = get_strategy(name)(inputs)
            print(f"fold {fold}: {name}: {mitigation.description}", flush=True)
            if mitigation.retrains:
                ckpt = _train(
                    config, dataset, train_idx, val_idx, fold_dir / name, mitigation, split
                )
                proba = _predict(config, ckpt, dataset, rows)
            else:
                proba = base_proba
            if mitigation.adjust is not None:
                proba = mitigation.adjust(proba, rows)
            preds[name] = proba.argmax(1)
        frame = pd.DataFrame(
            {
                "fold": fold,
                "index": rows,
                "image_name": dataset.meta["image_name"].to_numpy()[rows],
                "y_true": dataset.labels[rows],
                **{a: groups[a].iloc[rows].to_numpy() for a in config.attributes},
                **{f"pred_{m}": preds[m] for m in models},
            }
        )
        reserved_parts.append(frame.iloc[: len(reserved)])
        test_parts.append(frame.iloc[len(reserved) :])
    held = pd.concat(reserved_parts, ignore_index=True)
    comparison = compare_models(
        held["y_true"].to_numpy(),
        {m: held[f"pred_{m}"].to_numpy() for m in models},
        held[list(config.attributes)],
        dataset.classes,
        BASELINE,
        config.bias,
    )
    cost = accuracy_cost(held, pd.concat(test_parts, ignore_index=True), models, dataset, config)
    write_mitigation_report(out_dir / "report", config, comparison, cost, held)
    return comparison, cost


def accuracy_cost(
    held: pd.DataFrame, official: pd.DataFrame, models: list[str], dataset, config
) -> pd.DataFrame:
    """Accuracy before/after with paired 95% CIs on the reserved images and on the official
    test split (averaged over the folds' models when several folds ran)."""
    bias = BiasConfig(**{**asdict(config.bias), "gap_metrics": ("accuracy", "f1_macro")})
    rows = []
    for label, frame in (("reserved annotated", held), ("official test", official)):
        for model in models[1:]:
            delta = paired_deltas(
                frame["y_true"].to_numpy(),
                frame[f"pred_{BASELINE}"].to_numpy(),
                frame[f"pred_{model}"].to_numpy(),
                np.full(len(frame), label),
                dataset.classes,
                bias,
            )
            rows.append(delta[delta["group"] == label].assign(model=model))
    if not rows:
        return pd.DataFrame()
    cost = pd.concat(rows, ignore_index=True).rename(columns={"group": "images"})
    return cost[["model", *[c for c in cost.columns if c != "model"]]]


def write_mitigation_report(
    report_dir: Path,
    config: MitigateConfig,
    comparison: Comparison,
    cost: pd.DataFrame,
    held: pd.DataFrame,
) -> None:
    """Write the before/after tables, predictions, plots and a Markdown summary atomically
    (replacing only the files of the previous report, see :mod:`aiducation.outdir`)."""
    from aiducation.fairness.plots import plot_model_comparison
    from aiducation.figures import save_figure
    from aiducation.outdir import output_dir
    from aiducation.tables import markdown_table

    with output_dir(report_dir, owner="mitigate", overwrite=True) as tmp:
        to_csv(comparison.table, tmp / "table_3_4.csv", index=False)
        to_csv(comparison.deltas, tmp / "deltas.csv", index=False)
        to_csv(comparison.gaps, tmp / "gaps.csv", index=False)
        to_csv(cost, tmp / "cost.csv", index=False)
        to_csv(held, tmp / "predictions.csv", index=False)
        (tmp / "table_3_4.md").write_text(markdown_table(comparison.table))
        (tmp / "report.md").write_text(mitigation_markdown(config, comparison, cost, len(held)))
        write_json(tmp / MITIGATE_FILE, asdict(config))
        (tmp / "plots").mkdir()
        for attribute in config.attributes:
            fig = plot_model_comparison(comparison.reports, attribute)
            save_figure(fig, tmp / "plots" / f"before_after_{attribute}.png")


def _interval(row: pd.Series, prefix: str = "delta") -> str:
    return f"{row[prefix]:+.4f} [{row[f'{prefix}_ci_low']:+.4f}, {row[f'{prefix}_ci_high']:+.4f}]"


def mitigation_markdown(
    config: MitigateConfig, comparison: Comparison, cost: pd.DataFrame, n_held: int
) -> str:
    from aiducation.tables import markdown_table

    by = " × ".join(config.attributes)
    lines = [
        f"# Bias mitigation by {', '.join(config.attributes)}: before/after on the same "
        "held-out images",
        "",
        f"{n_held} annotated images held out of training ({config.run_folds} of "
        f"{config.folds} folds, stratified by class × {by}, duplicates kept "
        f"together). Baseline = `{BASELINE}`; strategies: {', '.join(config.strategies)}. "
        f"Model: {config.train.get('model', 'default')}, "
        f"{config.train.get('epochs', 'default')} epochs.",
        "",
        "## Table 3.4 shape (per model)",
        "",
        markdown_table(comparison.table),
    ]
    if len(comparison.deltas):
        deltas = comparison.deltas.copy()
        deltas["delta (95% CI)"] = deltas.apply(_interval, axis=1)
        cols = ["model", "attribute", "group", "n", "metric", "before", "after", "delta (95% CI)"]
        lines += ["## Change against the baseline (paired bootstrap)", ""]
        lines += [markdown_table(deltas[cols])]
    gaps = comparison.gaps[comparison.gaps["metric"] == "accuracy"].copy()
    if len(gaps):
        gaps["gap (95% CI)"] = gaps.apply(
            lambda r: f"{r['gap']:.4f} [{r['gap_ci_low']:.4f}, {r['gap_ci_high']:.4f}]", axis=1
        )
        cols = ["model", "attribute", "best_group", "worst_group", "gap (95% CI)", "p_value"]
        cols += ["p_holm", "significant"]
        lines += ["## Accuracy gap between groups per model", "", markdown_table(gaps[cols])]
    if len(cost):
        cost = cost[cost["metric"] == "accuracy"].copy()
        cost["delta (95% CI)"] = cost.apply(_interval, axis=1)
        cols = ["model", "images", "n", "before", "after", "delta (95% CI)"]
        lines += ["## Overall accuracy cost", "", markdown_table(cost[cols])]
    return "\n".join(lines)
