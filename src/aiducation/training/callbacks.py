"""Training-loop concerns kept out of the loop: logging, checkpoints, early stopping, progress.

A callback overrides any of the events below; the learner calls them in list order. Stop
decisions are pure functions of the history, so they survive a resume unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from aiducation.csvfiles import write_csv

if TYPE_CHECKING:
    from aiducation.training.learner import Learner


class Callback:
    """Base class: every event is a no-op."""

    def on_fit_start(self, learner: Learner) -> None: ...
    def on_epoch_start(self, learner: Learner) -> None: ...
    def on_batch_end(self, learner: Learner, loss: float, correct: int, size: int) -> None: ...
    def on_epoch_end(self, learner: Learner, row: dict) -> None: ...
    def on_fit_end(self, learner: Learner) -> None: ...


def best_epoch(history: list[dict], monitor: str) -> int:
    """Epoch (1-based) with the highest ``monitor`` value; the earliest on ties; 0 if none."""
    if not history:
        return 0
    return max(history, key=lambda row: (row[monitor], -row["epoch"]))["epoch"]


def should_stop_early(history: list[dict], monitor: str, patience: int) -> bool:
    """True when ``patience`` epochs have passed without a new best ``monitor`` value."""
    return (
        patience > 0
        and bool(history)
        and history[-1]["epoch"] - best_epoch(history, monitor) >= patience
    )


def over_time_budget(history: list[dict], max_minutes: float) -> bool:
    return max_minutes > 0 and bool(history) and history[-1]["elapsed_s"] >= 60 * max_minutes


class CSVLogger(Callback):
    """Rewrites ``log.csv`` (one row per epoch) after every epoch."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def on_epoch_end(self, learner: Learner, row: dict) -> None:
        if learner.history:
            write_csv(pd.DataFrame(learner.history), self.path)


class Checkpointer(Callback):
    """Saves ``best`` (highest ``monitor``), ``last`` and the resumable state."""

    def __init__(self, monitor: str = "val_accuracy") -> None:
        self.monitor = monitor

    def on_epoch_end(self, learner: Learner, row: dict) -> None:
        if best_epoch(learner.history, self.monitor) == row["epoch"]:
            learner.save_model("best")
        learner.save_model("last")
        learner.save_resume_state()


class EarlyStopping(Callback):
    """Stops after ``patience`` epochs without a better ``monitor`` (0: never) or once the run
    has taken ``max_minutes`` (0: no limit); also checked at the start of a resumed run."""

    def __init__(
        self, monitor: str = "val_accuracy", patience: int = 0, max_minutes: float = 0.0
    ) -> None:
        self.monitor, self.patience, self.max_minutes = monitor, patience, max_minutes

    def on_fit_start(self, learner: Learner) -> None:
        self.on_epoch_end(learner, {})

    def on_epoch_end(self, learner: Learner, row: dict) -> None:
        if should_stop_early(learner.history, self.monitor, self.patience):
            learner.stop_reason = f"no {self.monitor} improvement for {self.patience} epochs"
        elif over_time_budget(learner.history, self.max_minutes):
            learner.stop_reason = f"time budget of {self.max_minutes} min reached"


class ProgressBar(Callback):
    """A tqdm bar per epoch with live loss/accuracy (if ``bar``), then one line per epoch
    (``epochs``: the planned number, shown as "epoch 3/30")."""

    def __init__(self, bar: bool = True, epochs: int = 0) -> None:
        self.show_bar, self.epochs = bar, epochs

    def on_epoch_start(self, learner: Learner) -> None:
        from tqdm.auto import tqdm

        self.loss_sum, self.correct, self.seen = 0.0, 0, 0
        self.bar = tqdm(
            total=learner.steps_per_epoch,
            desc=f"epoch {learner.epoch + 1}/{self.epochs or '?'}",
            leave=False,
            dynamic_ncols=True,
            disable=not self.show_bar,
        )

    def on_batch_end(self, learner: Learner, loss: float, correct: int, size: int) -> None:
        self.loss_sum += loss * size
        self.correct += correct
        self.seen += size
        self.bar.update(1)
        if self.bar.n % 10 == 0 or self.bar.n == self.bar.total:
            self.bar.set_postfix(
                loss=f"{self.loss_sum / self.seen:.4f}", acc=f"{self.correct / self.seen:.3f}"
            )

    def on_epoch_end(self, learner: Learner, row: dict) -> None:
        self.bar.close()
        print(
            f"epoch {row['epoch']:>3}  train_loss {row['train_loss']:.4f}  "
            f"val_loss {row['val_loss']:.4f}  val_acc {row['val_accuracy']:.4f}  "
            f"val_macro_f1 {row['val_macro_f1']:.4f}  lr {row['lr']:.2e}  {row['seconds']:.0f}s",
            flush=True,
        )
