"""One analysis pipeline for every front end: a picture or a video in, a :class:`SourceResult`.

``aiducation analyze`` (a folder writer, :mod:`aiducation.inference.runner`) and the web app (an
in-memory writer, :mod:`aiducation.web.analysis`) both run :func:`analyze_picture` and
:func:`analyze_capture` and only render what they return: the same faces, students and
timeline for the same input. What may leave the analysis (per-face data, annotated pictures,
crops, student thumbnails) is decided once, by :class:`OutputPolicy`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from importlib import resources
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from aiducation.inference.api import Analyzer, analyze_stream, settle_frames
from aiducation.inference.draw import annotate
from aiducation.inference.results import FrameResult, face_records, per_minute, summarize
from aiducation.inference.smoothing import (
    CausalSmoother,
    SmoothingConfig,
    answer_scheme,
    smooth_live,
)
from aiducation.inference.students import (
    StudentRules,
    StudentSummary,
    Thumbnails,
    summarize_students,
)
from aiducation.inference.video import expected_frames, iter_frames, media_seconds

USE_NOTICE = (
    "Research and teaching aid only: 4 states learned from 48x48 grayscale FER2013/FER+ faces; "
    "per-face states are unreliable. Emotion recognition in education institutions is "
    "prohibited in the EU (AI Act, Art. 5(1)(f)) except for medical or safety reasons."
)

DEMO_IMAGE = "classroom_19faces.jpg"


def demo_image_path() -> Path:
    """The bundled classroom-like demo photo (see assets/demo/SOURCE.md)."""
    return Path(str(resources.files("aiducation") / "assets" / "demo" / DEMO_IMAGE))


Annotated = Callable[[np.ndarray, FrameResult], None]  # (annotated BGR picture, its result)
Crops = Callable[[FrameResult, np.ndarray], None]  # (result, its faces' 48×48 crops)


@dataclass(frozen=True)
class Progress:
    """How far a video's analysis is: ``done`` of ``total`` frames of a ``stage``.

    ``analysing``: frames analysed of those the sampling will analyse (``total`` from the
    container's frame count, the step and ``max_frames``; ``None`` when unknown, as for a
    webcam). ``drawing``: a recording's annotated frames drawn in the second pass.
    """

    stage: str
    done: int
    total: int | None


ProgressCallback = Callable[[Progress], object]


class Cancelled(Exception):
    """The caller's cancel check asked the analysis to stop; it returns nothing."""


@dataclass(frozen=True)
class OutputPolicy:
    """What the analysis may hand out, from the user's switches (decided here only).

    ``aggregate_only``: shares only (no per-face rows, pictures, crops or thumbnails).
    ``blur``: faces blurred in annotated pictures, and no student thumbnails (a thumbnail would
    show the face). ``crops``: every classified crop (``--save-crops``). ``thumbnails``: one
    crop per student. ``preview``: annotate frames even when nothing is stored (a live window).
    """

    aggregate_only: bool = False
    blur: bool = False
    legend: bool = False
    crops: bool = False
    thumbnails: bool = True
    preview: bool = False
    student_rules: StudentRules = field(default_factory=StudentRules)

    @property
    def per_face(self) -> bool:
        """Per-face rows, students and annotated pictures may be handed out."""
        return not self.aggregate_only

    @property
    def keep_crops(self) -> bool:
        return self.per_face and self.crops

    @property
    def keep_thumbnails(self) -> bool:
        return self.per_face and self.thumbnails and not self.blur

    @property
    def draws(self) -> bool:
        return self.per_face or self.preview


