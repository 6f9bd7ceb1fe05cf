"""What a lesson is in the history: the aggregates of one analysed video, as frozen records.

:func:`lesson_record` turns one :class:`~aiducation.inference.pipeline.SourceResult` into a
:class:`LessonRecord` (what :meth:`LessonStore.add_lesson` writes); the store hands back
:class:`LessonSummary` (a row of the list), :class:`LessonDetail` (one lesson whole),
:class:`Course` (a course and its number of lessons) and :class:`JobRow` (one job of the web
app's queue). Only aggregates are kept: no images, crops or per-face rows, and a student's
number is valid within its lesson only (nothing links students across lessons).
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from aiducation.inference.pipeline import SourceResult

BOOTSTRAP_SAMPLES = 1000  # as the students' intervals (inference/students.py)
MAX_NAME = 200  # characters of a lesson's or course's name


@dataclass(frozen=True)
class StateShare:
    """The class's share of one state over a lesson: answered faces in it, their share of all
    answered faces, and a 95 % interval (``None`` when no face was answered)."""

    state: str
    count: int
    share: float
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Minute:
    """One minute of a lesson: analysed frames, faces answered, each state's share of them."""

    minute: int
    frames: int
    faces: int
    shares: dict[str, float]

    def row(self) -> dict:
        """Flat record (``minute, frames, faces, share_<state>...``)."""
        shares = {f"share_{state}": share for state, share in self.shares.items()}
        return {"minute": self.minute, "frames": self.frames, "faces": self.faces, **shares}


@dataclass(frozen=True)
class LessonRecord:
    """One lesson to be stored (see :func:`lesson_record`)."""

    name: str
    course: str | None
    day: datetime.date
    source: str  # the recording's file name (no folders)
    classes: tuple[str, ...]
    duration_s: float  # the recording's length (s; what was analysed when it is unknown)
    analysed_s: float  # seconds of it analysed (less when a frame limit or a damaged file cut it)
    frames: int  # analysed (sampled) frames
    faces_seen: int
    faces_answered: int  # faces given a state (Uncertain ones are not): shares are of these
    students: int  # tracks counted as students
    tracks: int
    states: tuple[StateShare, ...]
    minutes: tuple[Minute, ...]
    student_rows: tuple[dict, ...] = ()  # students.csv rows without the source
    model: dict = field(default_factory=dict)  # name, version, checksum
    settings: dict = field(default_factory=dict)  # the analysis settings


@dataclass(frozen=True)
class LessonSummary:
    """A stored lesson without its minutes and students (a row of the lessons list)."""

    id: int
    name: str
    course: str | None
    day: datetime.date
    created: datetime.datetime  # when it was recorded (UTC)
    source: str
    classes: tuple[str, ...]
    duration_s: float
    analysed_s: float
    frames: int
    faces_answered: int
    students: int
    states: tuple[StateShare, ...]

    @property
    def shares(self) -> dict[str, float]:
        """Each state's share of the lesson's answered faces."""
        return {s.state: s.share for s in self.states}

    def row(self) -> dict:
        """Flat record: the lesson and each state's share with its interval."""
        row = {
            "id": self.id, "course": self.course or "", "name": self.name,
            "date": self.day.isoformat(), "source": self.source,
            "duration_s": round(self.duration_s, 1), "analysed_s": round(self.analysed_s, 1),
            "frames": self.frames,
            "faces_answered": self.faces_answered, "students": self.students,
        }  # fmt: skip
        for s in self.states:
            row |= {f"share_{s.state}": s.share, f"share_{s.state}_low": s.low,
                    f"share_{s.state}_high": s.high}  # fmt: skip
        return row


@dataclass(frozen=True)
class LessonDetail(LessonSummary):
    """One stored lesson whole: the summary plus its minutes, students, model and settings."""

    faces_seen: int = 0
    tracks: int = 0
    minutes: tuple[Minute, ...] = ()
    student_rows: tuple[dict, ...] = ()
    model: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        """Everything about the lesson, JSON-ready."""
        return {
            **self.row(),
            "created": self.created.isoformat(),
            "classes": list(self.classes),
            "faces_seen": self.faces_seen,
            "tracks": self.tracks,
            "minutes": [m.row() for m in self.minutes],
            "students": [dict(r) for r in self.student_rows],
            "model": self.model,
            "settings": self.settings,
        }


@dataclass(frozen=True)
class Course:
    """A course of the lesson history and how many lessons it holds."""

    name: str
    lessons: int


# deleted: a done job whose result (files and stored result) was deleted; its lesson stays
JOB_STATES = ("queued", "running", "done", "failed", "cancelled", "deleted")


