"""``aiducation prepare``: raw FER2013/FER+ inputs → the prepared dataset of
:mod:`aiducation.data.dataset`, written atomically under the output-folder rule of
:mod:`aiducation.outdir` (staging folder, then moved in; a killed run's staging is removed).

Steps: read + validate the inputs, clean (NF, then unknown ≥ 5), find duplicate groups over all
cleaned rows, label with a rule set, split, then write images, metadata, summary and report.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from aiducation import __version__
from aiducation.csvfiles import to_csv
from aiducation.data import sources
from aiducation.data.cleaning import clean
from aiducation.data.dataset import (
    IMAGES_FILE,
    META_FILE,
    SPLITS,
    SUMMARY_FILE,
    UNLABELLED_IMAGES_FILE,
    UNLABELLED_META_FILE,
)
from aiducation.data.duplicates import duplicate_groups, group_stats, groups_across_splits
from aiducation.data.labels import VOTE_COLUMNS, get_rule_set
from aiducation.data.report import write_report
from aiducation.data.splits import (
    OFFICIAL_SPLIT,
    check_fractions,
    official_split,
    random_grouped_split,
)
from aiducation.errors import InputError
from aiducation.outdir import check_output_dir, output_dir

SPLIT_METHODS = ("official", "random")
DEFAULT_VOTE_FILE = "fer2013new.csv"


@dataclass
class PrepareConfig:
    """What to read, how to label and split, and where to write."""

    out: Path
    ferplus: Path | None = None  # fer2013new.csv; defaults to <ferplus_dir>/fer2013new.csv
    ferplus_dir: Path | None = None  # FER2013Train/Valid/Test PNG folders with label.csv
    fer2013: Path | None = None  # fer2013.csv ([emotion,]pixels,Usage), joined by position
    rule_set: str = "seed"
    split: str = "official"  # "official" (Usage column) or "random" (seeded, grouped)
    seed: int = 0
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)  # train, val, test (random split)
    export_png: Path | None = None  # also write <dir>/<class>/<name>.png
    report: bool = True
    overwrite: bool = False
    progress: bool = True


@dataclass
class Prepared:
    """Everything ``prepare`` writes, in memory."""

    images: np.ndarray
    meta: pd.DataFrame
    summary: dict
    unlabelled_images: np.ndarray | None = None  # cleaned images no rule labels
    unlabelled_meta: pd.DataFrame | None = None


def _check_config(config: PrepareConfig) -> PrepareConfig:
    """A validated copy of ``config`` with defaults filled in (``ferplus``, ``fractions``)."""
    config = replace(config)
    if config.fer2013 and config.ferplus_dir:
        raise InputError(
            "give either --fer2013 (CSV pair) or --ferplus-dir (PNG folders), not both"
        )
    if not config.fer2013 and not config.ferplus_dir:
        raise InputError("no input: give --fer2013 FILE --ferplus FILE, or --ferplus-dir DIR")
    if config.ferplus is None:
        if config.fer2013:
            raise InputError("--fer2013 needs --ferplus fer2013new.csv (the FER+ vote file)")
        config.ferplus = Path(config.ferplus_dir) / DEFAULT_VOTE_FILE
    if config.split not in SPLIT_METHODS:
        raise InputError(
            f"--split: expected one of {', '.join(SPLIT_METHODS)}, got {config.split!r}"
        )
    try:
        config.fractions = check_fractions(config.fractions)
        get_rule_set(config.rule_set)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    for option, target, other in _outputs(config):
        check_output_dir(target, overwrite=config.overwrite, inputs=other, option=option)
    return config


def _outputs(config: PrepareConfig) -> list[tuple[str, Path, list]]:
    """``(option, folder, paths it must not overlap)`` for ``--out`` and ``--export-png``."""
    sources = [config.ferplus_dir, config.ferplus, config.fer2013]
    outputs = [("--out", Path(config.out), [*sources, config.export_png])]
    if config.export_png:
        outputs.append(("--export-png", Path(config.export_png), [*sources, config.out]))
    return outputs


def _read_images(
    config: PrepareConfig, table: pd.DataFrame, rows: np.ndarray
) -> tuple[np.ndarray, dict]:
    """Images of the vote-file ``rows`` from the CSV or the PNG folders, plus source facts."""
    if config.fer2013:
        images, usage = sources.read_fer2013(
            config.fer2013, len(table), config.ferplus, config.progress
        )
        mismatch = usage != table["usage"].to_numpy()
        if mismatch.any():
            i = int(np.flatnonzero(mismatch)[0])
            raise InputError(
                f"{sources.where(config.fer2013, i)}, field 'Usage': {usage[i]!r} but "
                f"{config.ferplus} says {table['usage'].iat[i]!r}; the files must list the same "
                "rows in the same order"
            )
        return images[rows], {"mode": "csv", "fer2013": str(config.fer2013)}
    paths, facts = sources.folder_paths(config.ferplus_dir, table, rows, Path(config.ferplus))
    images = sources.read_pngs(paths, progress=config.progress)
    return images, {"mode": "folders", "ferplus_dir": str(config.ferplus_dir), **facts}


def build(config: PrepareConfig) -> Prepared:
    """Read, clean, label and split; returns the dataset without writing anything."""
    config = _check_config(config)
    rule_set = get_rule_set(config.rule_set)
    table = sources.read_ferplus_votes(config.ferplus)
    votes = table[list(VOTE_COLUMNS)].to_numpy()
    cleaning = clean(votes)
    kept = np.flatnonzero(cleaning.keep)
    images, source = _read_images(config, table, kept)
    groups = duplicate_groups(images)  # over all cleaned rows, not just the labelled ones
    cleaned_duplicates = group_stats(groups)
    label_ids = rule_set(votes[kept])
    labelled = label_ids >= 0
    unlabelled_rows = kept[~labelled]
    unlabelled_meta = _meta(
        table,
        unlabelled_rows,
        split=official_split(table["usage"].to_numpy()[unlabelled_rows])
        if config.split == "official"
        else np.full(len(unlabelled_rows), "train"),
        label_ids=np.full(len(unlabelled_rows), -1),
        groups=groups[~labelled],
        classes=[],
    )
    unlabelled_images = images[~labelled]
    rows, images, groups, label_ids = (
        kept[labelled],
        images[labelled],
        groups[labelled],
        label_ids[labelled],
    )
    usage = table["usage"].to_numpy()[rows]
    if config.split == "official":
        split = official_split(usage)
    else:
        split = random_grouped_split(label_ids, groups, config.fractions, config.seed)
    classes = list(rule_set.classes)
    meta = _meta(table, rows, split, label_ids, groups, classes)
    labelled_duplicates = group_stats(groups)
    summary = {
        "classes": classes,
        "rule_set": rule_set.name,
        **cleaning.counts(),
        "rows_unlabelled": int(len(kept) - len(rows)),
        "unlabelled_split_sizes": {s: int((unlabelled_meta["split"] == s).sum()) for s in SPLITS},
        "images": len(rows),
        "class_counts": {c: int((label_ids == i).sum()) for i, c in enumerate(classes)},
        "split_counts": {
            s: {c: int(((split == s) & (label_ids == i)).sum()) for i, c in enumerate(classes)}
            for s in SPLITS
        },
        "split_sizes": {s: int((split == s).sum()) for s in SPLITS},
        "duplicate_groups": labelled_duplicates["groups_with_copies"],
        "duplicates": {
            "cleaned": cleaned_duplicates,
            "labelled": labelled_duplicates,
            "groups_across_splits": groups_across_splits(groups, split),
        },
        "split": {"method": config.split, "seed": config.seed, "fractions": config.fractions}
        if config.split == "random"
        else {"method": "official", "mapping": OFFICIAL_SPLIT},
        "source": {**source, "ferplus": str(config.ferplus)},
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "aiducation_version": __version__,
    }
    return Prepared(images, meta, summary, unlabelled_images, unlabelled_meta)


def _meta(
    table: pd.DataFrame,
    rows: np.ndarray,
    split: np.ndarray,
    label_ids: np.ndarray,
    groups: np.ndarray,
    classes: list[str],
) -> pd.DataFrame:
    """The meta.csv columns of vote-file ``rows`` (label "" where ``label_ids`` is −1)."""
    names = np.asarray([*classes, ""], dtype=object)
    meta = pd.DataFrame(
        {
            "index": np.arange(len(rows)),
            "source_row": rows,
            "image_name": table["image_name"].to_numpy()[rows],
            "usage": table["usage"].to_numpy()[rows],
            "split": split,
            "label": names[label_ids],
            "label_id": label_ids,
            "dup_group": groups,
        }
    )
    for column in VOTE_COLUMNS:
        meta[column] = table[column].to_numpy()[rows]
    return meta


def png_names(meta: pd.DataFrame) -> list[str]:
    """Export file names: the image name, or ``row<source_row>.png`` when it has none or is not
    a plain file name (``../x.png``, ``a/b.png``); repeats (ignoring case) get the row."""
    names = [
        n if _plain_file_name(n) else f"row{r:05d}.png"
        for n, r in zip(meta["image_name"], meta["source_row"], strict=True)
    ]
    keys = [(label, n.casefold()) for label, n in zip(meta["label"], names, strict=True)]
    repeated = {key for key, n in Counter(keys).items() if n > 1}
    return [
        f"{Path(n).stem}_row{r}.png" if key in repeated else n
        for key, n, r in zip(keys, names, meta["source_row"], strict=True)
    ]


def _plain_file_name(name: str) -> bool:
    return bool(name) and name not in (".", "..") and "/" not in name and "\\" not in name


def export_pngs(root: Path, images: np.ndarray, meta: pd.DataFrame, progress: bool = True) -> None:
    """Write each image to ``root/<class>/<name>.png``."""
    import cv2

    for label in meta["label"].unique():
        (root / str(label)).mkdir(parents=True, exist_ok=True)
    items = zip(images, meta["label"], png_names(meta), strict=True)
    for image, label, name in tqdm(
        items, total=len(meta), desc="export PNGs", unit="img", disable=not progress
    ):
        if not cv2.imwrite(str(root / str(label) / name), image):
            raise OSError(f"could not write {root / str(label) / name}")


def write(prepared: Prepared, config: PrepareConfig) -> Path:
    """Write the prepared directory (and the optional PNG export), each atomically."""
    out = Path(config.out)
    (_, _, others), *export = _outputs(config)
    with output_dir(out, owner="prepare", overwrite=config.overwrite, inputs=others) as tmp:
        np.save(tmp / IMAGES_FILE, prepared.images, allow_pickle=False)
        to_csv(prepared.meta, tmp / META_FILE, index=False)
        if prepared.unlabelled_images is not None:
            np.save(tmp / UNLABELLED_IMAGES_FILE, prepared.unlabelled_images, allow_pickle=False)
            to_csv(prepared.unlabelled_meta, tmp / UNLABELLED_META_FILE, index=False)
        (tmp / SUMMARY_FILE).write_text(json.dumps(prepared.summary, indent=2) + "\n")
        (tmp / "config.json").write_text(json.dumps(asdict(config), indent=2, default=str) + "\n")
        if config.report:
            write_report(
                tmp / "report",
                prepared.images,
                prepared.meta["label_id"].to_numpy(),
                prepared.summary,
            )
        for option, target, other in export:
            with output_dir(
                target, owner="export-png", overwrite=config.overwrite, inputs=other, option=option
            ) as png_tmp:
                export_pngs(png_tmp, prepared.images, prepared.meta, config.progress)
    return out


def prepare(config: PrepareConfig) -> dict:
    """Build and write the prepared dataset; returns its summary."""
    config = _check_config(config)
    prepared = build(config)
    write(prepared, config)
    return prepared.summary
