"""A grid of training runs on the official split: Table 2.2 and the report's comparison plots.

Layout of a grid directory::

    grid.json             the grid: models, base TrainConfig, data, limit, backend
    runs/<model>/         one ``train_run`` each (log, checkpoints, plots, val/, test/) and
                          result.json once finished (finished runs are skipped on a re-run,
                          interrupted ones resume from their last epoch); see
                          :mod:`aiducation.rundir`
    table_2_2.csv/.md     one row per model: test metrics of the validation-chosen checkpoint
    plots/comparison.png  test accuracy by kernel × blocks, channels × blocks, kernel × channels
    plots/best_confusion.png, plots/best_history.png, best_model.json   the best model
                          (chosen on validation accuracy, never on test)
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import pandas as pd

from aiducation.atomic import write_json
from aiducation.experiments.backends import (
    BackendConfig,
    run_trials,
    threads_per_trial,
    trial_devices,
)
from aiducation.experiments.runs import (
    atomic_write,
    check_unchanged,
    comparable_config,
    load_dataset,
    read_result,
    subsample,
    write_table,
)
from aiducation.metrics import HEADLINE_METRICS
from aiducation.rundir import BEST_MODEL_FILE, GRID_FILE, PLOTS_DIR, RunDir
from aiducation.tables import markdown_table
from aiducation.training.config import TrainConfig

# The report's hyper-parameters (Table 2.1): Adam, lr 1e-3, weight decay 1e-4, batch 64, 100
# epochs, plain cross-entropy; a constant learning rate (the report used no schedule).
SEED_PRESET = {
    "optimizer": "adam",
    "lr": 1e-3,
    "weight_decay": 1e-4,
    "batch_size": 64,
    "epochs": 100,
    "schedule": "constant",
    "label_smoothing": 0.0,
    "targets": "hard",
}

TABLE_2_2_COLUMNS = ("model", "K", "blocks", "channels", "FCs", "parameters", *HEADLINE_METRICS,
                     "val_accuracy", "best_epoch", "epochs_run", "train_minutes")  # fmt: skip


@dataclass
class GridTrial:
    """One model of a grid: everything a worker needs, picklable."""

    model: str
    config: dict  # TrainConfig.to_dict() with this model
    data: str
    run_dir: str
    limit: int = 0
    train_limit: int = 0


@dataclass
class GridSpec:
    """A grid: models trained with one base configuration on one prepared dataset."""

    models: list[str]
    config: TrainConfig
    data: Path
    out: Path
    limit: int = 0  # random subset of this many images (0 = all), for smoke runs
    backend: BackendConfig = field(default_factory=BackendConfig)
    train_limit: int = 0  # random subset of the training split only (0 = all)

    def trials(self) -> list[GridTrial]:
        threads = self.config.threads or threads_per_trial(self.backend)
        quiet = self.backend.name == "ray" or self.backend.workers > 1
        devices = trial_devices(self.backend, self.config.device, len(self.models))
        return [
            GridTrial(
                model=name,
                config=replace(
                    self.config,
                    model=name,
                    threads=threads,
                    progress=self.config.progress and not quiet,
                    device=device,
                ).to_dict(),
                data=str(self.data),
                run_dir=str(model_run_dir(self.out, name)),
                limit=self.limit,
                train_limit=self.train_limit,
            )
            for name, device in zip(self.models, devices, strict=True)
        ]


def model_run_dir(out: Path, model: str) -> Path:
    """The run directory of ``model`` in the grid at ``out``."""
    return out / "runs" / model


def architecture(model: str, model_kwargs: dict) -> dict:
    """K, blocks, channels, FCs (report family only, else blank) and the parameter count."""
    from aiducation.models import count_parameters, create_model
    from aiducation.models.seed_family import parse_seed_name

    parsed = parse_seed_name(model) or {}
    return {
        "K": parsed.get("kernel"),
        "blocks": parsed.get("blocks"),
        "channels": parsed.get("channels"),
        "FCs": parsed.get("fc"),
        "parameters": count_parameters(create_model(model, **model_kwargs)),
    }


def run_grid_trial(trial: GridTrial, callbacks: list | None = None) -> dict:
    """Train one model (resuming if interrupted) and return its Table 2.2 row. ``callbacks``:
    the training loop's (default: :func:`~aiducation.training.learner.default_callbacks`)."""
    run_dir = Path(trial.run_dir)
    done = read_result(run_dir)
    if done is not None:
        return done
    from aiducation.training.run import train_run

    dataset = subsample(load_dataset(trial.data, trial.limit), trial.train_limit, split="train")
    config = TrainConfig.from_dict(trial.config)
    result, test = train_run(config, dataset, run_dir, resume=True, callbacks=callbacks)
    best = next(row for row in result.history if row["epoch"] == result.best_epoch)
    row = {
        "model": trial.model,
        **architecture(trial.model, {"num_classes": len(dataset.classes), **config.model_kwargs}),
        **{k: test[k] for k in HEADLINE_METRICS},
        "val_accuracy": best["val_accuracy"],
        "best_epoch": result.best_epoch,
        "epochs_run": len(result.history),
        "train_minutes": result.elapsed_s / 60,
        "n_test": test["n"],
        "stop_reason": result.stop_reason,
        "run_dir": str(run_dir),
    }
    write_json(RunDir(run_dir).result, row)
    return row


