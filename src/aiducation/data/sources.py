"""Readers for the raw inputs: the FER+ vote file, the FER2013 pixel CSV and the FER+ folders.

Every reader validates what it reads and raises :class:`~aiducation.errors.InputError` naming
the file, the row (0-based data row and 1-based file line) and the field, and what was expected.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from aiducation.data.labels import VOTE_COLUMNS
from aiducation.errors import InputError

IMAGE_SIZE = 48
N_PIXELS = IMAGE_SIZE * IMAGE_SIZE
USAGE_VALUES = ("Training", "PublicTest", "PrivateTest")
USAGE_FOLDERS = {
    "Training": "FER2013Train",
    "PublicTest": "FER2013Valid",
    "PrivateTest": "FER2013Test",
}
FERPLUS_COLUMNS = ("Usage", "Image name", *VOTE_COLUMNS)
FER2013_COLUMNS = ("pixels", "Usage")  # ``emotion`` is optional and ignored
LABEL_CSV = "label.csv"
_PARSE_CHUNK = 2048  # rows of pixel strings parsed per step (bounds peak memory)
_PNG_CHUNK = 512  # PNGs read per task (cv2 releases the GIL, so threads overlap)
MAX_VOTES = 1_000_000  # per emotion and image (FER+ has 10 annotators per image)


def where(path: Path | str, row: int) -> str:
    """``file row R (line L)``: a 0-based data row and its 1-based line in a CSV with header."""
    return f"{path}: row {row} (line {row + 2})"


@contextmanager
def _csv_errors(path: Path) -> Iterator[None]:
    """Turn pandas' reading errors into one-line :class:`InputError` naming ``path``."""
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    try:
        yield
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: file is empty (expected a CSV with a header row)") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a readable CSV ({exc})") from None


def _read_csv(path: Path, **kwargs) -> pd.DataFrame:
    path = Path(path)
    with _csv_errors(path):
        frame = pd.read_csv(path, keep_default_na=False, **kwargs)
    if frame.empty:
        raise InputError(f"{path}: CSV has a header but no data rows")
    return frame


def _require_columns(frame: pd.DataFrame, path: Path, required: Sequence[str]) -> None:
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputError(
            f"{path}: missing column(s) {', '.join(map(repr, missing))}; "
            f"expected {', '.join(required)}, found {', '.join(map(str, frame.columns))}"
        )


def validate_votes(
    frame: pd.DataFrame, path: Path, columns: Sequence[str] = VOTE_COLUMNS, row_of=None
) -> np.ndarray:
    """The vote columns as an ``(N, 10)`` int64 array; every value a non-negative integer."""
    row_of = row_of or (lambda i: where(path, i))
    out = np.empty((len(frame), len(columns)), dtype=np.int64)
    for j, column in enumerate(columns):
        text = frame[column].astype(str).str.strip()
        ok = text.str.fullmatch(r"-?\d+").to_numpy()
        if not ok.all():
            i = int(np.flatnonzero(~ok)[0])
            raise InputError(
                f"{row_of(i)}, field {column!r}: expected a vote count (integer ≥ 0), "
                f"got {text.iloc[i]!r}"
            )
        huge = (text.str.lstrip("-").str.lstrip("0").str.len() > 7).to_numpy()
        values = np.where(huge, MAX_VOTES + 1, text.where(~huge, "0").astype(np.int64))
        if (values > MAX_VOTES).any():
            i = int(np.flatnonzero(values > MAX_VOTES)[0])
            raise InputError(
                f"{row_of(i)}, field {column!r}: expected a vote count ≤ {MAX_VOTES:,}, "
                f"got {text.iloc[i]!r}"
            )
        if (values < 0).any():
            i = int(np.flatnonzero(values < 0)[0])
            raise InputError(
                f"{row_of(i)}, field {column!r}: expected a vote count ≥ 0, got {values[i]}"
            )
        out[:, j] = values
    return out


def _validate_usage(usage: np.ndarray, path: Path, first_row: int = 0) -> None:
    bad = ~pd.Series(usage).isin(USAGE_VALUES).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{where(path, first_row + i)}, field 'Usage': expected one of "
            f"{', '.join(USAGE_VALUES)}, "
            f"got {usage[i]!r}"
        )


def _validate_names(names: pd.Series, path: Path) -> None:
    """Image names are plain file names (they name exported files): no folders, no ``..``."""

    def bad(name: str) -> bool:
        return bool(name) and (
            name in (".", "..")
            or PurePosixPath(name).name != name
            or any(c in name for c in "\\\0")
        )

    flagged = names.map(bad).to_numpy(dtype=bool)
    if flagged.any():
        i = int(np.flatnonzero(flagged)[0])
        raise InputError(
            f"{where(path, i)}, field 'Image name': expected a plain file name such as "
            f"fer0000000.png (no folders, '/', '\\' or '..'), got {names.iloc[i]!r}"
        )


