"""Honest evaluation for annotated images: reserve them from training, and know what a model
trained on.

The real age annotations all lie in FER2013's Training/PublicTest images, so a model trained on
the official split has seen them. :func:`annotated_folds` splits the annotated images into
folds (stratified by class × attribute group, duplicate images kept together);
:func:`holdout_indices` trains on everything else. A run directory records its roles in
``split.csv`` so a later ``aiducation bias`` can refuse images the model trained on.
:func:`reserved_run` is ``aiducation train --reserve``: the images of attribute files held out
of one training run.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from aiducation.csvfiles import read_csv, write_csv
from aiducation.data.dataset import PreparedDataset
from aiducation.errors import InputError
from aiducation.fairness.inputs import image_key, read_attributes
from aiducation.models.answers import THRESHOLD_RULE_KEY
from aiducation.rundir import RunDir

ROLES = ("train", "val", "bias_test", "excluded_duplicate", "test", "unused")


def annotated_folds(
    dataset: PreparedDataset, group_values: pd.Series, k: int, seed: int = 0
) -> list[np.ndarray]:
    """``k`` disjoint sets of dataset rows covering every annotated row.

    ``group_values`` has one value per dataset row (NaN = not annotated). Folds are stratified by
    class × group and never split a duplicate group.
    """
    from aiducation.data.splits import grouped_stratified_kfold

    annotated = np.flatnonzero(group_values.notna().to_numpy())
    if len(annotated) < 2 * k:
        raise InputError(f"only {len(annotated)} annotated images: too few for {k} folds")
    strata = (
        pd.Series(dataset.labels[annotated]).astype(str)
        + "|"
        + group_values.iloc[annotated].astype(str).to_numpy()
    )
    folds = grouped_stratified_kfold(
        pd.factorize(strata)[0], dataset.groups[annotated], k=k, seed=seed
    )
    return [np.sort(annotated[test]) for _, test in folds]


def holdout_indices(
    dataset: PreparedDataset, reserved: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(train_idx, val_idx, excluded)``: official train/val rows minus the ``reserved`` rows
    and every duplicate of them (``excluded``), so no copy of a reserved face is trained on."""
    reserved_groups = np.isin(dataset.groups, dataset.groups[reserved])
    is_reserved = np.zeros(len(dataset.meta), bool)
    is_reserved[reserved] = True
    excluded = np.flatnonzero(reserved_groups & ~is_reserved)
    usable = ~reserved_groups
    split = dataset.meta["split"].to_numpy()
    train_idx = np.flatnonzero(usable & (split == "train"))
    val_idx = np.flatnonzero(usable & (split == "val"))
    return train_idx, val_idx, excluded


@dataclass
class Reservation:
    """Images held out of a run for a bias study, and the official train/val rows left."""

    reserved: np.ndarray  # labelled rows held out (the bias study's images)
    train_idx: np.ndarray
    val_idx: np.ndarray
    excluded: np.ndarray  # labelled duplicates of reserved rows, used nowhere
    exclude_groups: np.ndarray  # duplicate groups no unlabelled training face may come from
    n_unlabelled: int  # reserved images among the unlabelled faces

    def split_table(self, dataset: PreparedDataset) -> pd.DataFrame:
        return split_table(dataset, self.train_idx, self.val_idx, self.reserved, self.excluded)


def reserve_images(dataset: PreparedDataset, keys: Iterable[str]) -> Reservation:
    """Hold the images named by ``keys`` (see :func:`image_key`) and all their duplicates out of
    training and validation, the unlabelled faces included."""
    keys = set(keys)
    reserved = np.flatnonzero(dataset.meta["image_name"].map(image_key).isin(keys).to_numpy())
    if not len(reserved):
        raise InputError("none of the reserved images is in the prepared dataset")
    train_idx, val_idx, excluded = holdout_indices(dataset, reserved)
    groups = [dataset.groups[reserved]]
    n_unlabelled = 0
    if dataset.unlabelled is not None:
        meta = dataset.unlabelled.meta
        hit = meta["image_name"].map(image_key).isin(keys).to_numpy()
        n_unlabelled = int(hit.sum())
        groups.append(meta["dup_group"].to_numpy(np.int64)[hit])
    return Reservation(
        reserved, train_idx, val_idx, excluded, np.unique(np.concatenate(groups)), n_unlabelled
    )


def split_table(
    dataset: PreparedDataset,
    train_idx: np.ndarray,
    val_idx: np.ndarray,
    reserved: np.ndarray,
    excluded: np.ndarray,
) -> pd.DataFrame:
    """One row per dataset image: index, image_name, role (see :data:`ROLES`)."""
    split = dataset.meta["split"].to_numpy()
    role = np.where(split == "test", "test", "unused").astype(object)
    role[train_idx], role[val_idx] = "train", "val"
    role[excluded], role[reserved] = "excluded_duplicate", "bias_test"
    return pd.DataFrame(
        {"index": np.arange(len(role)), "image_name": dataset.meta["image_name"], "role": role}
    )


