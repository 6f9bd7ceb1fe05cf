"""Per-student summaries of a video or webcam stream: one row per face track.

A *student* is a track seen for at least ``min_seconds`` and ``min_frames`` analysed frames;
shorter tracks (a face found once, a hand, a passer-by) are not counted. Students are numbered
1..N per source in the order they first appear (``track`` keeps the tracker's id, the
``face_id`` of faces.csv). For each student: time on screen (analysed frames × the interval
between analysed frames), first and last time seen, the share of each state (``Other``
included) with a 95 % interval, the longest stretch in each state, and the dominant state (a
tie goes to the state with the higher mean probability). Faces the quality gate answered
"Uncertain" count for time on screen but for no share (``usable_frames`` are the others); the
share of frames turned away (``|yaw|`` over :data:`TURNED_AWAY_DEGREES`) is a cue of where a
face was pointed, not a measure of attention.

The intervals come from a moving-block bootstrap over the student's frames in time order:
neighbouring frames are not independent (and smoothed answers even less so), so blocks of
:data:`BLOCK_SECONDS` (at most √n frames of a student's n, so a short track still has several
blocks) are resampled whole. They describe how stable the answer was over the
lesson, not whether the model is right.
"""

from __future__ import annotations

from array import array
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

from aiducation.defaults import MIN_STUDENT_SECONDS
from aiducation.inference.results import FrameResult
from aiducation.models.answers import UNCERTAIN


@dataclass(frozen=True)
class StudentRules:
    """Which tracks count as students. A track whose every frame the quality gate refused
    (``min_usable_frames``) says nothing about anyone's state: a blurred back-row face, a
    profile passing by. ``exclude``: track ids the user took out (a speaker, a visitor)."""

    min_seconds: float = MIN_STUDENT_SECONDS  # time on screen
    min_frames: int = 3  # analysed frames
    min_usable_frames: int = 1  # frames answered (not "Uncertain")
    exclude: frozenset[int] = frozenset()  # track ids (face_id in faces.csv)


TURNED_AWAY_DEGREES = 45.0  # |yaw| beyond this counts as turned away (a cue, not attention)
BLOCK_SECONDS = 10.0  # bootstrap blocks: about the time an answer stays correlated
BOOTSTRAP_SAMPLES = 1000


@dataclass(frozen=True)
class StudentSummary:
    """One tracked student of one source."""

    source: str
    student: int  # 1..N per source, in order of first appearance
    frames: int
    seconds: float  # time on screen
    first_seen: float  # s
    last_seen: float  # s
    dominant: str
    shares: dict[str, float]  # share of the analysed frames in each state
    track: int = 0  # the tracker's id (``face_id`` in faces.csv)
    usable_frames: int = 0  # frames answered (not "Uncertain"): the shares are of these
    turned_away: float | None = None  # share of frames with |yaw| > TURNED_AWAY_DEGREES
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)  # 95 % of shares
    longest: dict[str, float] = field(default_factory=dict)  # s, longest stretch per state

    def row(self, classes: list[str]) -> dict:
        """Flat record (students.csv, JSON)."""
        row = {
            "source": self.source,
            "student": self.student,
            "track": self.track,
            "frames": self.frames,
            "usable_frames": self.usable_frames,
            "turned_away_share": None if self.turned_away is None else round(self.turned_away, 4),
            "seconds_on_screen": round(self.seconds, 2),
            "first_seen_s": round(self.first_seen, 2),
            "last_seen_s": round(self.last_seen, 2),
            "dominant_state": self.dominant,
        }
        for c in classes:
            low, high = self.intervals.get(c, (float("nan"), float("nan")))
            row |= {
                f"share_{c}": round(self.shares.get(c, 0.0), 4),
                f"share_{c}_low": round(low, 4),
                f"share_{c}_high": round(high, 4),
                f"longest_{c}_s": round(self.longest.get(c, 0.0), 2),
            }
        return row


