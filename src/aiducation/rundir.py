"""The layout of the folders training and experiments write: the one owner of their file names.

A run directory is what one training writes (``aiducation train``, one model of a grid, one
fold of a k-fold, one model of a mitigation)::

    config.json           the run's TrainConfig and data description   RunDir.config
    log.csv               one row per epoch                             RunDir.log
    split.csv             role of every dataset image (--reserve runs)  RunDir.split
    checkpoints/best/     the model chosen on validation                RunDir.checkpoint("best")
    checkpoints/last/     the model after the latest epoch              RunDir.checkpoint("last")
    checkpoints/resume/   optimizer + model + history (bit-exact resume) RunDir.checkpoint("resume")
    plots/history.png     training curves                               RunDir.history_plot
    val/, test/           evaluations of the best checkpoint            RunDir.evaluation("test")
    result.json           a finished grid or k-fold trial's row         RunDir.result

A checkpoint folder holds ``model.safetensors`` and ``model.json`` (its own config, not the
run's ``config.json``; see :mod:`aiducation.models.checkpoint`). An experiment folder is known
by its marker file (:data:`MARKERS`): ``grid.json``, ``kfold.json`` or ``mitigate.json``.

The names on disk never change, so every run written before keeps loading. This module imports
nothing of the package: training, experiments, fairness, models and the web all read it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

RUN_CONFIG_FILE = "config.json"
LOG_FILE = "log.csv"
SPLIT_FILE = "split.csv"
RESULT_FILE = "result.json"  # written last in a trial's run directory: its presence = done
CHECKPOINTS_DIR = "checkpoints"
CHECKPOINT_NAMES = ("best", "last", "resume")
PLOTS_DIR = "plots"
HISTORY_PLOT = "history.png"
RUN_FILES = frozenset({RUN_CONFIG_FILE, LOG_FILE})  # a folder holding both is a run directory

GRID_FILE = "grid.json"  # marks a grid folder (aiducation grid)
BEST_MODEL_FILE = "best_model.json"  # a grid's model chosen on validation (read by kfold)
KFOLD_FILE = "kfold.json"  # marks a k-fold folder (aiducation kfold)
MITIGATE_FILE = "mitigate.json"  # marks a mitigation folder (aiducation mitigate)
MARKERS = {GRID_FILE: "grid", KFOLD_FILE: "kfold", MITIGATE_FILE: "mitigation"}


def _in_run(*parts: str) -> property:
    """A :class:`RunDir` property: the path ``parts`` inside the run directory."""
    return property(lambda run: run.path.joinpath(*parts), doc=f"``{'/'.join(parts)}``")


@dataclass(frozen=True)
class RunDir:
    """The paths of one run directory (nothing is read or created by building one)."""

    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))

    @classmethod
    def of_checkpoint(cls, checkpoint_dir: str | Path) -> RunDir:
        """The run holding ``checkpoints/<name>/``; a checkpoint elsewhere: its own folder."""
        checkpoint_dir = Path(checkpoint_dir)
        if in_run(checkpoint_dir):
            return cls(checkpoint_dir.parent.parent)
        return cls(checkpoint_dir)

    config = _in_run(RUN_CONFIG_FILE)
    log = _in_run(LOG_FILE)
    split = _in_run(SPLIT_FILE)
    result = _in_run(RESULT_FILE)
    plots = _in_run(PLOTS_DIR)
    history_plot = _in_run(PLOTS_DIR, HISTORY_PLOT)

    def checkpoint(self, name: str = "best") -> Path:
        """``checkpoints/<name>`` for one of :data:`CHECKPOINT_NAMES`."""
        if name not in CHECKPOINT_NAMES:
            raise ValueError(f"checkpoint {name!r}: expected one of {', '.join(CHECKPOINT_NAMES)}")
        return self.path / CHECKPOINTS_DIR / name

    def evaluation(self, split: str) -> Path:
        """The folder of the best checkpoint's evaluation on ``split`` (``val``, ``test``)."""
        return self.path / split

    def read_config(self) -> dict | None:
        """The run's ``config.json``, or ``None`` when there is none."""
        return json.loads(self.config.read_text()) if self.config.is_file() else None


def in_run(checkpoint_dir: str | Path) -> bool:
    """Whether ``checkpoint_dir`` is a run's ``checkpoints/<name>/`` folder."""
    return Path(checkpoint_dir).parent.name == CHECKPOINTS_DIR
