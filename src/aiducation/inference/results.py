"""Typed results of an analysis and the pure functions that summarise and flatten them."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from aiducation.data.labels import OTHER
from aiducation.models.answers import (
    EXPRESSION_WORDS,
    EXPRESSIONS,
    UNCERTAIN,
    AnswerScheme,
    other_expression,
)


@dataclass(frozen=True, slots=True)
class FaceResult:
    """One detected face: box ``(x, y, w, h)`` in pixels, detector score, state, probabilities.

    ``face_id`` is the face's index in an image, or its track id across a video's frames.
    ``state`` is a learning state or "Other" (outside the scheme); ``expression`` the most likely
    FER+ emotion (e.g. ``happiness``) and ``in_scheme`` the probability that the face shows one
    of the learning states, for models that have them (else ``None``). In a video whose tracks
    are smoothed (:mod:`aiducation.inference.smoothing`), ``state`` and ``confidence`` are the
    smoothed answer and its probability, ``frame_state`` the frame's own answer;
    ``probabilities`` are always the frame's own. A face the quality gate refuses is
    ``"Uncertain"`` with its ``reason``; it counts towards no state's share.
    ``other_expression`` is the expression named when the face is answered "Other": the most
    likely non-neutral one (:func:`~aiducation.models.answers.other_expression`), so a face is
    never "Other: neutral"; :attr:`shown_expression` is the one that goes with ``state``.

    A long video keeps one per face and frame until it is summarised, so it has no
    ``__dict__`` (slots) and the faces of one video share their numbers
    (:class:`SharedNumbers`).
    """

    face_id: int
    box: tuple[int, int, int, int]
    detector_score: float
    state: str
    confidence: float
    probabilities: dict[str, float]
    expression: str | None = None
    in_scheme: float | None = None
    frame_state: str | None = None  # this frame's own answer, when ``state`` is smoothed
    reason: str | None = None  # why the face is "Uncertain" (too small, blurred, turned away...)
    yaw: float | None = None  # head pose in degrees from the detector's landmarks (rough)
    pitch: float | None = None
    roll: float | None = None
    other_expression: str | None = None  # the expression named if the answer is "Other"

    @property
    def shown_expression(self) -> str | None:
        """The expression that goes with ``state``: for "Other", :attr:`other_expression`."""
        if self.state == OTHER and self.other_expression:
            return self.other_expression
        return self.expression

    @property
    def label(self) -> str:
        """Short text for pictures: the state, or e.g. "Other: happy"."""
        if self.state == OTHER and self.shown_expression:
            word = self.shown_expression
            return OTHER if word == "neutral" else f"{OTHER}: {EXPRESSION_WORDS.get(word, word)}"
        if self.state == UNCERTAIN and self.reason:
            return f"?: {self.reason}"
        return self.state


@dataclass(slots=True)
class FrameResult:
    """Faces found in one image or one video frame (``frame`` 0 and ``time`` None for images)."""

    source: str
    width: int
    height: int
    faces: list[FaceResult]
    frame: int = 0
    time: float | None = None

    def state_counts(self, classes: list[str]) -> dict[str, int]:
        counts = dict.fromkeys(classes, 0)
        for face in self.faces:
            counts[face.state] = counts.get(face.state, 0) + 1
        return counts


@dataclass
class VideoResult:
    """Every analysed frame of a video (or webcam stream), faces tracked across frames."""

    source: str
    fps: float
    frames: list[FrameResult] = field(default_factory=list)
    shots: list[int] = field(default_factory=list)  # shot number of each frame (cuts so far)

    @property
    def track_ids(self) -> list[int]:
        return sorted({face.face_id for frame in self.frames for face in frame.faces})


class SharedNumbers:
    """One object per distinct number or box among the faces of one video (equal values, same
    type).

    A face's numbers are rounded (probabilities to 4 decimals, angles to 1, boxes to whole
    pixels), so a long video repeats a few thousand values over and over, and a seated
    student's box is often the same from frame to frame: the faces share them instead of each
    holding its own Python floats, ints and box tuple (24–28 bytes a number, 72 a box).
    ``0.0`` and ``-0.0`` (equal, but printed apart) are kept apart; NaN is given back as it is.
    """

    __slots__ = ("_boxes", "_floats", "_ints", "_zeros")

    def __init__(self) -> None:
        self._floats: dict[float, float] = {}
        self._ints: dict[int, int] = {}
        self._zeros: dict[float, float] = {}  # by sign: 1.0 → 0.0, -1.0 → -0.0
        self._boxes: dict[tuple[int, ...], tuple[int, ...]] = {}

    def real(self, value: float) -> float:
        if not value:
            return self._zeros.setdefault(math.copysign(1.0, value), value)
        return value if value != value else self._floats.setdefault(value, value)

    def whole(self, value: int) -> int:
        return self._ints.setdefault(value, value)

    def box(self, values: tuple[int, ...]) -> tuple[int, ...]:
        """``values`` (whole numbers), or the equal tuple an earlier face of the video has."""
        return self._boxes.setdefault(values, values)


def faces_from_probabilities(
    boxes: list[tuple[float, float, float, float]],
    scores: list[float],
    probabilities: np.ndarray,
    classes: list[str],
    face_ids: list[int] | None = None,
    *,
    expressions: np.ndarray | None = None,
    other_threshold: float | None = None,
    qualities: list | None = None,
    gate=None,
    numbers: SharedNumbers | None = None,
) -> list[FaceResult]:
    """Build :class:`FaceResult` records from boxes and their ``(N, C)`` probabilities.

    ``classes`` are the model's outputs. When the last is "Other", a face is "Other" if its
    in-scheme probability is below ``other_threshold``; without a threshold (the four-way
    ``seed4`` answer) the decision and probabilities are restricted to the learning states.
    ``expressions`` are ``(N, 8)`` FER+ emotion probabilities (auxiliary head), if any: each
    face's most likely one, and the most likely non-neutral one named if it is "Other".
    ``qualities`` (:class:`~aiducation.inference.quality.FaceQuality` per face) give the head
    pose; a face that ``gate`` (a :class:`~aiducation.inference.quality.QualityGate`) refuses
    is answered "Uncertain" with the reason, its probabilities kept. ``numbers``: share the
    faces' numbers with the other faces of the same video (the values are the same).
    """
    numbers = numbers or SharedNumbers()
    real, whole = numbers.real, numbers.whole
    face_ids = list(range(len(boxes))) if face_ids is None else face_ids
    decision = AnswerScheme(list(classes), other_threshold).decide(probabilities)
    shown = decision.shown
    in_scheme = [None] * len(boxes) if decision.in_scheme is None else decision.in_scheme.tolist()
    emotions = outside = [None] * len(boxes)
    if expressions is not None:
        emotions = [EXPRESSIONS[i] for i in np.asarray(expressions).argmax(axis=1)]
        outside = [EXPRESSIONS[i] for i in other_expression(expressions)]
    qualities = [None] * len(boxes) if qualities is None else qualities
    faces = []
    rows = zip(
        face_ids, boxes, scores, decision.probabilities, decision.best, emotions, in_scheme,
        outside, qualities, strict=True,
    )  # fmt: skip
    for face_id, box, score, probs, answer, emotion, inside, out, quality in rows:
        reason = None if gate is None or quality is None else gate.check(quality, inside)
        faces.append(
            FaceResult(
                face_id=int(face_id),
                box=numbers.box(tuple(whole(round(float(v))) for v in box)),
                detector_score=real(round(float(score), 4)),
                state=shown[answer] if reason is None else UNCERTAIN,
                confidence=real(round(float(probs[answer]), 4)),
                probabilities={
                    c: real(round(float(p), 4)) for c, p in zip(shown, probs, strict=True)
                },
                expression=emotion,
                in_scheme=None if inside is None else real(round(float(inside), 4)),
                reason=reason,
                other_expression=out,
                **_pose(quality, real),
            )
        )
    return faces


def _pose(quality, real) -> dict:
    angles = {k: getattr(quality, k, None) for k in ("yaw", "pitch", "roll")}
    return {k: None if v is None else real(round(float(v), 1)) for k, v in angles.items()}


RECORD_COLUMNS = ("source", "frame", "time", "face_id", "x", "y", "w", "h", "detector_score")


def record_columns(classes: list[str]) -> list[str]:
    """Column names of :func:`face_records` rows."""
    return [
        *RECORD_COLUMNS, "state", "frame_state", "reason", "confidence", "expression",
        "in_scheme", "yaw", "pitch", "roll",
        *(f"p_{c}" for c in classes),
    ]  # fmt: skip


def face_records(frames: list[FrameResult], classes: list[str]) -> list[dict]:
    """One flat dict per face (the rows of faces.csv / faces.json)."""
    return list(iter_face_records(frames, classes))


def iter_face_records(frames: list[FrameResult], classes: list[str]) -> Iterator[dict]:
    """The rows of :func:`face_records` one at a time: a long video's faces.csv is written as
    they come, not from a list of every face's row (about a kilobyte a face)."""
    for frame in frames:
        for face in frame.faces:
            x, y, w, h = face.box
            yield {
                "source": frame.source,
                "frame": frame.frame,
                "time": None if frame.time is None else round(frame.time, 3),
                "face_id": face.face_id,
                "x": x,
                "y": y,
                "w": w,
                "h": h,
                "detector_score": face.detector_score,
                "state": face.state,
                "frame_state": face.frame_state,
                "reason": face.reason,
                "confidence": face.confidence,
                "expression": face.shown_expression,
                "in_scheme": face.in_scheme,
                "yaw": face.yaw,
                "pitch": face.pitch,
                "roll": face.roll,
                **{f"p_{c}": face.probabilities.get(c, 0.0) for c in classes},
            }


