"""A complete training run on the official split: fit, plots, and held-out test evaluation."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aiducation.data.dataset import PreparedDataset
from aiducation.figures import save_figure
from aiducation.metrics import format_metrics
from aiducation.models.answers import has_other
from aiducation.models.checkpoint import Checkpoint, load_checkpoint
from aiducation.plots import plot_history
from aiducation.rundir import RunDir
from aiducation.training.callbacks import Callback
from aiducation.training.config import TrainConfig
from aiducation.training.evaluation import evaluate_checkpoint, write_evaluation
from aiducation.training.learner import FitResult, fit
from aiducation.training.scheme import calibrate_checkpoint, predict_faces


def train_run(
    config: TrainConfig,
    dataset: PreparedDataset,
    run_dir: str | Path,
    *,
    resume: bool = False,
    subset: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    described: dict | None = None,
    warm_source: Checkpoint | None = None,
    callbacks: list[Callback] | None = None,
) -> tuple[FitResult, dict]:
    """Fit on ``train``, choose on ``val``, evaluate the best checkpoint on ``test``.

    ``subset``: ``(train_idx, val_idx, exclude_groups)`` instead of the whole official
    train/val splits (images reserved for a bias study; see :func:`fit`); the Other threshold
    is then chosen on ``val_idx`` and the split's unlabelled faces. ``warm_source``: the loaded
    checkpoint of ``config.init_from`` (see :func:`fit`). ``callbacks``: those of :func:`fit`
    (default: its :func:`~aiducation.training.learner.default_callbacks`). Writes
    ``plots/history.png``, ``val/`` and ``test/`` (see :mod:`aiducation.training.evaluation`)
    into ``run_dir``; returns the fit result and the test metrics.
    """
    run = RunDir(run_dir)
    train_idx, val_idx, exclude_groups = subset or (
        dataset.split_indices("train"),
        dataset.split_indices("val"),
        None,
    )
    result = fit(
        config,
        dataset,
        train_idx,
        val_idx,
        run.path,
        resume=resume,
        # in config.json before epoch 1: resumable
        described={"data": str(dataset.root), **(described or {})},
        exclude_groups=exclude_groups,
        warm_source=warm_source,
        callbacks=callbacks,
    )
    save_figure(plot_history(run.log, title=config.model), run.history_plot)
    checkpoint = load_checkpoint(result.best_checkpoint, device=config.device)
    print(f"best epoch {result.best_epoch} ({result.stop_reason}); {result.elapsed_s:.0f}s")
    made = {}  # predictions to reuse: val without flip averaging, as the threshold is chosen
    if has_other(checkpoint.classes):
        val = predict_faces(  # the validation faces the run chose on (all of val by default)
            checkpoint.model, len(checkpoint.classes), dataset, val_idx, unlabelled_split="val"
        )
        threshold = calibrate_checkpoint(checkpoint, dataset, predictions=val)
        print(f"Other: in-scheme threshold {threshold:.2f} (chosen on val)")
        made = {} if config.tta_flip else {"val": val}
    test_metrics = {}
    for split in ("val", "test"):
        if len(dataset.split_indices(split)) == 0:
            continue
        rows = val_idx if split == "val" else None
        metrics, predictions = evaluate_checkpoint(
            checkpoint, dataset, rows, split=split, tta_flip=config.tta_flip,
            batch_size=config.eval_batch_size, predictions=made.get(split),
        )  # fmt: skip
        metrics.update(split=split, checkpoint=str(result.best_checkpoint), epoch=result.best_epoch)
        title = f"{config.model}: {split}"
        write_evaluation(run.evaluation(split), metrics, predictions, title, overwrite=True)
        print(f"{split} (best checkpoint):\n{format_metrics(metrics)}")
        test_metrics = metrics if split == "test" else test_metrics
    return result, test_metrics
