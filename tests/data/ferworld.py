"""A tiny generated FER2013 + FER+ "world", written in both input formats.

57 rows with known answers: 48 labelled rows (12 per class over the three usages), 3 unlabelled,
3 not-a-face rows (NF = 10 with no name, NF = 1, NF = 2 with unknown = 6), one unknown = 5 row,
one unknown = 4 row (kept, Focused), a pair of pixel-identical images under different names in
Training and PrivateTest, and a pair of rows sharing one image name (one PNG), as in FER+.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from aiducation.data.labels import VOTE_COLUMNS
from aiducation.data.sources import USAGE_FOLDERS

TEMPLATES = {
    "Angry": {"anger": 6, "neutral": 4},
    "Bored": {"sadness": 5, "neutral": 3, "surprise": 2},
    "Focused": {"neutral": 8, "happiness": 2},
    "Neutral": {"neutral": 7, "sadness": 2, "anger": 1},
    None: {"happiness": 10},
}
PER_CLASS = {"Training": 6, "PublicTest": 3, "PrivateTest": 3}
EXPECTED = {
    "rows_total": 57,
    "rows_after_nf": 54,
    "rows_after_unknown": 53,
    "removed_by_nf": {"10": 1, "2": 1, "1": 1},
    "removed_by_unknown": {"5": 1},
    "images": 50,
    "class_counts": {"Angry": 12, "Bored": 13, "Focused": 13, "Neutral": 12},
}


@dataclass
class RawWorld:
    """Paths of the generated inputs plus the truth they were made from."""

    root: Path
    votes_csv: Path  # fer2013new.csv
    fer2013_csv: Path  # fer2013.csv
    ferplus_dir: Path  # FER2013Train/Valid/Test with PNGs and label.csv
    rows: pd.DataFrame  # usage, name, expected label (None = unused), ten votes
    images: np.ndarray  # (57, 48, 48) uint8, row i's face
    duplicate_rows: tuple[int, int]  # pixel-identical, different names, Training/PrivateTest
    same_name_rows: tuple[int, int]  # one image name, one PNG


def _row(usage: str, label: str | None, name: str = "", **votes: int) -> dict:
    counts = {**(TEMPLATES[label] if label or not votes else {}), **votes}
    return {
        "usage": usage,
        "label": label,
        "name": name,
        **{c: counts.get(c, 0) for c in VOTE_COLUMNS},
    }


def make_world(root: Path, seed: int = 0) -> RawWorld:
    """Generate and write the world under ``root``."""
    rows = []
    for usage, n in PER_CLASS.items():
        for label in ("Angry", "Bored", "Focused", "Neutral"):
            rows += [_row(usage, label) for _ in range(n)]
        rows.append(_row(usage, None))
    rows.append(_row("Training", None, NF=10))  # no face, no image name
    rows.append(_row("PublicTest", None, neutral=9, NF=1))
    rows.append(_row("Training", None, neutral=2, unknown=6, NF=2))  # NF first: counted as NF
    rows.append(_row("PrivateTest", None, neutral=5, unknown=5))
    rows.append(_row("Training", "Focused", neutral=6, unknown=4))  # unknown 4 is kept
    rows.append(dict(rows[6]))  # same name as row 6 (set below): two rows, one PNG
    rows = pd.DataFrame(rows)
    named = rows["NF"] < 10
    rows.loc[named, "name"] = [f"fer{i:07d}.png" for i in range(int(named.sum()))]
    same_name = (6, len(rows) - 1)
    rows.loc[same_name[1], "name"] = rows.loc[same_name[0], "name"]

    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(len(rows), 48, 48), dtype=np.uint8)
    duplicate = (0, int(np.flatnonzero(rows["usage"] == "PrivateTest")[0]))
    images[duplicate[1]] = images[duplicate[0]]
    images[same_name[1]] = images[same_name[0]]

    votes_csv, fer2013_csv, ferplus_dir = (
        root / "fer2013new.csv",
        root / "fer2013.csv",
        root / "ferplus",
    )
    root.mkdir(parents=True, exist_ok=True)
    rows.rename(columns={"usage": "Usage", "name": "Image name"}).drop(columns="label").to_csv(
        votes_csv, index=False
    )
    pd.DataFrame(
        {
            "emotion": rng.integers(0, 7, len(rows)),
            "pixels": [" ".join(map(str, image.ravel())) for image in images],
            "Usage": rows["usage"],
        }
    ).to_csv(fer2013_csv, index=False)
    for usage, folder in USAGE_FOLDERS.items():
        (ferplus_dir / folder).mkdir(parents=True)
        in_folder = rows[(rows["usage"] == usage) & (rows["name"] != "")].drop_duplicates("name")
        for i, name in zip(in_folder.index, in_folder["name"], strict=True):
            cv2.imwrite(str(ferplus_dir / folder / name), images[i])
        label = in_folder[["name", *VOTE_COLUMNS]].assign(box="(0, 0, 48, 48)")
        label[["name", "box", *VOTE_COLUMNS]].to_csv(
            ferplus_dir / folder / "label.csv", index=False, header=False
        )
    return RawWorld(root, votes_csv, fer2013_csv, ferplus_dir, rows, images, duplicate, same_name)