@dataclass
class SourceResult:
    """Everything one picture or video gave: frames, and for a video its students."""

    source: str
    kind: str  # "image", "video" or "webcam"
    classes: list[str]
    frames: list[FrameResult]
    fps: float | None = None
    students: list[StudentSummary] = field(default_factory=list)  # none when aggregate-only
    thumbnails: dict[int, np.ndarray] = field(default_factory=dict)  # student id → 48×48 crop
    tracks: int = 0  # face tracks of a video
    cuts: list[float] = field(default_factory=list)  # s, where a new shot begins
    n_students: int = 0  # tracks that count as students (also when aggregate-only)
    duration: float | None = None  # s of video its header states (None: unknown, a webcam)
    stopped_at: float | None = None  # s: ``max_frames`` stopped it here, the video went on

    def coverage(self, limit: str | None = None) -> dict:
        """How much of a video was analysed, for summary.json, the JSON API and the pages:
        ``analysed_to_s`` (the last analysed frame), ``duration_s`` (the header's, or
        ``None``), ``complete`` (the analysis reached the video's end) and ``reason`` (why
        not: ``limit`` names the frame limit in the caller's words, e.g. "--max-frames 240";
        a video whose frames end well before its stated length is called truncated)."""
        times = [f.time for f in self.frames if f.time is not None]
        last = round(max(times), 3) if times else None
        reason = None
        if self.stopped_at is not None:
            reason = limit or f"at most {len(self.frames)} analysed frames"
        elif self.duration is not None and last is not None and self.fps:
            step = self.frames[1].frame - self.frames[0].frame if len(self.frames) > 1 else 1
            if last + 2 * step / self.fps + 1.0 < self.duration:  # a second and 2 samples short
                reason = "the video's frames end early: the file is truncated or damaged"
        return {
            "analysed_to_s": last,
            "duration_s": None if self.duration is None else round(self.duration, 3),
            "complete": reason is None,
            "reason": reason,
        }

    def records(self, policy: OutputPolicy) -> list[dict]:
        """Per-face rows (faces.csv), none when aggregate-only."""
        return face_records(self.frames, self.classes) if policy.per_face else []

    @cached_property
    def summary(self) -> dict:
        """:func:`~aiducation.inference.results.summarize` of the frames, computed once (read
        it, do not change it)."""
        return summarize(self.frames, self.classes)

    def timeline(self) -> list[dict]:
        """Per-frame counts of each state (the timeline CSV)."""
        return self.summary["per_frame"]

    @cached_property
    def minutes(self) -> list[dict]:
        """The class's share of each state per minute (summary.json, a CSV and a plot),
        computed once."""
        return per_minute(self.frames, self.classes)

    def minutes_figure(self, name: str) -> Figure:
        from aiducation.inference.plots import minutes_figure

        return minutes_figure(self.minutes, self.classes, f"Learning states per minute: {name}")

    def timeline_figure(self, name: str) -> Figure:
        from aiducation.inference.plots import timeline_figure

        return timeline_figure(self.frames, self.classes, f"Learning states: {name}", self.cuts)

    def student_rows(self) -> list[dict]:
        """Per-student rows (students.csv), in student order."""
        return [student.row(self.classes) for student in self.students]


def _draw(analyzer: Analyzer, policy: OutputPolicy, image: np.ndarray, result: FrameResult):
    legend = analyzer.classes if policy.legend else None
    return annotate(image, result.faces, policy.blur, legend=legend)


def analyze_picture(
    image: np.ndarray,
    source: str,
    analyzer: Analyzer,
    policy: OutputPolicy,
    on_annotated: Annotated | None = None,
    on_crops: Crops | None = None,
) -> SourceResult:
    """Analyse one BGR picture; ``on_annotated``/``on_crops`` receive what ``policy`` allows."""
    result, crops = analyzer.analyze_frame(image, source=source)
    if on_annotated is not None and policy.draws:
        on_annotated(_draw(analyzer, policy, image, result), result)
    if on_crops is not None and policy.keep_crops:
        on_crops(result, crops)
    return SourceResult(source, "image", analyzer.classes, [result])


