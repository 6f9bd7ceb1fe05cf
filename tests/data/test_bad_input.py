"""Malformed inputs: one clear error (file, row, field, what was expected), exit 2, no output."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from ferworld import RawWorld

from aiducation.cli import main


def edit_csv(path: Path, change: Callable[[pd.DataFrame], pd.DataFrame]) -> None:
    change(pd.read_csv(path, dtype=str, keep_default_na=False)).to_csv(path, index=False)


def set_cell(path: Path, row: int, column: str, value: str) -> None:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[row, column] = value
    frame.to_csv(path, index=False)


def drop_one_pixel(w: RawWorld) -> None:
    frame = pd.read_csv(w.fer2013_csv, dtype=str)
    frame.loc[3, "pixels"] = frame.loc[3, "pixels"].rsplit(" ", 1)[0]
    frame.to_csv(w.fer2013_csv, index=False)


def png(w: RawWorld, name: str = "fer0000001.png") -> Path:
    return w.ferplus_dir / "FER2013Train" / name


# (input mode, how to break the world, fragments the error message must contain)
CASES: dict[str, tuple[str, Callable[[RawWorld], object], list[str]]] = {
    "missing vote file": ("csv", lambda w: w.votes_csv.unlink(), ["fer2013new.csv", "not found"]),
    "missing fer2013": ("csv", lambda w: w.fer2013_csv.unlink(), ["fer2013.csv", "not found"]),
    "missing folder": (
        "folders",
        lambda w: shutil.rmtree(w.ferplus_dir / "FER2013Valid"),
        ["FER2013Valid", "folder not found"],
    ),
    "renamed vote column": (
        "csv",
        lambda w: edit_csv(w.votes_csv, lambda f: f.rename(columns={"anger": "angry"})),
        ["fer2013new.csv", "missing column(s) 'anger'", "found Usage"],
    ),
    "renamed pixels column": (
        "csv",
        lambda w: edit_csv(w.fer2013_csv, lambda f: f.rename(columns={"pixels": "pixel"})),
        ["fer2013.csv", "'pixels'"],
    ),
    "row count mismatch": (
        "csv",
        lambda w: edit_csv(w.fer2013_csv, lambda f: f.iloc[:-1]),
        ["fer2013.csv", "has 56 data rows, not the 57 rows of", "fer2013new.csv"],
    ),
    "pixel string too short": (
        "csv",
        drop_one_pixel,
        ["fer2013.csv: row 3 (line 5), field 'pixels'", "expected 2304", "got 2303 values"],
    ),
    "pixel not numeric": (
        "csv",
        lambda w: set_cell(w.fer2013_csv, 7, "pixels", "12 x3 " + "0 " * 2302),
        ["fer2013.csv: row 7 (line 9), field 'pixels'", "non-numeric"],
    ),
    "pixel out of range": (
        "csv",
        lambda w: set_cell(w.fer2013_csv, 2, "pixels", "300 " + "0 " * 2303),
        ["fer2013.csv: row 2 (line 4), field 'pixels'", "0–255", "got 300"],
    ),
    "pixel beyond int32 (used to wrap to 1)": (
        "csv",
        lambda w: set_cell(w.fer2013_csv, 2, "pixels", "0 4294967297 " + "0 " * 2302),
        ["fer2013.csv: row 2 (line 4), field 'pixels'", "got 4294967297 at position 1"],
    ),
    "pixel beyond int64": (
        "csv",
        lambda w: set_cell(w.fer2013_csv, 2, "pixels", "99999999999999999999 " + "0 " * 2303),
        ["fer2013.csv: row 2 (line 4), field 'pixels'", "got 99999999999999999999"],
    ),
    "vote beyond int64 (used to be a traceback)": (
        "csv",
        lambda w: set_cell(w.votes_csv, 4, "anger", "99999999999999999999"),
        ["fer2013new.csv: row 4 (line 6), field 'anger'", "≤ 1,000,000", "99999999999999999999"],
    ),
    "image name climbing out of --export-png": (
        "csv",
        lambda w: set_cell(w.votes_csv, 3, "Image name", "../../x.png"),
        ["fer2013new.csv: row 3 (line 5), field 'Image name'", "plain file name", "'../../x.png'"],
    ),
    "absolute image name": (
        "csv",
        lambda w: set_cell(w.votes_csv, 0, "Image name", str(w.root.parent / "abs.png")),
        ["fer2013new.csv: row 0 (line 2), field 'Image name'", "plain file name", "abs.png'"],
    ),
    "image name with a backslash": (
        "folders",
        lambda w: set_cell(w.votes_csv, 1, "Image name", "..\\x.png"),
        ["fer2013new.csv: row 1 (line 3), field 'Image name'", "plain file name"],
    ),
    "negative vote": (
        "csv",
        lambda w: set_cell(w.votes_csv, 4, "anger", "-1"),
        ["fer2013new.csv: row 4 (line 6), field 'anger'", "≥ 0", "-1"],
    ),
    "fractional vote": (
        "folders",
        lambda w: set_cell(w.votes_csv, 5, "sadness", "1.5"),
        ["fer2013new.csv: row 5 (line 7), field 'sadness'", "integer", "'1.5'"],
    ),
    "empty vote": (
        "csv",
        lambda w: set_cell(w.votes_csv, 9, "NF", ""),
        ["fer2013new.csv: row 9 (line 11), field 'NF'", "integer"],
    ),
    "bad usage value": (
        "csv",
        lambda w: set_cell(w.votes_csv, 1, "Usage", "Train"),
        ["fer2013new.csv: row 1 (line 3), field 'Usage'", "Training", "'Train'"],
    ),
    "usage differs between the pair": (
        "csv",
        lambda w: set_cell(w.fer2013_csv, 0, "Usage", "PublicTest"),
        ["fer2013.csv: row 0 (line 2), field 'Usage'", "same order"],
    ),
    "empty vote file": ("csv", lambda w: w.votes_csv.write_text(""), ["fer2013new.csv", "empty"]),
    "extra fer2013 row": (
        "csv",
        lambda w: edit_csv(w.fer2013_csv, lambda f: pd.concat([f, f.iloc[:1]])),
        ["fer2013.csv", "has more than the 57 rows of", "fer2013new.csv"],
    ),
    "header-only fer2013": (
        "csv",
        lambda w: w.fer2013_csv.write_text("emotion,pixels,Usage\n"),
        ["fer2013.csv", "no data rows"],
    ),
    "corrupt png": (
        "folders",
        lambda w: png(w).write_bytes(b"\x89PNG\r\n\x1a\n garbage"),
        ["fer0000001.png", "not a readable PNG"],
    ),
    "png not 48x48": (
        "folders",
        lambda w: cv2.imwrite(str(png(w)), np.zeros((40, 40), np.uint8)),
        ["fer0000001.png", "48×48", "40×40"],
    ),
    "label.csv name without image": (
        "folders",
        lambda w: png(w).unlink(),
        ["FER2013Train/label.csv", "line 2", "'fer0000001.png' is listed", "does not exist"],
    ),
    "vote row without image": (
        "folders",
        lambda w: set_cell(w.votes_csv, 8, "Image name", "nope.png"),
        ["fer2013new.csv: row 8 (line 10), field 'Image name'", "'nope.png' has no PNG"],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_fails_cleanly(
    world: RawWorld, tmp_path: Path, capsys: pytest.CaptureFixture, case: str
) -> None:
    mode, breakage, fragments = CASES[case]
    breakage(world)
    out, pngs = tmp_path / "out", tmp_path / "pngs"
    inputs = (
        ["--fer2013", str(world.fer2013_csv), "--ferplus", str(world.votes_csv)]
        if mode == "csv"
        else ["--ferplus-dir", str(world.ferplus_dir), "--ferplus", str(world.votes_csv)]
    )
    code = main(["prepare", *inputs, "--out", str(out), "--export-png", str(pngs), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err
    for fragment in fragments:
        assert fragment in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw"]  # nothing written, no temp dirs


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ([], "no input"),
        (["--fer2013", "a.csv"], "--fer2013 needs --ferplus"),
        (["--fer2013", "a.csv", "--ferplus-dir", "d"], "not both"),
        (["--ferplus-dir", "d", "--rule-set", "nope"], "unknown rule set 'nope'"),
        (["--ferplus-dir", "d", "--split", "random", "--fractions", "0.5", "0.5", "0.5"],
         "summing to 1"),
    ],
)  # fmt: skip
def test_bad_options(
    tmp_path: Path, capsys: pytest.CaptureFixture, args: list[str], fragment: str
) -> None:
    assert main(["prepare", *args, "--out", str(tmp_path / "out")]) == 2
    assert fragment in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
