"""Analyse one uploaded photo or video for the web app, on top of :mod:`aiducation.inference`.

Images are decoded in memory; a video is written to a private temporary folder that is removed
before the function returns, error or not. Nothing about faces is kept on the server: the
result holds the annotated picture and the CSV/JSON downloads as in-page data.
"""

from __future__ import annotations

import base64
import json
import tempfile
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from aiducation.csvfiles import to_csv
from aiducation.errors import InputError
from aiducation.figures import figure_png
from aiducation.inference.api import Analyzer
from aiducation.inference.images import decode_image
from aiducation.inference.outputs import VideoSink
from aiducation.inference.pipeline import (
    USE_NOTICE,
    OutputPolicy,
    SourceResult,
    analyze_capture,
    analyze_picture,
)
from aiducation.inference.results import record_columns
from aiducation.inference.smoothing import SmoothingConfig
from aiducation.inference.students import student_columns
from aiducation.inference.video import frame_step, open_video, video_fps
from aiducation.limits import MAX_PIXELS
from aiducation.web.uploads import CheckedUpload

THUMBNAILS = 6  # annotated frames shown for a video
MAX_CLIP_BYTES = 20 * 2**20  # annotated WebM clips above this are not sent back


@dataclass(frozen=True)
class WebAnalysisOptions:
    """Switches of the Analyse page (as in ``aiducation analyze``) and video sampling limits."""

    aggregate_only: bool = False  # shares only: no per-face rows, no annotated picture
    blur: bool = False  # blur faces in the annotated picture
    video_fps: float = 2.0  # analyse about this many video frames per second
    max_frames: int = 240  # stop a video after this many analysed frames
    tmp_dir: str | None = None  # parent of the temporary video folder (None: system default)
    max_pixels: int = MAX_PIXELS  # larger pictures / video frames are refused before decoding
    smoothing: SmoothingConfig = field(default_factory=SmoothingConfig)  # students over time

    @property
    def policy(self) -> OutputPolicy:
        """What the page may show (the pipeline's one decision): thumbnails unless blurred."""
        return OutputPolicy(aggregate_only=self.aggregate_only, blur=self.blur)


@dataclass
class WebAnalysis:
    """What the result page shows and the JSON API returns."""

    name: str
    kind: str  # "image" or "video"
    classes: list[str]
    summary: dict
    records: list[dict] = field(default_factory=list)  # empty when aggregate-only
    images: list[str] = field(default_factory=list)  # annotated JPEGs as data: URLs
    students: list[dict] = field(default_factory=list)  # per tracked student (video only)
    timeline_png: str | None = None  # data: URL (video only)
    minutes_png: str | None = None  # the class's states per minute, data: URL (video only)
    video: str | None = None  # annotated sampled frames as a WebM data: URL (video only)
    options: WebAnalysisOptions = field(default_factory=WebAnalysisOptions)

    def to_json(self) -> dict:
        """Downloadable JSON: summary, per-face rows (unless aggregate-only), options, notice."""
        return {
            "source": self.name,
            "kind": self.kind,
            "classes": self.classes,
            "summary": self.summary,
            "faces": None if self.options.aggregate_only else self.records,
            "students": None if self.options.aggregate_only else self.student_rows(),
            "aggregate_only": self.options.aggregate_only,
            "notice": USE_NOTICE,
        }

    def student_rows(self) -> list[dict]:
        """Per-student rows without the in-page thumbnails (students.csv / JSON)."""
        return [{k: v for k, v in row.items() if k != "thumbnail"} for row in self.students]

    def students_csv(self) -> str:
        return to_csv(pd.DataFrame(self.student_rows(), columns=student_columns(self.classes)))

    def csv_text(self) -> str:
        """Per-face rows, or per-frame state counts when aggregate-only."""
        if self.options.aggregate_only:
            return to_csv(pd.DataFrame(self.summary["per_frame"]))
        return to_csv(pd.DataFrame(self.records, columns=record_columns(self.classes)))


def data_url(data: bytes, media_type: str) -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"


def jpeg_url(image: np.ndarray, max_side: int = 1280, quality: int = 85) -> str:
    """A BGR image, shrunk to ``max_side``, as a JPEG data: URL."""
    scale = max_side / max(image.shape[:2])
    if scale < 1:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("cannot encode the annotated image")
    return data_url(encoded.tobytes(), "image/jpeg")


def _result(upload: CheckedUpload, done: SourceResult, options: WebAnalysisOptions) -> WebAnalysis:
    """The page's view of the pipeline's result, every row named after the uploaded file."""
    per_frame = [{**row, "source": upload.name} for row in done.summary["per_frame"]]
    summary = {**done.summary, "sources": 1, "per_frame": per_frame}
    records = done.records(options.policy)
    for row in records:
        row["source"] = upload.name
    result = WebAnalysis(upload.name, done.kind, done.classes, summary, records, options=options)
    for student, row in zip(done.students, done.student_rows(), strict=True):
        crop = done.thumbnails.get(student.student)
        row.update(source=upload.name, thumbnail=None if crop is None else png_url(crop))
        result.students.append(row)
    return result


def analyze_upload_image(
    upload: CheckedUpload, analyzer: Analyzer, options: WebAnalysisOptions
) -> WebAnalysis:
    image = decode_image(upload.data, upload.name, options.max_pixels)
    shown: list[str] = []
    done = analyze_picture(
        image, upload.name, analyzer, options.policy, lambda picture, _: shown.append(
            jpeg_url(picture))
    )  # fmt: skip
    result = _result(upload, done, options)
    result.images = shown
    return result


