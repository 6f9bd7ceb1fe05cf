"""Frames from video files and webcams through ``cv2.VideoCapture``, with frame sampling."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from aiducation.errors import InputError
from aiducation.inference.images import check_pixels
from aiducation.limits import MAX_PIXELS

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"})


def open_video(path: str | Path, max_pixels: int = MAX_PIXELS) -> cv2.VideoCapture:
    """Open a video file; a missing or unreadable file raises :class:`InputError`, and so
    does one whose frames exceed ``max_pixels`` (checked before any frame is read)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such video file")
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise InputError(f"{path}: cannot open as a video (corrupt or unsupported format)")
    width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH) or 0)
    height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0)
    try:
        check_pixels(str(path), width, height, max_pixels, what="video frame")
    except InputError:
        capture.release()
        raise
    return capture


def open_webcam(index: int) -> cv2.VideoCapture:
    """Open camera ``index``; a missing camera raises :class:`InputError` (OpenCV's own
    ``[ WARN ]`` lines about the failed attempt are silenced: the error says it all)."""
    logging = cv2.utils.logging
    level = logging.getLogLevel()
    logging.setLogLevel(logging.LOG_LEVEL_ERROR)
    try:
        capture = cv2.VideoCapture(index)
    finally:
        logging.setLogLevel(level)
    if not capture.isOpened():
        raise InputError(f"camera {index}: no camera found at index {index}")
    return capture


def frame_step(video_fps: float, every: int = 1, fps: float | None = None) -> int:
    """Analyse one frame in this many: ``every`` frames, or about ``fps`` frames per second."""
    if fps is not None:
        if fps <= 0:
            raise InputError(f"fps (frames analysed per second) must be positive, got {fps}")
        return max(1, round((video_fps or fps) / fps))
    if every < 1:
        raise InputError(f"every (analyse one frame in N) must be at least 1, got {every}")
    return every


def frame_count(capture: cv2.VideoCapture) -> int | None:
    """Frames the container's header states (``None`` when it states none, as a webcam)."""
    count = capture.get(cv2.CAP_PROP_FRAME_COUNT)
    return int(count) if count and np.isfinite(count) and count > 0 else None


def expected_frames(capture: cv2.VideoCapture, step: int, max_frames: int | None = None):
    """Frames that sampling every ``step``-th will analyse, at most ``max_frames`` (``None``
    when the header states no frame count)."""
    count = frame_count(capture)
    if count is None:
        return None
    total = -(-count // step)
    return total if max_frames is None else min(total, max_frames)


def media_seconds(capture: cv2.VideoCapture, fps: float) -> float | None:
    """The video's length from its header (frame count / ``fps``), ``None`` if unknown."""
    count = frame_count(capture)
    return None if count is None or not fps else count / fps


def video_fps(capture: cv2.VideoCapture, default: float = 25.0) -> float:
    fps = capture.get(cv2.CAP_PROP_FPS)
    return float(fps) if fps and np.isfinite(fps) and 0 < fps < 1000 else default


def iter_frames(
    capture: cv2.VideoCapture, step: int = 1, fps: float = 25.0, live: bool = False
) -> Iterator[tuple[int, float, np.ndarray]]:
    """Yield ``(frame index, time in s, BGR frame)`` for every ``step``-th frame.

    Files are timed by frame index / ``fps``; live sources (``live``) by the wall clock.
    """
    start = time.monotonic()
    index = 0
    while True:
        ok = capture.grab()
        if not ok:
            return
        if index % step == 0:
            ok, frame = capture.retrieve()
            if not ok or frame is None:
                return
            yield index, (time.monotonic() - start if live else index / fps), frame
        index += 1
