"""Annotating attributes (e.g. gender) of a class-stratified sample of images.

:class:`AnnotationSession` is the whole workflow as a small API, so the terminal command and a
web page share it: :meth:`~AnnotationSession.next_item` gives the next unlabelled image,
:meth:`~AnnotationSession.record` stores one label. The attribute CSV (``image,split,<attr>...``)
is rewritten atomically on every label; existing values are never changed, so labelling is
resumable and safe to interrupt. Writers of one CSV (the terminal command and the web page, at
the same time) take turns: each label is stored under an exclusive lock on ``<csv>.lock``
(``fcntl.flock``, Linux/macOS) and re-reads the CSV under it, so no stored label is lost.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from aiducation.csvfiles import read_csv, write_csv
from aiducation.data.dataset import PreparedDataset
from aiducation.errors import InputError
from aiducation.fairness.inputs import image_key

try:
    import fcntl
except ImportError:  # Windows: no inter-process lock (one writer at a time there)
    fcntl = None

UNSURE = "cannot tell"
"""Recorded when the annotator cannot tell; analyses treat it as a missing value."""


def lock_path(path: str | Path) -> Path:
    """The lock file of a CSV: ``<csv>.lock`` beside it (kept: removing it would race)."""
    path = Path(path)
    return path.with_name(f"{path.name}.lock")


@contextmanager
def csv_lock(path: str | Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path``'s lock file (blocks while another process, or
    thread, holds it); released when the block ends, or when a killed holder's file closes."""
    lock = lock_path(path)
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as handle:  # its own open file: also excludes threads of this process
        if fcntl is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        yield


def stratified_queue(
    labels: np.ndarray, rows: np.ndarray, per_class: int, seed: int = 0
) -> np.ndarray:
    """Up to ``per_class`` seeded random rows of each class, interleaved class by class so any
    prefix of the queue stays balanced."""
    rng = np.random.default_rng(seed)
    by_class = [rng.permutation(rows[labels[rows] == k])[:per_class] for k in np.unique(labels)]
    longest = max((len(part) for part in by_class), default=0)
    order = [part[i] for i in range(longest) for part in by_class if i < len(part)]
    return np.asarray(order, dtype=np.int64)


def image_rows(dataset: PreparedDataset, images) -> np.ndarray:
    """Dataset rows of ``images`` (names or keys) in their order, first copy of a repeated name;
    images the dataset does not hold are left out."""
    keys = dataset.meta["image_name"].map(image_key)
    first = pd.Series(np.arange(len(keys)), index=keys)
    first = first[~first.index.duplicated()]
    wanted = pd.Index(dict.fromkeys(image_key(i) for i in images))
    return first.reindex(wanted).dropna().to_numpy(np.int64)


@dataclass
class AnnotationSession:
    """Label ``attribute`` with one of ``choices`` for a stratified sample of ``dataset``."""

    dataset: PreparedDataset
    path: Path  # attribute CSV to create or extend
    attribute: str
    choices: tuple[str, ...]
    per_class: int = 100  # images per class in the sample
    splits: tuple[str, ...] = ("train", "val", "test")
    seed: int = 0
    images: tuple[str, ...] | None = None  # exactly these images, in order (no sample)
    queue: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        bad = [c for c in self.choices if not c.strip() or "," in c or c == UNSURE]
        if not self.choices or bad:
            raise InputError(
                f"choices must be non-empty words without commas, not {UNSURE!r}: {bad}"
            )
        if self.images is not None:
            self.queue = image_rows(self.dataset, self.images)
            return
        rows = np.flatnonzero(self.dataset.meta["split"].isin(self.splits).to_numpy())
        self.queue = stratified_queue(self.dataset.labels, rows, self.per_class, self.seed)

    def table(self) -> pd.DataFrame:
        """The attribute CSV as it is on disk (an empty ``image,split`` table if absent)."""
        if not self.path.is_file():
            return pd.DataFrame(columns=["image", "split", self.attribute], dtype=str)
        table = read_csv(self.path, dtype=str, keep_default_na=False)
        if "image" not in table.columns:
            raise InputError(f"{self.path}: no 'image' column; cannot extend this file")
        if self.attribute not in table.columns:
            table[self.attribute] = ""
        return table

    def labelled(self) -> set[str]:
        """Image keys that already have a value (including 'unsure') for the attribute."""
        table = self.table()
        done = table[self.attribute].str.strip() != ""
        return set(table.loc[done, "image"].map(image_key))

    def progress(self) -> tuple[int, int]:
        """(labelled images of the sample, sample size)."""
        done = self.labelled()
        keys = self.dataset.meta["image_name"].to_numpy()[self.queue]
        return sum(image_key(k) in done for k in keys), len(self.queue)

    def next_item(self) -> int | None:
        """Dataset row of the next image to label, or ``None`` when the sample is done."""
        done = self.labelled()
        names = self.dataset.meta["image_name"].to_numpy()
        for row in self.queue:
            if image_key(names[row]) not in done:
                return int(row)
        return None

    def record(self, row: int, value: str, *, exists_ok: bool = False) -> bool:
        """Store ``value`` for image ``row``; never changes an existing value: that raises
        :class:`InputError`, or returns ``False`` with ``exists_ok`` (a repeated submit).

        The CSV is re-read and rewritten under :func:`csv_lock`, so labels stored meanwhile
        by another process (``aiducation annotate`` beside the web page) are kept."""
        value = value.strip()
        if value not in (*self.choices, UNSURE):
            raise InputError(f"{value!r} is not one of {', '.join(self.choices)} or {UNSURE}")
        meta = self.dataset.meta
        name, split = str(meta["image_name"].iloc[row]), str(meta["split"].iloc[row])
        with csv_lock(self.path):
            table = self.table()
            keys = table["image"].map(image_key)
            match = np.flatnonzero(keys == image_key(name))
            if len(match):
                current = table.at[match[0], self.attribute].strip()
                if current and exists_ok:
                    return False
                if current:
                    raise InputError(
                        f"{name} already has {self.attribute}={current!r}; not changed"
                    )
                table.at[match[0], self.attribute] = value
            else:
                new = {c: "" for c in table.columns}
                new.update(image=name, split=split, **{self.attribute: value})
                table = pd.concat([table, pd.DataFrame([new])], ignore_index=True)
            write_csv(table, self.path)
        return True


def half_block_art(face: np.ndarray, width: int = 48) -> str:
    """A grayscale face as 24-bit-colour half-block characters (two pixel rows per line)."""
    face = np.asarray(face, dtype=np.uint8)
    step = max(1, face.shape[1] // width)
    face = face[::step, ::step]
    if len(face) % 2:
        face = np.vstack([face, face[-1:]])
    lines = []
    for top, bottom in zip(face[0::2], face[1::2], strict=True):
        cells = (
            f"\x1b[38;2;{t};{t};{t}m\x1b[48;2;{b};{b};{b}m▀"
            for t, b in zip(top, bottom, strict=True)
        )
        lines.append("".join(cells) + "\x1b[0m")
    return "\n".join(lines)


def save_preview(face: np.ndarray, path: Path, scale: int = 6) -> Path:
    """The face enlarged ``scale`` times (nearest neighbour) as a PNG, for an image viewer."""
    from PIL import Image

    big = np.kron(np.asarray(face, np.uint8), np.ones((scale, scale), np.uint8))
    Image.fromarray(big).save(path)
    return path
