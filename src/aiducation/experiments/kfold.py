"""K-fold cross-validation of one model: Table 3.2 and out-of-fold predictions.

Folds are stratified by class, seeded, and keep every duplicate group (identical images) in
one fold (:func:`aiducation.data.splits.grouped_stratified_kfold`). In each fold the model
trains on the other folds minus an inner validation split (also grouped and stratified) that
chooses the checkpoint; the held-out fold is evaluated once, with that checkpoint.

Layout of a k-fold directory::

    kfold.json               model, folds, seed, base TrainConfig, data, limit, backend
    folds.csv                dataset index, image_name, fold, role in its own fold's run
    fold_<i>/                the fit run (log, checkpoints), predictions.csv of the held-out
                             fold, result.json once finished (resumable like the grid)
    table_3_2.csv/.md        per-fold metrics, then mean and std rows
    oof_predictions.csv      index, image_name, source_row, y_true, y_pred, p_<class>..., fold
    plots/folds.png          per-fold metrics with the mean
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from aiducation.atomic import write_json
from aiducation.csvfiles import read_csv, write_csv
from aiducation.experiments.backends import (
    BackendConfig,
    run_trials,
    threads_per_trial,
    trial_devices,
)
from aiducation.experiments.runs import (
    check_unchanged,
    comparable_config,
    load_dataset,
    read_result,
    write_table,
)
from aiducation.metrics import HEADLINE_METRICS as METRICS
from aiducation.rundir import HISTORY_PLOT, KFOLD_FILE, PLOTS_DIR, RunDir
from aiducation.tables import markdown_table
from aiducation.training.config import TrainConfig

SPEC_KEYS = ("config", "data", "folds", "seed", "val_fraction", "splits", "limit")


@dataclass
class FoldTrial:
    """One fold: everything a worker needs, picklable."""

    fold: int
    config: dict
    data: str
    run_dir: str
    train_idx: np.ndarray  # inner training images (dataset rows)
    val_idx: np.ndarray  # inner validation images: choose the checkpoint
    test_idx: np.ndarray  # the held-out fold
    limit: int = 0


@dataclass
class KFoldSpec:
    config: TrainConfig  # its ``model`` is the model cross-validated
    data: Path
    out: Path
    folds: int = 10
    seed: int = 0  # fold assignment and inner splits
    val_fraction: float = 0.1  # of each fold's training images, for checkpoint choice
    splits: tuple[str, ...] = ("train", "val", "test")  # prepared splits pooled for the folds
    limit: int = 0
    backend: BackendConfig = field(default_factory=BackendConfig)


def fold_dir(out: Path, fold: int) -> Path:
    return out / f"fold_{fold:02d}"


def pooled_indices(dataset, splits: tuple[str, ...]) -> np.ndarray:
    return np.sort(np.concatenate([dataset.split_indices(s) for s in splits]))


def fold_plan(dataset, spec: KFoldSpec) -> pd.DataFrame:
    """Every pooled image's fold and its role (train/val) in the other folds' inner splits.

    Returns ``index, image_name, fold`` plus one column per fold ``role_<i>`` (``train``,
    ``val`` or ``test``).
    """
    from aiducation.data.splits import grouped_stratified_kfold, random_grouped_split

    pool = pooled_indices(dataset, spec.splits)
    labels, groups = dataset.labels[pool], dataset.groups[pool]
    plan = pd.DataFrame({"index": pool, "image_name": dataset.meta["image_name"].to_numpy()[pool]})
    plan["fold"] = -1
    for i, (train, test) in enumerate(
        grouped_stratified_kfold(labels, groups, spec.folds, spec.seed)
    ):
        plan.loc[test, "fold"] = i
        role = np.full(len(pool), "test", dtype=object)
        role[train] = random_grouped_split(
            labels[train],
            groups[train],
            (1 - spec.val_fraction, spec.val_fraction),
            seed=spec.seed + 1 + i,
            names=("train", "val"),
        )
        plan[f"role_{i}"] = role
    return plan


def fold_trials(spec: KFoldSpec, plan: pd.DataFrame) -> list[FoldTrial]:
    threads = spec.config.threads or threads_per_trial(spec.backend)
    quiet = spec.backend.name == "ray" or spec.backend.workers > 1
    config = replace(spec.config, threads=threads, progress=spec.config.progress and not quiet)
    devices = trial_devices(spec.backend, spec.config.device, spec.folds)
    index = plan["index"].to_numpy()
    return [
        FoldTrial(
            fold=i,
            config=replace(config, device=devices[i]).to_dict(),
            data=str(spec.data),
            run_dir=str(fold_dir(spec.out, i)),
            train_idx=index[plan[f"role_{i}"].to_numpy() == "train"],
            val_idx=index[plan[f"role_{i}"].to_numpy() == "val"],
            test_idx=index[plan[f"role_{i}"].to_numpy() == "test"],
            limit=spec.limit,
        )
        for i in range(spec.folds)
    ]


def oof_frame(dataset, predictions: pd.DataFrame, fold: int) -> pd.DataFrame:
    """Out-of-fold predictions: the predictions schema plus ``source_row`` and ``fold``."""
    frame = predictions.copy()
    frame.insert(2, "source_row", dataset.meta["source_row"].to_numpy()[frame["index"]])
    frame["fold"] = fold
    return frame


def run_fold_trial(trial: FoldTrial, callbacks: list | None = None) -> dict:
    """Train one fold (resuming if interrupted), evaluate the held-out fold, return its row.
    ``callbacks``: the training loop's (default: its ``default_callbacks``)."""
    run = RunDir(trial.run_dir)
    done = read_result(run.path)
    if done is not None:
        return done
    from aiducation.figures import save_figure
    from aiducation.models.checkpoint import load_checkpoint
    from aiducation.plots import plot_history
    from aiducation.training.evaluation import evaluate_checkpoint
    from aiducation.training.learner import fit

    dataset = load_dataset(trial.data, trial.limit)
    config = TrainConfig.from_dict(trial.config)
    result = fit(config, dataset, trial.train_idx, trial.val_idx, run.path, resume=True,
                 callbacks=callbacks)  # fmt: skip
    save_figure(plot_history(run.log, f"fold {trial.fold}"), run.path / HISTORY_PLOT)
    metrics, predictions = evaluate_checkpoint(
        load_checkpoint(result.best_checkpoint, device=config.device),
        dataset,
        trial.test_idx,
        tta_flip=config.tta_flip,
        batch_size=config.eval_batch_size,
    )
    predictions = oof_frame(dataset, predictions, trial.fold)
    write_csv(predictions, run.path / "predictions.csv")
    row = {
        "fold": trial.fold,
        **{k: metrics[k] for k in METRICS},
        "n_train": len(trial.train_idx),
        "n_val": len(trial.val_idx),
        "n_test": len(trial.test_idx),
        "best_epoch": result.best_epoch,
        "epochs_run": len(result.history),
        "train_minutes": result.elapsed_s / 60,
        "stop_reason": result.stop_reason,
        "run_dir": str(run.path),
    }
    write_json(run.result, row)
    return row