def analyze_capture(
    capture,
    source: str,
    analyzer: Analyzer,
    policy: OutputPolicy,
    *,
    rate: float,
    step: int,
    max_frames: int | None = None,
    live: bool = False,
    smoothing: SmoothingConfig | None = None,
    reopen: Callable[[], object] | None = None,
    on_annotated: Annotated | None = None,
    on_crops: Crops | None = None,
    progress: ProgressCallback | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> SourceResult:
    """Analyse an open video (or ``live`` camera) every ``step``-th frame: faces tracked, each
    track's answers smoothed (``smoothing``; default :class:`SmoothingConfig`), then students
    under ``policy.student_rules`` with their thumbnails where allowed. ``progress`` gets a
    :class:`Progress` after each analysed (and each drawn) frame; ``cancelled`` is asked after
    each one too, and when it answers true :class:`Cancelled` is raised. Neither changes the
    result. A recording stopped by ``max_frames`` before its end has ``stopped_at`` set.

    A live camera is smoothed causally, frame by frame. A recording's broken tracks are
    re-joined (:func:`~aiducation.inference.rejoin.rejoin_tracks`, within a shot) and then
    smoothed over whole tracks once it is analysed; its annotated frames then come from a
    second decoding pass (``reopen`` opens the recording again), so pictures show the smoothed
    answers.
    """
    smoothing = smoothing or SmoothingConfig()
    answer = answer_scheme(analyzer.classifier)
    smoothed = smoothing.method != "none"
    later = smoothed and not live and reopen is not None  # draw in a second pass
    smoother = CausalSmoother(smoothing.live()) if smoothed and live else None
    thumbnails, shown_frames = Thumbnails(), []
    total = None if live else expected_frames(capture, step, max_frames)
    tick = _ticker("analysing", total, progress, cancelled)

    def each(frame: np.ndarray, result: FrameResult, crops: np.ndarray) -> None:
        tick()
        if smoother is not None:
            result = smooth_live(result, smoother, answer)
            shown_frames.append(result)
        if policy.keep_thumbnails:
            thumbnails.add(result, crops)
        if on_annotated is not None and policy.draws and not later:
            on_annotated(_draw(analyzer, policy, frame, result), result)
        if on_crops is not None and policy.keep_crops:
            on_crops(result, crops)

    video = analyze_stream(
        capture, source, rate, step, analyzer, None, each, live, max_frames
    )  # fmt: skip
    full = max_frames is not None and len(video.frames) >= max_frames and not live
    # cut only when the sampling would have gone on: the next sampled frame exists
    more = full and all(capture.grab() for _ in range(step))
    stopped_at = video.frames[-1].time if more else None
    tracks, cuts = len(video.track_ids), shot_cuts(video)
    # live: smoothed frame by frame; a recording: one id per person, then smoothed (in place:
    # the frames' own results are freed as the settled ones are made, not kept beside them)
    frames = shown_frames if smoother is not None else video.frames
    shots = video.shots
    del video
    if smoother is None:
        settle_frames(frames, shots, analyzer, smoothing)
    frames = without_tracks(frames, policy.student_rules.exclude)
    if later and on_annotated is not None and policy.draws:
        drawn = _ticker("drawing", len(frames), progress, cancelled)
        _redraw(reopen, frames, analyzer, policy, rate, step, on_annotated, drawn)
    students = summarize_students(frames, analyzer.classes, policy.student_rules)
    crops = {s.student: thumbnails.get(s.track) for s in students}
    return SourceResult(
        source, "webcam" if live else "video", analyzer.classes, frames, rate,
        students=students if policy.per_face else [],
        thumbnails={k: v for k, v in crops.items() if v is not None},
        tracks=tracks, n_students=len(students), cuts=cuts,
        duration=None if live else media_seconds(capture, rate), stopped_at=stopped_at,
    )  # fmt: skip


def _ticker(
    stage: str, total: int | None, progress: ProgressCallback | None, cancelled
) -> Callable[[], None]:
    """Called once per frame of ``stage``: reports :class:`Progress`, raises :class:`Cancelled`
    when asked to stop. A ``total`` the frames outrun (a header that undercounts) grows."""
    done = 0

    def tick() -> None:
        nonlocal done, total
        done += 1
        if total is not None and done > total:
            total = done
        if progress is not None:
            progress(Progress(stage, done, total))
        if cancelled is not None and cancelled():
            raise Cancelled(f"cancelled while {stage} frame {done}")

    return tick


def _redraw(reopen, frames, analyzer, policy, rate: float, step: int, on_annotated, tick) -> None:
    """The second pass over a recording: each analysed frame drawn with its smoothed answers
    (``tick()`` after each)."""
    by_index = {frame.frame: frame for frame in frames}
    last = max(by_index)
    capture = reopen()
    try:
        for index, _, image in iter_frames(capture, step, rate):
            if index in by_index:
                on_annotated(_draw(analyzer, policy, image, by_index[index]), by_index[index])
                tick()
            if index >= last:
                break
    finally:
        capture.release()


def without_tracks(frames: list[FrameResult], tracks: frozenset[int]) -> list[FrameResult]:
    """``frames`` without the faces of ``tracks`` (people the user excluded: a speaker, a
    visitor): they count nowhere, not in faces.csv, the students or any share."""
    if not tracks:
        return frames
    return [replace(f, faces=[x for x in f.faces if x.face_id not in tracks]) for f in frames]


def shot_cuts(video) -> list[float]:
    """Times (s) of the analysed frames where the tracker saw a new shot begin."""
    return [
        round(frame.time, 3) if frame.time is not None else float(frame.frame)
        for frame, before, now in zip(video.frames[1:], video.shots, video.shots[1:], strict=False)
        if now > before
    ]