@dataclass(frozen=True)
class JobRow:
    """One job of the web app's queue (times UTC; ``done``/``total`` frames)."""

    id: int
    state: str  # one of JOB_STATES
    filename: str  # the name the user uploaded
    recording: str  # where the uploaded recording lay (deleted when the job ends)
    options: dict
    lesson: dict | None  # name, course, date to record the lesson under (None: not recorded)
    done: int
    total: int | None
    created: datetime.datetime
    started: datetime.datetime | None
    finished: datetime.datetime | None
    reason: str | None  # why it failed, was cancelled or its result deleted
    lesson_id: int | None
    result: dict | None  # None unless done
    cancel_requested: bool


def class_intervals(
    counts: np.ndarray, block: int, samples: int = BOOTSTRAP_SAMPLES
) -> list[tuple[float, float] | None]:
    """95 % moving-block bootstrap intervals of each state's share of all answered faces.

    ``counts`` is ``(frames, states)``: answered faces per state in each analysed frame, in
    time order. Blocks of ``block`` consecutive frames are resampled whole (neighbouring frames
    are not independent), ``ceil(frames / block)`` of them per sample; seeded, so a lesson's
    intervals are reproducible. ``None`` for every state when no face was answered.
    """
    import numpy as np

    n, k = counts.shape
    if n == 0 or counts.sum() == 0:
        return [None] * k
    block = int(min(max(block, 1), n))
    cumulative = np.vstack([np.zeros((1, k)), np.cumsum(counts, axis=0)])
    block_sums = cumulative[block:] - cumulative[:-block]  # (n - block + 1, k)
    starts = np.random.default_rng(0).integers(0, n - block + 1, (samples, -(-n // block)))
    drawn = block_sums[starts].sum(axis=1)  # (samples, k)
    totals = drawn.sum(axis=1, keepdims=True)
    shares = np.divide(drawn, totals, out=np.zeros_like(drawn), where=totals > 0)
    low, high = np.percentile(shares, [2.5, 97.5], axis=0)
    return [(round(float(a), 4), round(float(b), 4)) for a, b in zip(low, high, strict=True)]


def _finite(value: object) -> object:
    """``value``, or ``None`` for a NaN or infinite float (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def lesson_record(
    result: SourceResult,
    *,
    name: str,
    course: str | None,
    day: datetime.date | None,
    model: dict,
    settings: dict,
) -> LessonRecord:
    """The aggregates of one analysed video (``day`` None: today): duration (the header's) and
    how much of it was analysed, sampled frames,
    per-minute class shares of each state with face counts, the class's share of each state
    over the lesson with a 95 % interval (moving-block bootstrap over time, blocks of
    :data:`~aiducation.inference.students.BLOCK_SECONDS`), per-student rows (anonymous numbers
    valid within this lesson only), the model and the analysis settings."""
    import numpy as np

    from aiducation.inference.students import BLOCK_SECONDS, frame_interval

    classes = list(result.classes)
    summary = result.summary
    counts = np.array([[row[c] for c in classes] for row in summary["per_frame"]], float)
    counts = counts.reshape(len(summary["per_frame"]), len(classes))
    interval = frame_interval(result.frames)
    block = max(1, round(BLOCK_SECONDS / interval)) if interval > 0 else 1
    block = min(block, max(1, round(len(counts) ** 0.5)))  # several blocks in a short lesson
    intervals = class_intervals(counts, block)
    states = tuple(
        StateShare(c, int(summary["state_counts"][c]), float(summary["state_shares"][c]),
                   *(span if span is not None else (None, None)))
        for c, span in zip(classes, intervals, strict=True)
    )  # fmt: skip
    minutes = tuple(
        Minute(int(row["minute"]), int(row["frames"]), int(row["faces"]),
               {c: float(row[f"share_{c}"]) for c in classes})
        for row in result.minutes
    )  # fmt: skip
    times = [f.time for f in result.frames if f.time is not None]
    analysed = (max(times) + interval) if times else 0.0
    duration = result.duration if result.duration is not None else analysed
    analysed = min(analysed, duration)
    students = tuple(
        {k: _finite(v) for k, v in row.items() if k != "source"} for row in result.student_rows()
    )
    return LessonRecord(
        name=name, course=course, day=day or datetime.date.today(),
        source=PurePath(result.source).name, classes=tuple(classes),
        duration_s=round(float(duration), 3), analysed_s=round(float(analysed), 3),
        frames=len(result.frames),
        faces_seen=int(summary["faces_seen"]), faces_answered=int(summary["faces_answered"]),
        students=int(result.n_students), tracks=int(result.tracks), states=states,
        minutes=minutes, student_rows=students, model=dict(model), settings=dict(settings),
    )  # fmt: skip