def table_3_2(rows: list[dict]) -> pd.DataFrame:
    """Per-fold metrics, then ``mean`` and ``std`` (sample std over folds) rows."""
    table = pd.DataFrame(rows)[["fold", *METRICS, "train_minutes", "n_test", "best_epoch"]]
    table["fold"] = table["fold"].astype(str)
    numeric = table[[*METRICS, "train_minutes"]]
    summary = pd.DataFrame(
        [{"fold": "mean", **numeric.mean()}, {"fold": "std", **numeric.std(ddof=1)}]
    )
    table = pd.concat([table, summary], ignore_index=True)
    return table.astype({"n_test": "Int64", "best_epoch": "Int64"})


def kfold_markdown(table: pd.DataFrame, note: str, pooled: dict) -> str:
    folds = table[~table["fold"].isin(["mean", "std"])]
    mean, std = table.set_index("fold").loc["mean"], table.set_index("fold").loc["std"]
    summary = " · ".join(f"{m} {mean[m]:.4f} ± {std[m]:.4f}" for m in METRICS)
    return (
        f"# Table 3.2: {len(folds)}-fold cross-validation\n\n{note}\n\n{markdown_table(table)}\n"
        f"Mean ± std over folds: {summary}.\n\n"
        f"Pooled out-of-fold: accuracy {pooled['accuracy']:.4f}, macro F1 "
        f"{pooled['macro_f1']:.4f} on {pooled['n']} images.\n"
    )


def plot_folds(table: pd.DataFrame):
    """Per-fold metrics (lines) with dashed mean lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folds = table[~table["fold"].isin(["mean", "std"])]
    mean = table.set_index("fold").loc["mean"]
    fig, ax = plt.subplots(figsize=(8, 4))
    x = folds["fold"].astype(int)
    for metric in METRICS:
        (line,) = ax.plot(x, folds[metric], marker="o", label=metric)
        ax.axhline(mean[metric], color=line.get_color(), linestyle="--", alpha=0.6)
    ax.set_xticks(list(x))
    ax.set(xlabel="fold", ylabel="held-out fold score", title="Per-fold metrics (dashed: mean)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def run_kfold(spec: KFoldSpec) -> pd.DataFrame:
    """Run (or resume) every fold, then write Table 3.2, out-of-fold predictions and the plot."""
    from aiducation.figures import save_figure
    from aiducation.metrics import classification_metrics

    spec.out.mkdir(parents=True, exist_ok=True)
    dataset = load_dataset(spec.data, spec.limit)
    plan = fold_plan(dataset, spec)
    described = {
        **{k: v for k, v in asdict(spec).items() if k not in ("config", "backend")},
        "config": comparable_config(spec.config),
        "device": spec.config.device,  # as requested; each fold's config.json: the one used
        "backend": asdict(spec.backend),
    }
    check_unchanged(spec.out / KFOLD_FILE, described, SPEC_KEYS)
    write_json(spec.out / KFOLD_FILE, described)
    write_csv(plan, spec.out / "folds.csv")
    rows = run_trials(run_fold_trial, fold_trials(spec, plan), spec.backend, desc="folds")
    oof = pd.concat(
        [read_csv(fold_dir(spec.out, row["fold"]) / "predictions.csv") for row in rows],
        ignore_index=True,
    ).sort_values("index")
    write_csv(oof, spec.out / "oof_predictions.csv")
    classes = dataset.classes
    pooled = classification_metrics(
        oof["y_true"].map(classes.index), oof["y_pred"].map(classes.index), classes
    )
    write_json(spec.out / "oof_metrics.json", pooled)
    table = table_3_2(rows)
    note = (
        f"{spec.config.model}: held-out fold metrics of the checkpoint chosen on an inner "
        f"validation split ({spec.val_fraction:.0%} of each fold's training images); folds "
        f"stratified, duplicate-aware, seed {spec.seed}; up to {spec.config.epochs} epochs"
        + (f" ({spec.limit} images subset)" if spec.limit else "")
        + "."
    )
    write_table(table, spec.out / "table_3_2", kfold_markdown(table, note, pooled))
    save_figure(plot_folds(table), spec.out / PLOTS_DIR / "folds.png")
    return table
