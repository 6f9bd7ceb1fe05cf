"""Shared pieces of grid and k-fold experiments: datasets, result files and tables on disk."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from aiducation.atomic import atomic_file, write_text
from aiducation.csvfiles import write_csv
from aiducation.data.dataset import PreparedDataset, load_prepared
from aiducation.rundir import RunDir
from aiducation.tables import markdown_table


def subsample(
    dataset: PreparedDataset, limit: int, seed: int = 0, split: str | None = None
) -> PreparedDataset:
    """A seeded random subset of ``limit`` images (all images when ``limit`` is 0 or larger).

    With ``split`` only that split's rows are subsampled and the other splits stay whole
    (e.g. fewer training images, full validation and test). Meant for reduced budgets on small
    machines; rows keep their order, splits and duplicate groups.
    """
    pool = np.arange(len(dataset.meta))
    if split is not None:
        pool = pool[dataset.meta["split"].to_numpy() == split]
    if limit <= 0 or limit >= len(pool):
        return dataset
    chosen = np.random.default_rng(seed).permutation(pool)[:limit]
    keep = np.sort(np.concatenate([np.setdiff1d(np.arange(len(dataset.meta)), pool), chosen]))
    return PreparedDataset(
        root=dataset.root,
        images=np.ascontiguousarray(dataset.images[keep]),
        meta=dataset.meta.iloc[keep].reset_index(drop=True),
        summary=dataset.summary,
        unlabelled=dataset.unlabelled,
    )


def load_dataset(data: str | Path, limit: int = 0, seed: int = 0) -> PreparedDataset:
    """The prepared dataset at ``data``, subsampled to ``limit`` images when asked."""
    return subsample(load_prepared(data), limit, seed)


def atomic_write(path: Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it to ``path``."""
    with atomic_file(path) as tmp:
        write(tmp)
    return Path(path)


def read_result(run_dir: Path) -> dict | None:
    """The finished trial's result row, or ``None`` if the trial has not finished (its
    ``result.json`` is written last)."""
    path = RunDir(run_dir).result
    return json.loads(path.read_text()) if path.is_file() else None


def write_table(frame: pd.DataFrame, stem: Path, markdown: str | None = None) -> tuple[Path, Path]:
    """Write ``stem.csv`` and ``stem.md`` (``markdown`` or a plain table) atomically."""
    csv = write_csv(frame, stem.with_suffix(".csv"))
    text = markdown if markdown is not None else markdown_table(frame)
    md = write_text(stem.with_suffix(".md"), text)
    return csv, md


def comparable_config(config) -> dict:
    """A TrainConfig as an experiment file records it: without what may change between runs
    of one experiment (threads, progress bar, device)."""
    saved = {**config.to_dict(), "threads": 0, "progress": True}
    saved.pop("device")
    return saved


def check_unchanged(path: Path, described: dict, keys: tuple[str, ...]) -> None:
    """Raise ``ValueError`` if an earlier experiment in this directory used other ``keys``."""
    if not Path(path).is_file():
        return
    saved = json.loads(Path(path).read_text())
    if isinstance(saved.get("config"), dict):  # TrainConfig fields: retired ones, at their
        #   default, dropped (refused when used)
        from aiducation.training.choices import without_retired

        saved["config"] = without_retired(saved["config"])
    differences = []
    for key in keys:
        now = json.loads(json.dumps(described[key], default=str))
        if key in saved and saved[key] != now:
            differences += _differences(key, saved[key], now)
    if differences:
        shown = "; ".join(differences[:5]) + ("; ..." if len(differences) > 5 else "")
        raise ValueError(
            f"{path} was written with other options ({shown}); finished runs there would be "
            "mixed with new ones"
        )


def _differences(name: str, saved, now) -> list[str]:
    """``name.field: saved → now`` for each differing leaf of two JSON values."""
    if isinstance(saved, dict) and isinstance(now, dict):
        return [
            line
            for key in sorted(set(saved) | set(now))
            for line in _differences(f"{name}.{key}", saved.get(key), now.get(key))
        ]
    return [] if saved == now else [f"{name}: {saved!r} then, {now!r} now"]
