"""Atomic writers for analysis outputs: images, video, CSV/JSON tables and plots."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from aiducation.atomic import write_bytes
from aiducation.csvfiles import write_csv


def write_table(path: Path, rows: list[dict], columns: list[str] | None = None) -> Path:
    """CSV of ``rows`` (header only when empty but ``columns`` given)."""
    return write_csv(pd.DataFrame(rows, columns=columns), path)


def write_image(path: Path, image: np.ndarray) -> Path:
    """Encode by ``path``'s suffix (JPEG/PNG/WebP...) and write atomically."""
    try:
        ok, encoded = cv2.imencode(path.suffix or ".png", image)
    except cv2.error:
        ok = False
    if not ok:
        raise ValueError(f"cannot encode image as {path.suffix}")
    return write_bytes(path, encoded.tobytes())


class VideoSink:
    """Annotated video written to a hidden temp file, renamed into place on a clean exit; the
    one video writer of ``analyze`` (``mp4v``) and the web app (``VP80``: WebM for browsers).

    Nothing is written until the first frame (no file for a run that draws none). A sink that
    is not ``required`` skips its frames when the codec is missing, instead of failing.
    """

    def __init__(self, path: Path, fps: float, codec: str = "mp4v", required: bool = True):
        self.path, self.fps, self.codec, self.required = path, fps, codec, required
        self._tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
        self._writer: cv2.VideoWriter | None = None

    def write(self, frame: np.ndarray) -> None:
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            size = (frame.shape[1], frame.shape[0])
            fourcc = cv2.VideoWriter_fourcc(*self.codec)
            self._writer = cv2.VideoWriter(str(self._tmp), fourcc, self.fps, size)
            if not self._writer.isOpened() and self.required:
                raise OSError(f"cannot open a video writer for {self.path}")
        if self._writer.isOpened():
            self._writer.write(frame)

    def __enter__(self) -> VideoSink:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._writer is not None:
            self._writer.release()
            if exc_type is None and self._tmp.is_file():
                os.replace(self._tmp, self.path)
        self._tmp.unlink(missing_ok=True)