def read_ferplus_votes(path: Path | str) -> pd.DataFrame:
    """``fer2013new.csv`` as a table: source_row, image_name, usage and the ten vote columns."""
    path = Path(path)
    frame = _read_csv(path, dtype=str)
    _require_columns(frame, path, FERPLUS_COLUMNS)
    usage = frame["Usage"].str.strip().to_numpy(dtype=object)
    _validate_usage(usage, path)
    votes = validate_votes(frame, path)
    _validate_names(frame["Image name"].str.strip(), path)
    table = pd.DataFrame(
        {
            "source_row": np.arange(len(frame), dtype=np.int64),
            "image_name": frame["Image name"].str.strip().to_numpy(dtype=object),
            "usage": usage,
        }
    )
    for j, column in enumerate(VOTE_COLUMNS):
        table[column] = votes[:, j]
    return table


def _pixel_error(path: Path | str, row: int, problem: str) -> InputError:
    return InputError(
        f"{where(path, row)}, field 'pixels': expected {N_PIXELS} space-separated integers "
        f"0–255 (a 48×48 image), {problem}"
    )


def parse_pixels(pixels: Sequence[str], path: Path | str, first_row: int = 0) -> np.ndarray:
    """Space-separated pixel strings → ``(N, 48, 48)`` uint8; each must hold 2,304 ints 0–255."""
    values = np.empty((len(pixels), N_PIXELS), dtype=np.int64)  # int32 would wrap 2**32 + 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # numpy < 2.3 only warned
        for i, text in enumerate(pixels):
            try:
                row = np.fromstring(str(text), dtype=np.int64, sep=" ")
            except (ValueError, DeprecationWarning):
                raise _pixel_error(path, first_row + i, "found a non-numeric value") from None
            if row.size != N_PIXELS:
                raise _pixel_error(path, first_row + i, f"got {row.size} values")
            values[i] = row
    out_of_range = (values < 0) | (values > 255)
    if out_of_range.any():
        k = int(np.flatnonzero(out_of_range)[0])
        row, position = divmod(k, N_PIXELS)
        token = str(pixels[row]).split()[position]  # as written (int64 saturates)
        problem = f"got {token} at position {position}"
        raise _pixel_error(path, first_row + row, problem)
    return values.astype(np.uint8).reshape(-1, IMAGE_SIZE, IMAGE_SIZE)