def trained_rows(
    checkpoint_dir: Path,
    model_config: dict,
    dataset: PreparedDataset,
    declared_splits: list[str] | None,
) -> tuple[np.ndarray, str] | None:
    """Which dataset rows the checkpoint *used* (bool mask) and how that is known;
    ``model_config``: the checkpoint's ``model.json`` as loaded.

    Used means fitted on, or used to choose the checkpoint or its Other threshold: such images
    are not held out. Sources, in order: ``split.csv`` in the run directory (roles ``train`` and
    ``val``); the training configuration the checkpoint or its run records (a run on the
    official split fits on ``train`` and chooses on ``val``); the splits the user declared
    (``--trained-on``), plus ``val`` when the checkpoint's Other threshold was chosen there.
    ``None`` when unknown.
    """
    run = RunDir.of_checkpoint(checkpoint_dir)
    if run.split.is_file():
        table = read_csv(run.split, keep_default_na=False)
        used = table["role"].isin(["train", "val"])
        trained = {image_key(n) for n in table.loc[used, "image_name"]}
        keys = dataset.meta["image_name"].map(image_key)
        return keys.isin(trained).to_numpy(), f"{run.split} (roles 'train' and 'val')"
    described = run.read_config() or {}
    official = model_config.get("train_config") or described.get("train")
    if official and not described.get("reserve"):
        mask = dataset.meta["split"].isin(["train", "val"]).to_numpy()
        return mask, (
            f"{checkpoint_dir}: trained on the official split (fitted on train, checkpoint and "
            "Other threshold chosen on val)"
        )
    if declared_splits:
        used = list(declared_splits)
        if "val" in str(model_config.get(THRESHOLD_RULE_KEY, "")) and "val" not in used:
            used.append("val")  # the Other threshold was chosen there
        mask = dataset.meta["split"].isin(used).to_numpy()
        return mask, f"--trained-on {','.join(declared_splits)} (used: {','.join(used)})"
    return None


@contextmanager
def reserved_run(
    dataset: PreparedDataset, reserve: dict, run_dir: Path, warm_start: Path | None = None
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray] | None]:
    """The training subset of a run holding out the images of ``reserve`` (``files``: attribute
    files, ``id_column``), as ``(train_idx, val_idx, exclude_groups)``; ``None`` for an empty
    ``reserve`` (the official split).

    Writes every image's role to the run's ``split.csv`` (read by ``aiducation bias``) before
    the block. A warm start (``warm_start``: its checkpoint folder) must come from a run that
    reserved at least those images. When the block raises ``ValueError`` before the run began
    (no ``config.json`` yet), the ``split.csv`` goes again, and ``run_dir`` too if this made it
    and nothing else is in it.
    """
    if not reserve:
        yield None
        return
    run = RunDir(run_dir)
    made_run_dir = not run.path.exists()
    keys = reserved_keys(reserve)
    if warm_start is not None:
        check_warm_start(warm_start, keys)
    reservation = reserve_images(dataset, keys)
    run.path.mkdir(parents=True, exist_ok=True)
    write_csv(reservation.split_table(dataset), run.split)
    print(
        f"reserved {len(reservation.reserved)} annotated images "
        f"(+{reservation.n_unlabelled} unlabelled, {len(reservation.excluded)} duplicates): "
        f"train {len(reservation.train_idx)}, val {len(reservation.val_idx)}",
        flush=True,
    )
    try:
        yield reservation.train_idx, reservation.val_idx, reservation.exclude_groups
    except ValueError:  # the run refused its configuration
        if not run.config.exists():  # before it began: leave no trace
            run.split.unlink(missing_ok=True)
            if made_run_dir and run.path.is_dir() and not any(run.path.iterdir()):
                run.path.rmdir()
        raise


def reserved_keys(reserve: dict) -> set[str]:
    """Image keys of the attribute files of a ``reserve`` entry (``files``, ``id_column``)."""
    keys: set[str] = set()
    for path in reserve["files"]:
        keys |= set(read_attributes(path, reserve["id_column"]).index)
    return keys


def check_warm_start(checkpoint_dir: Path, keys: set[str]) -> None:
    """Refuse a warm start (the checkpoint in ``checkpoint_dir``) whose run may have trained on
    an image of ``keys``: it must have been trained with ``--reserve`` files naming every one."""
    run = RunDir.of_checkpoint(checkpoint_dir)
    reserve = (run.read_config() or {}).get("reserve")
    if not reserve:
        raise InputError(
            f"--init: the warm start's run {run.path} was not trained with --reserve, so it may "
            "have trained on the images this run holds out"
        )
    missing = sorted(keys - reserved_keys(reserve))
    if missing:
        raise InputError(
            f"--init: the warm start's run {run.path} did not reserve {len(missing)} of the "
            f"images reserved here (e.g. {missing[0]}), so it may have trained on them"
        )
