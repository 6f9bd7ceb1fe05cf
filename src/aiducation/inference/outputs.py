"""Atomic writers for analysis outputs: images, video, CSV/JSON tables and plots."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np
import pandas as pd

from aiducation.atomic import atomic_file, write_bytes
from aiducation.csvfiles import to_csv, write_csv

ROWS_AT_ONCE = 10_000  # rows of a streamed table per DataFrame


def write_table(path: Path, rows: list[dict], columns: list[str] | None = None) -> Path:
    """CSV of ``rows`` (header only when empty but ``columns`` given)."""
    return write_csv(pd.DataFrame(rows, columns=columns), path)


def write_table_rows(
    path: Path, rows: Iterable[dict], columns: list[str], chunk: int = ROWS_AT_ONCE
) -> Path:
    """``rows`` as CSV, ``chunk`` rows at a time, so a long video's faces.csv never holds
    every row in memory (atomically, as every output). Where each column holds one kind of
    value throughout (whole numbers, decimals or text, each possibly missing), as faces.csv's
    do, the file is the one :func:`write_table` writes for all of them at once."""
    with atomic_file(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as handle:
        header = True
        for part in _chunks(rows, chunk):
            to_csv(pd.DataFrame(part, columns=columns), handle, header=header)
            header = False
        if header:  # no rows: the header alone
            to_csv(pd.DataFrame([], columns=columns), handle)
    return Path(path)


def write_json_rows(path: Path, rows: Iterable[object]) -> Path:
    """The file :func:`aiducation.atomic.write_json` writes for the list of ``rows``, written
    one row at a time (faces.json of a long video)."""
    with atomic_file(path) as tmp, open(tmp, "w", encoding="utf-8") as handle:
        before = "[\n  "
        for row in rows:  # each row indented one level deeper, as inside the list
            handle.write(before + json.dumps(row, indent=2, default=str).replace("\n", "\n  "))
            before = ",\n  "
        handle.write("[]\n" if before == "[\n  " else "\n]\n")
    return Path(path)


def _chunks(rows: Iterable[dict], size: int) -> Iterator[list[dict]]:
    part: list[dict] = []
    for row in rows:
        part.append(row)
        if len(part) == size:
            yield part
            part = []
    if part:
        yield part


def write_image(path: Path, image: np.ndarray) -> Path:
    """Encode by ``path``'s suffix (JPEG/PNG/WebP...) and write atomically."""
    try:
        ok, encoded = cv2.imencode(path.suffix or ".png", image)
    except cv2.error:
        ok = False
    if not ok:
        raise ValueError(f"cannot encode image as {path.suffix}")
    return write_bytes(path, encoded.tobytes())


class VideoCodec(NamedTuple):
    """A browser-playable encoder of the PyAV wheel, its container and settings."""

    encoder: str  # FFmpeg encoder name
    container: str  # FFmpeg muxer
    media_type: str  # what a browser is told
    options: dict[str, str]  # encoder options
    container_options: dict[str, str]  # muxer options


# H.264 (libx264, GPL-2.0-or-later, inside PyAV's wheel: docs/analyze.md) in MP4, moov atom
# first so a browser starts playing before the whole file is there; VP9 (libvpx, BSD) in WebM.
# Both 8-bit 4:2:0, the one layout every browser decodes. Presets measured: docs/benchmarks.md.
CODECS = {
    "h264": VideoCodec("libx264", "mp4", "video/mp4", {"preset": "veryfast", "crf": "23"},
                       {"movflags": "+faststart"}),
    "vp9": VideoCodec("libvpx-vp9", "webm", "video/webm",
                      {"deadline": "realtime", "cpu-used": "8", "crf": "32", "b": "0"}, {}),
}  # fmt: skip


class VideoSink:
    """Annotated video written to a hidden temp file, renamed into place on a clean exit; the
    one video writer of ``analyze`` and the web app, through PyAV (FFmpeg): ``h264`` (MP4,
    default) or ``vp9`` (WebM), codecs that browsers play (Chromium refuses the ``mp4v`` that
    OpenCV wrote before).

    Nothing is written until the first frame (no file for a run that draws none). Frames keep
    their size, but a frame with an odd width or height loses its last column or row (4:2:0
    video has even sides; OpenCV's ``mp4v`` cropped the same way). A sink that is not
    ``required`` skips its frames when the encoder cannot start, instead of failing.
    """

    def __init__(self, path: Path, fps: float, codec: str = "h264", required: bool = True):
        if codec not in CODECS:
            raise ValueError(f"codec {codec!r}: expected one of {', '.join(CODECS)}")
        self.path, self.fps, self.codec, self.required = path, fps, CODECS[codec], required
        self._tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
        self._output = None  # the open PyAV container, once a frame came
        self._stream = None
        self._size: tuple[int, int] | None = None
        self.frames = 0  # frames written

    @property
    def media_type(self) -> str:
        return self.codec.media_type

    def _open(self, width: int, height: int) -> None:
        import av

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._size = (width - width % 2, height - height % 2)
        try:
            if min(self._size) < 2:
                raise ValueError(f"a {width}x{height} frame is too small for a video")
            output = av.open(str(self._tmp), "w", format=self.codec.container,
                             options=self.codec.container_options)  # fmt: skip
            try:
                rate = Fraction(self.fps).limit_denominator(1001)
                stream = output.add_stream(self.codec.encoder, rate=rate)
                stream.width, stream.height = self._size
                stream.pix_fmt = "yuv420p"
                stream.options = dict(self.codec.options)
                stream.codec_context.open()
            except BaseException:
                output.close()
                raise
        except (av.FFmpegError, ValueError) as exc:
            self._tmp.unlink(missing_ok=True)
            if self.required:
                raise OSError(f"cannot open a video writer for {self.path}: {exc}") from exc
            return
        self._output, self._stream = output, stream

    def write(self, frame: np.ndarray) -> None:
        """Encode one BGR frame (the first one fixes the video's size)."""
        import av

        if self._size is None:
            self._open(frame.shape[1], frame.shape[0])
        if self._stream is None:
            return
        width, height = self._size
        picture = av.VideoFrame.from_ndarray(
            np.ascontiguousarray(frame[:height, :width]), format="bgr24"
        )
        picture.pts = self.frames
        self._output.mux(self._stream.encode(picture))
        self.frames += 1

    def __enter__(self) -> VideoSink:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if self._output is not None:
                try:
                    if exc_type is None:
                        self._output.mux(self._stream.encode(None))  # flush the encoder
                finally:
                    self._output.close()
                if exc_type is None:
                    os.replace(self._tmp, self.path)
        finally:
            self._tmp.unlink(missing_ok=True)