def read_fer2013(
    path: Path | str,
    expected_rows: int,
    votes_path: Path | str = "the FER+ vote file",
    progress: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """``fer2013.csv`` (``[emotion,]pixels,Usage``) → (images ``(N, 48, 48)`` uint8, usage).

    Read and parsed in chunks of rows, so memory stays near the size of the image array.
    """
    path = Path(path)
    images = np.empty((expected_rows, IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8)
    usage = np.empty(expected_rows, dtype=object)
    n_rows = 0
    bar = tqdm(total=expected_rows, desc="parse pixels", unit="row", disable=not progress)
    with _csv_errors(path), bar:
        reader = pd.read_csv(
            path,
            dtype=object,
            keep_default_na=False,
            usecols=lambda c: c in FER2013_COLUMNS,
            chunksize=_PARSE_CHUNK,
        )
        for chunk in reader:
            _require_columns(chunk, path, FER2013_COLUMNS)
            start, n_rows = n_rows, n_rows + len(chunk)
            if n_rows > expected_rows:
                break
            usage[start:n_rows] = chunk["Usage"].str.strip().to_numpy(dtype=object)
            _validate_usage(usage[start:n_rows], path, start)
            images[start:n_rows] = parse_pixels(chunk["pixels"].to_numpy(), path, start)
            bar.update(len(chunk))
    if n_rows == 0:
        raise InputError(f"{path}: CSV has a header but no data rows")
    if n_rows != expected_rows:
        more = "more than" if n_rows > expected_rows else f"{n_rows} data rows, not"
        raise InputError(
            f"{path}: has {more} the {expected_rows} rows of {votes_path}; "
            "the two files must describe the same rows in the same order"
        )
    return images, usage


def read_label_csv(path: Path) -> pd.DataFrame:
    """A FER+ folder's headerless ``label.csv``: name, face box, then the ten vote columns."""
    if not path.is_file():
        raise InputError(f"{path}: file not found (every FER+ split folder has a label.csv)")
    try:
        frame = pd.read_csv(path, header=None, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: file is empty (expected one line per image)") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a readable CSV ({exc})") from None
    expected = 2 + len(VOTE_COLUMNS)
    if frame.shape[1] < expected:
        raise InputError(
            f"{path}: expected {expected} columns (name, box, {', '.join(VOTE_COLUMNS)}), "
            f"found {frame.shape[1]}"
        )
    frame = frame.iloc[:, :expected]
    frame.columns = ["name", "box", *VOTE_COLUMNS]
    return frame


def _load_pngs(paths: Sequence[Path]) -> list[np.ndarray | None]:
    import cv2

    return [cv2.imread(str(path), cv2.IMREAD_UNCHANGED) for path in paths]


def _checked_png(image: np.ndarray | None, path: Path) -> np.ndarray:
    if image is None:
        raise InputError(f"{path}: not a readable PNG image (corrupt or wrong format)")
    if image.ndim == 3 and image.shape[2] in (3, 4) and _is_gray(image):
        image = image[:, :, 0]
    if image.shape != (IMAGE_SIZE, IMAGE_SIZE) or image.dtype != np.uint8:
        raise InputError(
            f"{path}: expected a 48×48 8-bit grayscale image, got shape "
            f"{'×'.join(map(str, image.shape))} of {image.dtype}"
        )
    return image


def read_pngs(paths: Sequence[Path], progress: bool = True, workers: int = 2) -> np.ndarray:
    """Load 48×48 8-bit grayscale PNGs into ``(N, 48, 48)`` uint8, checking each one."""
    images = np.empty((len(paths), IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8)
    starts = range(0, len(paths), _PNG_CHUNK)
    chunks = [paths[i : i + _PNG_CHUNK] for i in starts]
    bar = tqdm(total=len(paths), desc="read PNGs", unit="img", disable=not progress)
    with ThreadPoolExecutor(max_workers=workers) as pool, bar:
        for start, loaded in zip(starts, pool.map(_load_pngs, chunks), strict=True):
            for offset, image in enumerate(loaded):
                images[start + offset] = _checked_png(image, paths[start + offset])
            bar.update(len(loaded))
    return images


def _is_gray(image: np.ndarray) -> bool:
    return bool(
        (image[:, :, 0] == image[:, :, 1]).all() and (image[:, :, 1] == image[:, :, 2]).all()
    )


def folder_paths(
    ferplus_dir: Path, table: pd.DataFrame, rows: np.ndarray, votes_path: Path
) -> tuple[list[Path], dict]:
    """PNG paths for ``rows`` of the vote ``table`` (join by image name within the split).

    Also checks each folder's ``label.csv`` (every name listed must have a PNG) and returns
    facts about it: how many images its (older) votes disagree with the vote file.
    """
    ferplus_dir = Path(ferplus_dir)
    if not ferplus_dir.is_dir():
        raise InputError(f"{ferplus_dir}: FER+ folder not found")
    listed: dict[str, set[str]] = {}
    differing = 0
    for usage, folder in USAGE_FOLDERS.items():
        split_dir = ferplus_dir / folder
        if not split_dir.is_dir():
            raise InputError(f"{split_dir}: folder not found (expected FER2013Train/Valid/Test)")
        pngs = {n for n in os.listdir(split_dir) if n.endswith(".png")}
        label_path = split_dir / LABEL_CSV
        labels = read_label_csv(label_path)
        names = labels["name"].str.strip().to_numpy(dtype=object)
        missing = ~pd.Series(names).isin(pngs).to_numpy()
        if missing.any():
            i = int(np.flatnonzero(missing)[0])
            raise InputError(
                f"{label_path}: line {i + 1}, field 'name': image {names[i]!r} is listed but "
                f"{split_dir / str(names[i])} does not exist ({int(missing.sum())} missing)"
            )
        listed[usage] = pngs
        label_votes = validate_votes(
            labels, label_path, row_of=lambda i, p=label_path: f"{p}: line {i + 1}"
        )
        current = table.loc[table["usage"] == usage, ["image_name", *VOTE_COLUMNS]]
        older = pd.DataFrame(label_votes, columns=[f"{c}_old" for c in VOTE_COLUMNS])
        both = older.assign(image_name=names).merge(current, on="image_name")
        old_votes = both[[f"{c}_old" for c in VOTE_COLUMNS]].to_numpy()
        differing += int((old_votes != both[list(VOTE_COLUMNS)].to_numpy()).any(axis=1).sum())
    usage = table["usage"].to_numpy(dtype=object)[rows]
    names = table["image_name"].to_numpy(dtype=object)[rows]
    for split_usage, pngs in listed.items():
        in_split = usage == split_usage
        missing = in_split & ~pd.Series(names).isin(pngs).to_numpy()
        if missing.any():
            i = int(np.flatnonzero(missing)[0])
            what = "has no image name" if not names[i] else f"image {names[i]!r} has no PNG"
            raise InputError(
                f"{where(votes_path, int(rows[i]))}, field 'Image name': {what} in "
                f"{ferplus_dir / USAGE_FOLDERS[split_usage]} (joined by name within the split)"
            )
    folders = {u: ferplus_dir / f for u, f in USAGE_FOLDERS.items()}
    paths = [folders[u] / n for u, n in zip(usage, names, strict=True)]
    return paths, {"label_csv_votes_differing": int(differing)}