def table_2_2(rows: list[dict]) -> pd.DataFrame:
    """Table 2.2 from result rows, in the given order (missing architecture fields blank)."""
    table = pd.DataFrame(rows)
    return table[[c for c in TABLE_2_2_COLUMNS if c in table]]


def best_row(table: pd.DataFrame) -> pd.Series:
    """The model chosen on validation accuracy (never on test accuracy)."""
    return table.loc[table["val_accuracy"].idxmax()]


def plot_comparisons(table: pd.DataFrame):
    """Test accuracy of the report family by kernel × blocks, channels × blocks and
    kernel × channels: bars are means over the remaining factor, dots the single models."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    family = table.dropna(subset=["K"]).copy()
    family["depth"] = [
        f"N{int(b)}_FC{int(f)}" for b, f in zip(family["blocks"], family["FCs"], strict=True)
    ]
    family["kernel"] = [f"K{int(k)}" for k in family["K"]]
    family["width"] = [f"B{int(c)}" for c in family["channels"]]
    pairs = (("kernel", "depth"), ("width", "depth"), ("kernel", "width"))
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), sharey=True)
    for ax, (x, hue) in zip(axes, pairs, strict=True):
        xs, hues = sorted(family[x].unique(), key=_natural), sorted(family[hue].unique())
        width = 0.8 / max(1, len(hues))
        for j, h in enumerate(hues):
            offsets = np.arange(len(xs)) + (j - (len(hues) - 1) / 2) * width
            sub = family[family[hue] == h]
            means = [sub.loc[sub[x] == v, "accuracy"].mean() for v in xs]
            ax.bar(offsets, means, width, label=h, alpha=0.8)
            for offset, v in zip(offsets, xs, strict=True):
                points = sub.loc[sub[x] == v, "accuracy"]
                ax.scatter([offset] * len(points), points, color="black", s=10, zorder=3)
        ax.set_xticks(range(len(xs)), xs)
        ax.set(title=f"{x} × {hue}", xlabel=x, ylabel="held-out test accuracy")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(title=hue, fontsize=8)
    low = family["accuracy"].min() if len(family) else 0.0
    axes[0].set_ylim(max(0.0, low - 0.1), min(1.0, family["accuracy"].max() + 0.05))
    fig.suptitle("Report family: test accuracy (bars: mean over the other factor; dots: models)")
    fig.tight_layout()
    return fig


def _natural(text: str) -> tuple:
    digits = "".join(ch for ch in text if ch.isdigit())
    return (int(digits) if digits else 0, text)


def grid_markdown(table: pd.DataFrame, spec_note: str) -> str:
    best = best_row(table)
    return (
        f"# Table 2.2: model grid\n\n{spec_note}\n\n{markdown_table(table)}\n"
        f"Best model on validation accuracy: **{best['model']}** (test accuracy "
        f"{best['accuracy']:.4f}).\n"
    )


def run_grid(spec: GridSpec) -> pd.DataFrame:
    """Run (or resume) every model of the grid, then write Table 2.2 and the plots."""
    spec.out.mkdir(parents=True, exist_ok=True)
    described = {
        "models": spec.models,
        "config": comparable_config(spec.config),
        "device": spec.config.device,  # as requested; each run's config.json: the one used
        "data": str(spec.data),
        "limit": spec.limit,
        "train_limit": spec.train_limit,
        "backend": asdict(spec.backend),
    }
    check_unchanged(spec.out / GRID_FILE, described, ("config", "data", "limit", "train_limit"))
    write_json(spec.out / GRID_FILE, described)
    rows = run_trials(run_grid_trial, spec.trials(), spec.backend, desc="grid")
    return write_grid_outputs(spec.out, rows, spec.config, spec.limit, spec.train_limit)


def write_grid_outputs(
    out: Path, rows: list[dict], config: TrainConfig, limit: int = 0, train_limit: int = 0
) -> pd.DataFrame:
    from aiducation.figures import save_figure

    table = table_2_2(rows)
    note = (
        f"Held-out test-split metrics of the checkpoint chosen on "
        f"validation accuracy; {config.optimizer} lr {config.lr:g}, weight decay "
        f"{config.weight_decay:g}, batch {config.batch_size}, up to {config.epochs} epochs"
        + (f", at most {config.max_minutes:g} min per run" if config.max_minutes else "")
        + (f"; random subset of {limit} images" if limit else "")
        + (f"; trained on a random subset of {train_limit} training images" if train_limit else "")
        + "."
    )
    write_table(table, out / "table_2_2", grid_markdown(table, note))
    plots = out / PLOTS_DIR
    if table["K"].notna().any():
        save_figure(plot_comparisons(table), plots / "comparison.png")
    best = best_row(table)
    best_run = RunDir(model_run_dir(out, str(best["model"])))
    for source, name in (
        (best_run.evaluation("test") / "confusion.png", "best_confusion.png"),
        (best_run.history_plot, "best_history.png"),
    ):
        if source.is_file():
            atomic_write(plots / name, lambda tmp, src=source: shutil.copyfile(src, tmp))
    chosen = {"model": str(best["model"]), "run_dir": str(best_run.path),
              "val_accuracy": float(best["val_accuracy"])}  # fmt: skip
    write_json(out / BEST_MODEL_FILE, chosen)
    return table
