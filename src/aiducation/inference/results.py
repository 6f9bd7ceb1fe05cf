"""Typed results of an analysis and the pure functions that summarise and flatten them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class FaceResult:
    """One detected face: box ``(x, y, w, h)`` in pixels, detector score, state, probabilities.

    ``face_id`` is the face's index in an image, or its track id across a video's frames.
    """

    face_id: int
    box: tuple[int, int, int, int]
    detector_score: float
    state: str
    confidence: float
    probabilities: dict[str, float]


@dataclass
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

    @property
    def track_ids(self) -> list[int]:
        return sorted({face.face_id for frame in self.frames for face in frame.faces})


def faces_from_probabilities(
    boxes: list[tuple[float, float, float, float]],
    scores: list[float],
    probabilities: np.ndarray,
    classes: list[str],
    face_ids: list[int] | None = None,
) -> list[FaceResult]:
    """Build :class:`FaceResult` records from boxes and their ``(N, C)`` probabilities."""
    face_ids = list(range(len(boxes))) if face_ids is None else face_ids
    faces = []
    for face_id, box, score, probs in zip(face_ids, boxes, scores, probabilities, strict=True):
        best = int(np.argmax(probs))
        faces.append(
            FaceResult(
                face_id=int(face_id),
                box=tuple(round(float(v)) for v in box),
                detector_score=round(float(score), 4),
                state=classes[best],
                confidence=round(float(probs[best]), 4),
                probabilities={c: round(float(p), 4) for c, p in zip(classes, probs, strict=True)},
            )
        )
    return faces


RECORD_COLUMNS = ("source", "frame", "time", "face_id", "x", "y", "w", "h", "detector_score")


def record_columns(classes: list[str]) -> list[str]:
    """Column names of :func:`face_records` rows."""
    return [*RECORD_COLUMNS, "state", "confidence", *(f"p_{c}" for c in classes)]


def face_records(frames: list[FrameResult], classes: list[str]) -> list[dict]:
    """One flat dict per face (the rows of faces.csv / faces.json)."""
    rows = []
    for frame in frames:
        for face in frame.faces:
            x, y, w, h = face.box
            rows.append(
                {
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
                    "confidence": face.confidence,
                    **{f"p_{c}": face.probabilities.get(c, 0.0) for c in classes},
                }
            )
    return rows


def summarize(frames: list[FrameResult], classes: list[str]) -> dict:
    """Faces seen, share of each state, and per-frame counts (no per-face data)."""
    per_frame = [
        {
            "source": f.source,
            "frame": f.frame,
            "time": None if f.time is None else round(f.time, 3),
            "faces": len(f.faces),
            **f.state_counts(classes),
        }
        for f in frames
    ]
    totals = {c: sum(row[c] for row in per_frame) for c in classes}
    seen = sum(totals.values())
    return {
        "sources": len({f.source for f in frames}),
        "frames": len(frames),
        "faces_seen": seen,
        "state_counts": totals,
        "state_shares": {c: round(n / seen, 4) if seen else 0.0 for c, n in totals.items()},
        "per_frame": per_frame,
    }
