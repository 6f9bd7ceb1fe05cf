"""Face tracking across video frames: ByteTrack (from ``supervision``) plus shot-cut resets.

:class:`FaceTracker` is the default: a Kalman filter per face and Hungarian matching of each
frame's boxes to predicted positions (ByteTrack, Zhang et al. 2022, as implemented in
``supervision``), tuned for seated students: a face unseen for up to ``lost_seconds`` keeps its
id when it reappears near where it was, and a shot cut (the colour histogram of the frame
changes abruptly) ends every track. :class:`IoUTracker` is the simple greedy IoU matcher the
project used before, kept as a baseline for benchmarks/bench_tracking.py.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

Box = tuple[float, float, float, float]


class Tracker(Protocol):
    """Anything that gives each of a frame's boxes a track id (same order as ``boxes``)."""

    def update(
        self,
        boxes: Sequence[Box],
        scores: Sequence[float] | None = None,
        image: np.ndarray | None = None,
    ) -> list[int]: ...


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise intersection-over-union of ``(N, 4)`` and ``(M, 4)`` ``(x, y, w, h)`` boxes."""
    a = np.asarray(a, float).reshape(-1, 4)
    b = np.asarray(b, float).reshape(-1, 4)
    ax1, ay1 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx1, by1 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax1[:, None], bx1) - np.maximum(a[:, None, 0], b[:, 0]), 0, None)
    ih = np.clip(np.minimum(ay1[:, None], by1) - np.maximum(a[:, None, 1], b[:, 1]), 0, None)
    inter = iw * ih
    union = (a[:, 2] * a[:, 3])[:, None] + b[:, 2] * b[:, 3] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


@dataclass
class ShotCutDetector:
    """Flags a frame whose hue-saturation histogram differs abruptly from the previous one.

    Bhattacharyya distance of 16×16 H-S histograms of a 160×90 thumbnail; on the real clips
    the three cuts of the Hamilton clip score 0.41–0.54 at 30 frames/s and 0.46–0.54 at
    2 frames/s, camera pans and people moving at most 0.11 and 0.23 (see docs/analyze.md).
    """

    threshold: float = 0.35
    _previous: np.ndarray | None = field(default=None, repr=False)

    def histogram(self, image: np.ndarray) -> np.ndarray:
        bgr = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image[..., :3]
        small = cv2.resize(np.ascontiguousarray(bgr), (160, 90), interpolation=cv2.INTER_AREA)
        hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
        hist = cv2.calcHist([hsv], [0, 1], None, [16, 16], [0, 180, 0, 256])
        return cv2.normalize(hist, hist)

    def distance(self, image: np.ndarray) -> float | None:
        """Distance of ``image`` to the previous frame (``None`` for the first); remembers it."""
        hist = self.histogram(image)
        previous, self._previous = self._previous, hist
        if previous is None:
            return None
        return float(cv2.compareHist(previous, hist, cv2.HISTCMP_BHATTACHARYYA))

    def is_cut(self, image: np.ndarray) -> bool:
        distance = self.distance(image)
        return distance is not None and distance > self.threshold


@dataclass(frozen=True)
class TrackerConfig:
    """Settings of :class:`FaceTracker` (chosen on benchmarks/face_tracks.csv)."""

    lost_seconds: float = 4.0  # a face may go undetected this long and keep its id
    match_threshold: float = 0.8  # ByteTrack's match cost limit: 1 − IoU × detector score
    cut_threshold: float | None = 0.35  # shot-cut distance (None: never reset on cuts)
    id_iou: float = 0.3  # a box takes the id of the updated track it overlaps at least this


class FaceTracker:
    """ByteTrack with ids for every box from its first frame, and new tracks after shot cuts.

    ``fps`` is the rate of *analysed* frames (video fps / sampling step), used to turn
    ``lost_seconds`` into frames. Ids are consecutive integers from 0 and never reused.
    """

    def __init__(self, config: TrackerConfig | None = None, fps: float = 25.0) -> None:
        self.config = config or TrackerConfig()
        self.fps = fps if fps and math.isfinite(fps) and fps > 0 else 25.0
        self.cuts = ShotCutDetector(self.config.cut_threshold or 0.0)
        self.shots = 0  # cuts seen so far
        self._next_id = 0
        self._ids: dict[int, int] = {}  # ByteTrack internal track id → our id
        self._tracker = self._new_bytetrack()

    def _new_bytetrack(self):
        with warnings.catch_warnings():  # ByteTrack moved to `trackers`, which needs GUI OpenCV
            warnings.simplefilter("ignore", FutureWarning)
            from supervision import ByteTrack

            return ByteTrack(
                track_activation_threshold=0.5,  # new tracks from scores ≥ 0.6 (YuNet's floor)
                # ByteTrack drops a lost track one frame after its buffer runs out
                lost_track_buffer=max(1, math.ceil(self.config.lost_seconds * self.fps) - 1),
                minimum_matching_threshold=self.config.match_threshold,
                frame_rate=30,  # so that lost_track_buffer counts analysed frames
                minimum_consecutive_frames=1,
            )

    def reset(self) -> None:
        """Forget every track (ids are not reused)."""
        self._tracker = self._new_bytetrack()
        self._ids.clear()

    def update(
        self,
        boxes: Sequence[Box],
        scores: Sequence[float] | None = None,
        image: np.ndarray | None = None,
    ) -> list[int]:
        """Track ids for ``boxes`` (``(x, y, w, h)``, same order); ``image`` detects cuts."""
        if image is not None and self.config.cut_threshold is not None and self.cuts.is_cut(image):
            self.shots += 1
            self.reset()
        xywh = np.asarray(boxes, float).reshape(-1, 4)
        # Detectors already dropped weak boxes: every box may start a track.
        conf = np.clip(np.ones(len(xywh)) if scores is None else np.asarray(scores, float), 0.6, 1)
        tensors = np.column_stack([xywh[:, :2], xywh[:, :2] + xywh[:, 2:], conf])
        self._tracker.update_with_tensors(tensors.astype(np.float32))
        return self._assign(xywh)

    def _assign(self, xywh: np.ndarray) -> list[int]:
        """Match boxes to the tracks updated in this frame (confirmed or not) by IoU."""
        frame = self._tracker.frame_id
        live = [t for t in self._tracker.tracked_tracks if t.frame_id == frame]
        ids = [-1] * len(xywh)
        if live and len(xywh):
            iou = iou_matrix(xywh, np.stack([t.tlwh for t in live]))
            rows, cols = linear_sum_assignment(-iou)
            for i, j in zip(rows, cols, strict=True):
                key = live[j].internal_track_id
                if iou[i, j] >= self.config.id_iou:
                    if key not in self._ids:
                        self._ids[key] = self._take_id()
                    ids[i] = self._ids[key]
        return [i if i >= 0 else self._take_id() for i in ids]  # untracked: a one-off id

    def _take_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1


@dataclass
class IoUTracker:
    """Greedy IoU matching of each frame's boxes to live tracks (the former default).

    A box joins the live track it overlaps most (IoU ≥ ``iou_threshold``, best pairs first);
    unmatched boxes start new tracks; a track unseen for more than ``max_missed`` updates ends.
    """

    iou_threshold: float = 0.3
    max_missed: int = 5
    _boxes: dict[int, np.ndarray] = field(default_factory=dict, repr=False)
    _missed: dict[int, int] = field(default_factory=dict, repr=False)
    _next_id: int = 0

    def update(
        self,
        boxes: Sequence[Box],
        scores: Sequence[float] | None = None,
        image: np.ndarray | None = None,
    ) -> list[int]:
        """Track ids for ``boxes`` (same order); ``scores`` and ``image`` are not used."""
        track_ids = list(self._boxes)
        ids = [-1] * len(boxes)
        if track_ids and len(boxes):
            iou = iou_matrix(np.array(boxes), np.stack([self._boxes[t] for t in track_ids]))
            for flat in np.argsort(-iou, axis=None):
                i, j = np.unravel_index(flat, iou.shape)
                if iou[i, j] < self.iou_threshold:
                    break
                if ids[i] == -1 and track_ids[j] not in ids:
                    ids[i] = track_ids[j]
        for i, box in enumerate(boxes):
            if ids[i] == -1:
                ids[i], self._next_id = self._next_id, self._next_id + 1
            self._boxes[ids[i]] = np.asarray(box, float)
            self._missed[ids[i]] = 0
        for track in track_ids:
            if track not in ids:
                self._missed[track] += 1
                if self._missed[track] > self.max_missed:
                    del self._boxes[track], self._missed[track]
        return ids

    def to_state(self) -> dict:
        """The live tracks as JSON data, for a client to carry between requests (the web app's
        webcam view keeps nothing on the server): ``next_id`` and ``tracks`` (``id``, ``box``
        ``[x, y, w, h]``, ``missed``)."""
        tracks = [{"id": t, "box": [round(float(v), 1) for v in box], "missed": self._missed[t]}
                  for t, box in self._boxes.items()]  # fmt: skip
        return {"next_id": self._next_id, "tracks": tracks}

    @classmethod
    def from_state(cls, state: object, max_tracks: int = 1000, **kwargs) -> IoUTracker:
        """The tracker that :meth:`to_state` described; ``ValueError`` names the bad field."""
        if not isinstance(state, dict) or not isinstance(state.get("tracks", []), list):
            raise ValueError('tracks must be an object {"next_id": N, "tracks": [...]}')
        tracker = cls(**kwargs)
        tracks = state.get("tracks", [])
        if len(tracks) > max_tracks:
            raise ValueError(f"tracks: {len(tracks)} tracks, at most {max_tracks} expected")
        for i, track in enumerate(tracks):
            try:
                track_id, missed = track["id"], track["missed"]
                box = np.asarray(track["box"], float)
            except (TypeError, KeyError, ValueError):
                raise ValueError(f"tracks[{i}]: expected id, box [x, y, w, h] and missed") from None
            if not (_is_count(track_id) and _is_count(missed) and box.shape == (4,)
                    and np.isfinite(box).all() and (box[2:] > 0).all()):  # fmt: skip
                raise ValueError(
                    f"tracks[{i}]: expected a whole id ≥ 0, missed ≥ 0 and a box of 4 finite "
                    f"numbers with width and height > 0, got {track!r}"
                )
            if track_id in tracker._boxes:
                raise ValueError(f"tracks[{i}]: id {track_id} appears twice")
            tracker._boxes[track_id], tracker._missed[track_id] = box, missed
        next_id = state.get("next_id", 0)
        if not _is_count(next_id) or next_id <= max(tracker._boxes, default=-1):
            raise ValueError(
                f"next_id must be a whole number above every track id, got {next_id!r}"
            )
        tracker._next_id = next_id
        return tracker


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
