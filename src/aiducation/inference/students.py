"""Per-student summaries of a video or webcam stream: one row per face track.

A *student* is a track seen for at least ``min_seconds`` and ``min_frames`` analysed frames;
shorter tracks (a face found once, a hand, a passer-by) are not counted. For each student:
time on screen (analysed frames × the interval between analysed frames), first and last time
seen, the share of each state (``Other`` included) and the dominant state.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

from aiducation.defaults import MIN_STUDENT_SECONDS
from aiducation.inference.results import FrameResult


@dataclass(frozen=True)
class StudentRules:
    """Which tracks count as students."""

    min_seconds: float = MIN_STUDENT_SECONDS  # time on screen
    min_frames: int = 3  # analysed frames


@dataclass(frozen=True)
class StudentSummary:
    """One tracked student of one source."""

    source: str
    student: int  # the track id (``face_id`` in faces.csv)
    frames: int
    seconds: float  # time on screen
    first_seen: float  # s
    last_seen: float  # s
    dominant: str
    shares: dict[str, float]  # share of the analysed frames in each state

    def row(self, classes: list[str]) -> dict:
        """Flat record (students.csv, JSON)."""
        return {
            "source": self.source,
            "student": self.student,
            "frames": self.frames,
            "seconds_on_screen": round(self.seconds, 2),
            "first_seen_s": round(self.first_seen, 2),
            "last_seen_s": round(self.last_seen, 2),
            "dominant_state": self.dominant,
            **{f"share_{c}": round(self.shares.get(c, 0.0), 4) for c in classes},
        }


def student_columns(classes: list[str]) -> list[str]:
    """Column names of :meth:`StudentSummary.row`."""
    return [
        "source", "student", "frames", "seconds_on_screen", "first_seen_s", "last_seen_s",
        "dominant_state", *(f"share_{c}" for c in classes),
    ]  # fmt: skip


def frame_interval(frames: list[FrameResult]) -> float:
    """Median seconds between consecutive analysed frames (0 for fewer than two)."""
    times = np.array([f.time for f in frames if f.time is not None], float)
    steps = np.diff(times)
    steps = steps[steps > 0]
    return float(np.median(steps)) if len(steps) else 0.0


def summarize_students(
    frames: list[FrameResult], classes: list[str], rules: StudentRules | None = None
) -> list[StudentSummary]:
    """Students of one source's tracked frames (tracks under ``rules`` are left out)."""
    rules = rules or StudentRules()
    interval = frame_interval(frames)
    states: dict[int, list[str]] = defaultdict(list)
    times: dict[int, list[float]] = defaultdict(list)
    for frame in frames:
        for face in frame.faces:
            states[face.face_id].append(face.state)
            times[face.face_id].append(frame.time if frame.time is not None else 0.0)
    order = {c: i for i, c in enumerate(classes)}
    students = []
    for track in sorted(states):
        seen = len(states[track])
        seconds = seen * interval
        if seen < rules.min_frames or seconds < rules.min_seconds - 1e-9:
            continue
        counts = Counter(states[track])
        dominant = min(counts, key=lambda s: (-counts[s], order.get(s, len(order))))
        students.append(
            StudentSummary(
                source=frames[0].source,
                student=track,
                frames=seen,
                seconds=seconds,
                first_seen=min(times[track]),
                last_seen=max(times[track]),
                dominant=dominant,
                shares={c: counts.get(c, 0) / seen for c in classes},
            )
        )
    return students


@dataclass
class Thumbnails:
    """Keeps, per track, the classified 48×48 crop where the detector was most confident."""

    best: dict[int, tuple[float, np.ndarray]] = field(default_factory=dict)

    def add(self, result: FrameResult, crops: np.ndarray) -> None:
        for face, crop in zip(result.faces, crops, strict=True):
            kept = self.best.get(face.face_id)
            if kept is None or face.detector_score > kept[0]:
                self.best[face.face_id] = (face.detector_score, np.array(crop))

    def get(self, track: int) -> np.ndarray | None:
        kept = self.best.get(track)
        return None if kept is None else kept[1]