def student_columns(classes: list[str]) -> list[str]:
    """Column names of :meth:`StudentSummary.row`."""
    per_state = [
        name
        for c in classes
        for name in (f"share_{c}", f"share_{c}_low", f"share_{c}_high", f"longest_{c}_s")
    ]
    return [
        "source", "student", "track", "frames", "usable_frames", "turned_away_share",
        "seconds_on_screen", "first_seen_s",
        "last_seen_s", "dominant_state", *per_state,
    ]  # fmt: skip


def share_intervals(
    states: list[str], classes: list[str], block: int, samples: int = BOOTSTRAP_SAMPLES
) -> dict[str, tuple[float, float]]:
    """95 % moving-block bootstrap intervals of each state's share of ``states`` (time order),
    blocks of ``block`` consecutive frames; seeded, so a summary is reproducible.

    Each sample is ``ceil(n / block)`` blocks from random starts, the last one cut so that the
    sample has ``n`` frames. A state's count in a block is a difference of its running count,
    so memory grows with the number of blocks, not with samples × frames."""
    n = len(states)
    codes = np.array([classes.index(s) if s in classes else len(classes) for s in states])
    block = int(min(max(block, 1), n))
    starts = np.random.default_rng(0).integers(0, n - block + 1, (samples, -(-n // block)))
    last = n - block * (starts.shape[1] - 1)  # frames of the last block that the sample keeps
    ends = np.full(starts.shape, block)
    ends[:, -1] = last
    ends += starts
    shares = np.empty((samples, len(classes)))
    for k in range(len(classes)):
        running = np.concatenate([[0], np.cumsum(codes == k)])  # frames in state k before i
        shares[:, k] = (running[ends] - running[starts]).sum(axis=1) / n
    low, high = np.percentile(shares, [2.5, 97.5], axis=0)
    return {c: (float(low[k]), float(high[k])) for k, c in enumerate(classes)}


def longest_stretches(states: list[str], classes: list[str], interval: float) -> dict[str, float]:
    """Seconds of the longest run of consecutive frames in each state."""
    longest = dict.fromkeys(classes, 0)
    run = 0
    for i, state in enumerate(states):
        run = run + 1 if i and state == states[i - 1] else 1
        if state in longest:
            longest[state] = max(longest[state], run)
    return {c: n * interval for c, n in longest.items()}


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
    states: dict[int, list[str]] = defaultdict(list)  # answered frames only
    times: dict[int, list[float]] = defaultdict(list)  # every frame seen
    yaws: dict[int, array] = defaultdict(lambda: array("d"))  # 8 bytes a face, not a float
    mean_probability: dict[int, Counter] = defaultdict(Counter)
    for frame in frames:
        for face in frame.faces:
            times[face.face_id].append(frame.time if frame.time is not None else 0.0)
            if face.yaw is not None:
                yaws[face.face_id].append(abs(face.yaw))
            if face.state != UNCERTAIN:
                states[face.face_id].append(face.state)
                mean_probability[face.face_id].update(face.probabilities)
    wanted = max(1, round(BLOCK_SECONDS / interval)) if interval > 0 else 1
    students = []
    for track in sorted(times, key=lambda t: (min(times[t]), t)):  # in order of appearance
        seen, usable = len(times[track]), len(states[track])
        seconds = seen * interval
        if seen < rules.min_frames or seconds < rules.min_seconds - 1e-9:
            continue
        if usable < rules.min_usable_frames or track in rules.exclude:
            continue
        counts = Counter(states[track])
        dominant = max(counts, key=lambda s: (counts[s], mean_probability[track][s]), default=None)
        away = yaws[track]
        students.append(
            StudentSummary(
                source=frames[0].source,
                student=len(students) + 1,
                frames=seen,
                seconds=seconds,
                first_seen=min(times[track]),
                last_seen=max(times[track]),
                dominant=dominant or UNCERTAIN,
                shares={c: counts.get(c, 0) / usable if usable else 0.0 for c in classes},
                track=track,
                intervals=share_intervals(states[track], classes, min(wanted, round(usable**0.5)))
                if usable
                else {},
                longest=longest_stretches(states[track], classes, interval),
                usable_frames=usable,
                turned_away=float(np.mean(np.array(away) > TURNED_AWAY_DEGREES)) if away else None,
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
