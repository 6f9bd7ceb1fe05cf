"""One background job of the web app: a whole lesson recording analysed into a result folder.

:func:`run_job` runs the same pipeline as ``aiducation analyze`` and the Analyse page
(:func:`~aiducation.inference.pipeline.analyze_capture`) on the uploaded recording, every frame
the sampling gives (no frame limit), and writes the job's result folder whole or not at all
(``results/<id>/``, through a staging folder): the annotated video (H.264 MP4, not when
aggregate only), the class timeline and per-minute charts, ``students.csv``, ``minutes.csv``,
``timeline.csv`` and ``summary.json``, and the manifest listing them (size, SHA-256) as the
job's, so that deleting the result later removes these files only. What the job page shows
(summary, students with their intervals, minutes, coverage) is returned as
:attr:`JobOutcome.result`, which the queue keeps; the lesson's aggregates
(:func:`~aiducation.lessons.lesson_record`) when the upload named one.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from aiducation.csvfiles import write_csv
from aiducation.errors import InputError
from aiducation.figures import save_figure
from aiducation.inference.api import Analyzer
from aiducation.inference.outputs import VideoSink
from aiducation.inference.pipeline import (
    OutputPolicy,
    ProgressCallback,
    SourceResult,
    analyze_capture,
)
from aiducation.inference.smoothing import SmoothingConfig
from aiducation.inference.students import student_columns
from aiducation.inference.video import frame_step, open_video, video_fps
from aiducation.limits import MAX_PIXELS
from aiducation.manifest import record_files
from aiducation.web.analysis import shrink
from aiducation.web.analyze_page import finite

VIDEO_SIDE = 960  # the annotated video's longer side at most (a 640×480 lesson keeps its size)
RESULT_FILES = {  # file name → media type, the files a job's result may have
    "annotated.mp4": "video/mp4",
    "timeline.png": "image/png",
    "minutes.png": "image/png",
    "students.csv": "text/csv",
    "minutes.csv": "text/csv",
    "timeline.csv": "text/csv",
    "summary.json": "application/json",
}


@dataclass(frozen=True)
class JobOptions:
    """How a job analyses its recording (the upload's switches and the server's sampling)."""

    aggregate_only: bool = False  # shares only: no students table, no annotated video
    blur: bool = False  # faces blurred in the annotated video
    video_fps: float = 2.0  # frames analysed per second of video
    max_pixels: int = MAX_PIXELS
    smoothing: SmoothingConfig = field(default_factory=SmoothingConfig)

    @classmethod
    def from_dict(cls, options: dict) -> JobOptions:
        """The options a queued job was stored with (unknown keys are ignored)."""
        known = {k: v for k, v in options.items() if k in ("aggregate_only", "blur", "video_fps",
                                                            "max_pixels")}  # fmt: skip
        return cls(**known)

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "smoothing"}

    @property
    def policy(self) -> OutputPolicy:
        return OutputPolicy(aggregate_only=self.aggregate_only, blur=self.blur, thumbnails=False)


@dataclass(frozen=True)
class JobOutcome:
    """What a finished analysis leaves: the page's result and the pipeline's own result."""

    result: dict  # stored with the job (JSON-safe: no NaN)
    done: SourceResult


def open_recording(path: Path, filename: str, max_pixels: int):
    """The recording opened, an error naming the user's file rather than the stored one."""
    try:
        return open_video(path, max_pixels)
    except InputError as exc:
        raise InputError(str(exc).replace(str(path), filename)) from None


def run_job(
    recording: Path,
    filename: str,
    analyzer: Analyzer,
    options: JobOptions,
    folder: Path,
    *,
    progress: ProgressCallback | None = None,
    cancelled: Callable[[], bool] | None = None,
    owner: str = "aiducation job",
) -> JobOutcome:
    """Analyse ``recording`` (uploaded as ``filename``) into the result folder ``folder``
    (which must not exist: it appears whole at the end, its files listed as ``owner``'s in its
    manifest). A recording in which no face was found is bad input (:class:`InputError`), as
    is one that cannot be decoded."""
    started = time.monotonic()
    staging = folder.with_name(f".{folder.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(mode=0o700, parents=True)
    try:
        done, rate = _analyse(recording, filename, analyzer, options, staging, progress, cancelled)
        if done.summary["faces_seen"] == 0:
            shown = done.coverage()["analysed_to_s"] or 0.0
            raise InputError(
                f"{filename}: no face was found in the {shown:.0f} s analysed "
                f"({len(done.frames)} frames); nothing was recorded"
            )
        result = _write(done, filename, rate, options, staging)
        result["seconds"] = round(time.monotonic() - started, 1)
        record_files(staging, owner)
        staging.rename(folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return JobOutcome(finite(_plain(result)), done)


def _analyse(recording, filename, analyzer, options, staging, progress, cancelled):
    capture = open_recording(recording, filename, options.max_pixels)
    try:
        rate = video_fps(capture)
        step = frame_step(rate, fps=options.video_fps)
        sink = VideoSink(staging / "annotated.mp4", rate / step, required=False)
        with sink:
            done = analyze_capture(
                capture, filename, analyzer, options.policy, rate=rate, step=step,
                smoothing=options.smoothing, on_annotated=lambda shown, _: sink.write(
                    shrink(shown, VIDEO_SIDE)),
                reopen=partial(open_recording, recording, filename, options.max_pixels),
                progress=progress, cancelled=cancelled,
            )  # fmt: skip
    finally:
        capture.release()
    return done, rate


def _write(done: SourceResult, filename: str, rate: float, options: JobOptions, folder: Path):
    """The result files in ``folder``; the page's result."""
    summary = {k: v for k, v in done.summary.items() if k not in ("per_frame", "sources")}
    summary.update(students=done.n_students, tracks=done.tracks, fps=round(rate, 3),
                   shot_cuts=done.cuts)  # fmt: skip
    students = [{k: v for k, v in row.items() if k != "source"} for row in done.student_rows()]
    save_figure(done.timeline_figure(filename), folder / "timeline.png", dpi=100)
    save_figure(done.minutes_figure(filename), folder / "minutes.png", dpi=100)
    write_csv(pd.DataFrame(done.minutes), folder / "minutes.csv")
    write_csv(pd.DataFrame(done.timeline()).drop(columns=["source"]), folder / "timeline.csv")
    if options.policy.per_face:
        columns = [c for c in student_columns(done.classes) if c != "source"]
        write_csv(pd.DataFrame(students, columns=columns), folder / "students.csv")
    result = {
        "source": filename,
        "classes": done.classes,
        "summary": summary,
        "coverage": done.coverage(),
        "minutes": done.minutes,
        "students": students if options.policy.per_face else None,
        "options": options.to_dict(),
    }
    _write_json(folder / "summary.json", result)
    result["files"] = sorted(p.name for p in folder.iterdir() if p.name in RESULT_FILES)
    return result


def _write_json(path: Path, data: dict) -> None:
    from aiducation.atomic import write_json

    write_json(path, finite(_plain(data)))


def _plain(value: object) -> object:
    """numpy scalars as Python numbers, nested (JSON and the database take only these)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