def png_url(image: np.ndarray) -> str:
    ok, encoded = cv2.imencode(".png", image)
    if not ok:
        raise ValueError("cannot encode a thumbnail")
    return data_url(encoded.tobytes(), "image/png")


def shrink(image: np.ndarray, max_side: int = 640) -> np.ndarray:
    """``image`` scaled down to at most ``max_side`` pixels, with even sides (4:2:0 video)."""
    scale = min(1.0, max_side / max(image.shape[:2]))
    width, height = (round(image.shape[1] * scale) // 2 * 2, round(image.shape[0] * scale) // 2 * 2)
    return cv2.resize(image, (max(width, 2), max(height, 2)), interpolation=cv2.INTER_AREA)


def analyze_upload_video(
    upload: CheckedUpload, analyzer: Analyzer, options: WebAnalysisOptions
) -> WebAnalysis:
    """Sample the video at about ``options.video_fps`` frames/s; return the annotated sampled
    frames as a WebM clip (VP9, plays in browsers) plus a few stills and the timeline."""
    stills: list[np.ndarray] = []
    clip = b""
    with tempfile.TemporaryDirectory(prefix="aiducation-web-", dir=options.tmp_dir) as tmp:
        path, clip_path = Path(tmp) / f"upload{upload.suffix}", Path(tmp) / "annotated.webm"
        path.write_bytes(upload.data)
        try:
            capture = open_video(path, options.max_pixels)
        except InputError as exc:  # name the user's file, not the temporary one
            raise InputError(str(exc).replace(str(path), upload.name)) from None
        try:
            rate = video_fps(capture)
            step = frame_step(rate, fps=options.video_fps)
            total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0) // step + 1
            analysed = min(total, options.max_frames)
            wanted = set(np.linspace(0, max(analysed - 1, 0), THUMBNAILS).round().astype(int))
            sink = VideoSink(clip_path, rate / step, codec="vp9", required=False)
            counter = iter(range(10**9))

            def keep(picture: np.ndarray, _) -> None:
                shown = shrink(picture)
                sink.write(shown)
                if next(counter) in wanted:
                    stills.append(shown)

            with sink:
                done = analyze_capture(
                    capture, upload.name, analyzer, options.policy, rate=rate, step=step,
                    max_frames=options.max_frames, on_annotated=keep, smoothing=options.smoothing,
                    reopen=partial(open_video, path, options.max_pixels),
                )  # fmt: skip
        finally:
            capture.release()
        if clip_path.is_file() and clip_path.stat().st_size <= MAX_CLIP_BYTES:
            clip = clip_path.read_bytes()
    result = _result(upload, done, options)
    result.summary.update(
        students=done.n_students,
        tracks=done.tracks,
        fps=round(rate, 3),
        per_minute=done.minutes,
        coverage=done.coverage(page_limit(options)),
    )
    result.images = [jpeg_url(image) for image in stills]
    result.video = data_url(clip, "video/webm") if clip else None
    figure = done.timeline_figure(upload.name)  # drawn as literal text (parse_math=False)
    result.timeline_png = data_url(figure_png(figure), "image/png")
    minutes = done.minutes_figure(upload.name)  # drawn as written (parse_math=False)
    result.minutes_png = data_url(figure_png(minutes), "image/png")
    return result


def page_limit(options: WebAnalysisOptions) -> str:
    """Why a video analysed inside the request may stop early, in the page's words."""
    return (
        f"this page analyses at most {options.max_frames} frames of a video "
        f"({options.video_fps:g} a second); upload it as a whole lesson to analyse all of it"
    )


def analyze_upload(
    upload: CheckedUpload, analyzer: Analyzer, options: WebAnalysisOptions
) -> WebAnalysis:
    """Analyse an accepted upload (image or video) with ``analyzer``."""
    if upload.is_video:
        return analyze_upload_video(upload, analyzer, options)
    return analyze_upload_image(upload, analyzer, options)


def downloads(result: WebAnalysis) -> dict[str, str]:
    """``{file name: data: URL}`` for the CSV and JSON downloads of a result: ``_faces.csv``
    (one row per face), or when aggregate-only ``_timeline.csv`` (state counts per analysed
    frame) for a video and ``_counts.csv`` (the photo's state counts, one row) for a photo; a
    video's ``_students.csv`` (unless aggregate-only) and ``_minutes.csv`` (each state's share
    per minute, with the faces answered)."""
    stem = Path(result.name).stem or "analysis"
    if not result.options.aggregate_only:
        suffix = "faces"
    else:
        suffix = "timeline" if result.kind == "video" else "counts"
    payload = json.dumps(result.to_json(), indent=2, default=str).encode()
    files = {f"{stem}_{suffix}.csv": data_url(result.csv_text().encode(), "text/csv")}
    if result.kind == "video" and not result.options.aggregate_only:
        files[f"{stem}_students.csv"] = data_url(result.students_csv().encode(), "text/csv")
    if result.kind == "video":
        minutes = to_csv(pd.DataFrame(result.summary.get("per_minute", [])))
        files[f"{stem}_minutes.csv"] = data_url(minutes.encode(), "text/csv")
    files[f"{stem}.json"] = data_url(payload, "application/json")
    return files