def summarize(frames: list[FrameResult], classes: list[str]) -> dict:
    """Faces seen, share of each state, and per-frame counts (no per-face data)."""
    per_frame = [
        {
            "source": f.source,
            "frame": f.frame,
            "time": None if f.time is None else round(f.time, 3),
            "faces": len(f.faces),
            **{c: n for c, n in f.state_counts(classes).items() if c in classes},
            "uncertain": sum(face.state == UNCERTAIN for face in f.faces),
        }
        for f in frames
    ]
    totals = {c: sum(row[c] for row in per_frame) for c in classes}
    answered = sum(totals.values())
    reasons = Counter(face.reason for f in frames for face in f.faces if face.state == UNCERTAIN)
    return {
        "sources": len({f.source for f in frames}),
        "frames": len(frames),
        "faces_seen": sum(row["faces"] for row in per_frame),
        "faces_answered": answered,  # shares are of these: Uncertain faces count for none
        "uncertain": dict(sorted(reasons.items(), key=lambda kv: str(kv[0]))),
        "state_counts": totals,
        "state_shares": {c: round(n / answered, 4) if answered else 0.0 for c, n in totals.items()},
        "per_frame": per_frame,
    }


def per_minute(frames: list[FrameResult], classes: list[str]) -> list[dict]:
    """The class's answers per minute of a video: analysed frames, faces answered (one per face
    and frame, Uncertain ones left out) and each state's share of them; minutes without
    frames are left out."""
    rows: dict[int, dict] = {}
    for frame in frames:
        minute = int((frame.time or 0.0) // 60)
        row = rows.setdefault(minute, {"minute": minute, "frames": 0, "faces": 0,
                                       **dict.fromkeys(classes, 0)})  # fmt: skip
        row["frames"] += 1
        for face in frame.faces:
            if face.state in classes:  # Uncertain faces count for no share
                row["faces"] += 1
                row[face.state] += 1
    table = []
    for minute in sorted(rows):
        row = rows[minute]
        shares = {f"share_{c}": round(row[c] / row["faces"], 4) if row["faces"] else 0.0
                  for c in classes}  # fmt: skip
        table.append({"minute": minute, "frames": row["frames"], "faces": row["faces"], **shares})
    return table
