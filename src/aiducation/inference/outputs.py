"""Atomic writers for analysis outputs: images, video, CSV/JSON tables and plots."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from aiducation.atomic import atomic_file, write_bytes, write_text
from aiducation.csvfiles import to_csv


def write_table(path: Path, rows: list[dict], columns: list[str] | None = None) -> Path:
    """CSV of ``rows`` (header only when empty but ``columns`` given)."""
    return write_text(path, to_csv(pd.DataFrame(rows, columns=columns)))


def write_markdown_table(path: Path, rows: list[dict]) -> Path:
    frame = pd.DataFrame(rows)
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(False)]
    return write_text(path, "\n".join([header, rule, *body]) + "\n")


def write_image(path: Path, image: np.ndarray) -> Path:
    """Encode by ``path``'s suffix (JPEG/PNG/WebP...) and write atomically."""
    try:
        ok, encoded = cv2.imencode(path.suffix or ".png", image)
    except cv2.error:
        ok = False
    if not ok:
        raise ValueError(f"cannot encode image as {path.suffix}")
    return write_bytes(path, encoded.tobytes())


def write_figure(path: Path, figure: Figure, dpi: int = 120) -> Path:
    import matplotlib.pyplot as plt

    try:
        with atomic_file(path) as tmp:
            figure.savefig(tmp, dpi=dpi)
    finally:
        plt.close(figure)
    return path


class VideoSink:
    """Annotated video written to a hidden temp file, renamed into place on a clean exit."""

    def __init__(self, path: Path, fps: float) -> None:
        self.path, self.fps = path, fps
        self._tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
        self._writer: cv2.VideoWriter | None = None

    def write(self, frame: np.ndarray) -> None:
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            size = (frame.shape[1], frame.shape[0])
            fourcc = cv2.VideoWriter_fourcc(*"mp4v")
            self._writer = cv2.VideoWriter(str(self._tmp), fourcc, self.fps, size)
            if not self._writer.isOpened():
                raise OSError(f"cannot open a video writer for {self.path}")
        self._writer.write(frame)

    def __enter__(self) -> VideoSink:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._writer is not None:
            self._writer.release()
            if exc_type is None:
                os.replace(self._tmp, self.path)
        self._tmp.unlink(missing_ok=True)
