"""Face tracking across video frames: ByteTrack (from ``supervision``) plus shot-cut resets.

Both trackers follow the :class:`Tracker` protocol (``update(boxes, scores, image)`` → one id per
box). :class:`FaceTracker` tracks videos (``aiducation analyze``, the Python API, the web app's
video uploads): a Kalman filter per face and Hungarian matching of each frame's boxes to
predicted positions (ByteTrack, Zhang et al. 2022, as implemented in ``supervision``), tuned for
seated students: a face unseen for up to ``lost_seconds`` keeps its id when it reappears near
where it was, and a shot cut (the colour histogram of the frame changes abruptly) ends every
track. :class:`IoUTracker`, a greedy IoU matcher whose whole state is a few boxes, tracks the
web app's webcam view, whose state travels with the page as JSON; it is also the baseline of
benchmarks/bench_tracking.py.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

Box = tuple[float, float, float, float]


@runtime_checkable
class Tracker(Protocol):
    """Anything that gives each of a frame's boxes a track id (same order as ``boxes``).

    ``boxes`` are ``(x, y, w, h)``; ``scores`` the detector's scores and ``image`` the frame,
    for trackers that use them. :class:`FaceTracker` and :class:`IoUTracker` implement it.
    """

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


class _ByteTrack:
    """supervision's ByteTrack, giving after each update every track that took a box in it.

    The one place that touches ``supervision``. Its public API is used where it can be (the
    constructor, ``update_with_tensors``, ``reset``), but it lacks two things we need, so this
    also reads ``tracked_tracks``, ``frame_id`` and each track's ``frame_id``, ``tlwh`` and
    ``internal_track_id`` (public names, undocumented):

    - ``update_with_detections`` / ``update_with_tensors`` return *confirmed* tracks only, and a
      face that appears after the tracker's first frame is confirmed on its second frame, so it
      would get a one-off id first and a new id after (we want an id from its first frame);
    - ``update_with_detections`` maps boxes to tracks itself, at IoU ≥ 0.5 with the track's
      Kalman-filtered box (fixed), so a face that moved fast loses its id for that frame (our
      ``TrackerConfig.id_iou`` is 0.3).

    Both measured with a public-API version (one-off ids bridged by IoU): the same ids on every
    frame of the real clips at steps 1–15 and of 18,000 synthetic frames, but different ids on 224
    of 20,000 synthetic frames with fast motion and crowds. ByteTrack is deprecated since
    supervision 0.28 and gone in 0.31 (its successor, the ``trackers`` package, needs GUI OpenCV
    and is a different implementation), so the public API would not lift the ``<0.31`` pin
    either; 0.28–0.29 give the same ids but require GUI OpenCV too, hence ``>=0.30,<0.31``.
    """

    def __init__(self, lost_frames: int, match_threshold: float) -> None:
        with warnings.catch_warnings():  # ByteTrack moved to `trackers`, which needs GUI OpenCV
            warnings.simplefilter("ignore", FutureWarning)
            from supervision import ByteTrack

            self._tracker = ByteTrack(
                track_activation_threshold=0.5,  # new tracks from scores ≥ 0.6 (YuNet's floor)
                lost_track_buffer=lost_frames,
                minimum_matching_threshold=match_threshold,
                frame_rate=30,  # so that lost_track_buffer counts analysed frames
                minimum_consecutive_frames=1,
            )

    def reset(self) -> None:
        """Forget every track; the next update is a first frame (every box confirmed)."""
        self._tracker.reset()

    def update(self, xyxy: np.ndarray, scores: np.ndarray) -> tuple[list[int], np.ndarray]:
        """Keys (never reused before :meth:`reset`) and ``(x, y, w, h)`` boxes of the tracks,
        confirmed or not, that took one of ``xyxy``'s boxes in this frame."""
        self._tracker.update_with_tensors(np.column_stack([xyxy, scores]).astype(np.float32))
        frame = self._tracker.frame_id
        live = [t for t in self._tracker.tracked_tracks if t.frame_id == frame]
        boxes = np.stack([t.tlwh for t in live]) if live else np.zeros((0, 4))
        return [t.internal_track_id for t in live], boxes


class FaceTracker(Tracker):
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
        self._ids: dict[int, int] = {}  # ByteTrack's track key → our id
        self._tracker = _ByteTrack(
            # ByteTrack drops a lost track one frame after its buffer runs out
            lost_frames=max(1, math.ceil(self.config.lost_seconds * self.fps) - 1),
            match_threshold=self.config.match_threshold,
        )

    def reset(self) -> None:
        """Forget every track (ids are not reused)."""
        self._tracker.reset()
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
        keys, track_boxes = self._tracker.update(
            np.column_stack([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]]), conf
        )
        return self._assign(xywh, keys, track_boxes)

    def _assign(self, xywh: np.ndarray, keys: list[int], track_boxes: np.ndarray) -> list[int]:
        """Match boxes to the tracks updated in this frame (confirmed or not) by IoU."""
        ids = [-1] * len(xywh)
        if keys and len(xywh):
            iou = iou_matrix(xywh, track_boxes)
            rows, cols = linear_sum_assignment(-iou)
            for i, j in zip(rows, cols, strict=True):
                if iou[i, j] >= self.config.id_iou:
                    if keys[j] not in self._ids:
                        self._ids[keys[j]] = self._take_id()
                    ids[i] = self._ids[keys[j]]
        return [i if i >= 0 else self._take_id() for i in ids]  # untracked: a one-off id

    def _take_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1


POSTERIOR_CHAINS = ("states", "in/out")  # the causal smoother's chains (inference/smoothing.py)
MAX_POSTERIOR_STATES = 16  # probabilities in one chain of a carried posterior, at most


@dataclass(frozen=True)
class TrackPosterior:
    """A track's causal posterior at ``time`` (seconds): one probability vector per chain of
    :class:`~aiducation.inference.smoothing.CausalSmoother` (``states``, and ``in/out`` for a
    model that answers "Other")."""

    time: float
    chains: dict[str, np.ndarray]

    def to_state(self) -> dict:
        return {
            "time": round(float(self.time), 3),
            "posterior": {name: [float(f"{p:.4g}") for p in probs]
                          for name, probs in self.chains.items()},
        }  # fmt: skip


@dataclass
class IoUTracker(Tracker):
    """The webcam's tracker: greedy IoU matching, whose whole state travels as JSON.

    The web app's webcam view keeps nothing on the server between frames: each request to
    ``/api/analyze`` carries the previous answer's :meth:`to_state`, rebuilt here with
    :meth:`from_state`. :class:`FaceTracker`'s Kalman filters cannot travel that way, so the
    webcam uses this simpler matcher (students who swap seats between two frames may swap ids).
    It was the default for videos before ByteTrack and is the baseline ("former IoU") of
    benchmarks/bench_tracking.py; it ignores detector scores and does not reset on shot cuts.

    A box joins the live track it overlaps most (IoU ≥ ``iou_threshold``, best pairs first);
    unmatched boxes start new tracks; a track unseen for more than ``max_missed`` updates ends.
    ``posteriors`` carry each track's smoothed answer (:class:`TrackPosterior`, set by the
    caller) along with its box; a track's posterior ends with the track.
    """

    iou_threshold: float = 0.3
    max_missed: int = 5
    posteriors: dict[int, TrackPosterior] = field(default_factory=dict, repr=False)
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
                    self.posteriors.pop(track, None)
        return ids

    def to_state(self) -> dict:
        """The live tracks as JSON data, for a client to carry between requests (the web app's
        webcam view keeps nothing on the server): ``next_id`` and ``tracks`` (``id``, ``box``
        ``[x, y, w, h]``, ``missed``, and where the track has one its smoothed answer: ``time``
        in seconds and ``posterior``, ``{chain: [probability, ...]}``)."""
        tracks = []
        for t, box in self._boxes.items():
            track = {"id": t, "box": [round(float(v), 1) for v in box], "missed": self._missed[t]}
            if t in self.posteriors:
                track |= self.posteriors[t].to_state()
            tracks.append(track)
        return {"next_id": self._next_id, "tracks": tracks}

    @classmethod
    def from_state(
        cls,
        state: object,
        max_tracks: int = 1000,
        posterior_sizes: Mapping[str, int] | None = None,
        **kwargs,
    ) -> IoUTracker:
        """The tracker that :meth:`to_state` described; ``ValueError`` names the bad field.

        ``posterior_sizes`` (``{chain: number of states}``): the chains that every carried
        posterior must hold, each with that many probabilities (None: any of
        :data:`POSTERIOR_CHAINS`, each of 2 to :data:`MAX_POSTERIOR_STATES`).
        """
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
            if "time" in track or "posterior" in track:
                tracker.posteriors[track_id] = _posterior(track, f"tracks[{i}]", posterior_sizes)
        next_id = state.get("next_id", 0)
        if not _is_count(next_id) or next_id <= max(tracker._boxes, default=-1):
            raise ValueError(
                f"next_id must be a whole number above every track id, got {next_id!r}"
            )
        tracker._next_id = next_id
        return tracker


def _posterior(track: dict, where: str, sizes: Mapping[str, int] | None) -> TrackPosterior:
    """A carried :class:`TrackPosterior`, checked: a time ≥ 0 and probability vectors."""
    if "time" not in track or "posterior" not in track:
        raise ValueError(f"{where}: time and posterior go together (a smoothed answer and when)")
    time, chains = track["time"], track["posterior"]
    if not (_is_number(time) and math.isfinite(time) and time >= 0):
        raise ValueError(f"{where}.time: expected seconds, a finite number ≥ 0, got {_short(time)}")
    if not isinstance(chains, dict) or not chains or not set(chains) <= set(POSTERIOR_CHAINS):
        raise ValueError(
            f"{where}.posterior: expected an object with chains among "
            f"{', '.join(POSTERIOR_CHAINS)}, got {_short(chains)}"
        )
    if sizes is not None and set(chains) != set(sizes):
        raise ValueError(
            f"{where}.posterior: expected the chains {', '.join(sizes)} of this model, "
            f"got {', '.join(chains)}"
        )
    kept = {}
    for name, probs in chains.items():
        want = sizes[name] if sizes is not None else None
        ok = isinstance(probs, list) and 2 <= len(probs) <= MAX_POSTERIOR_STATES
        ok = ok and all(_is_number(p) and math.isfinite(p) and p >= 0 for p in probs)
        ok = ok and abs(sum(probs) - 1.0) <= 0.01 and (want is None or len(probs) == want)
        if not ok:
            count = f"{want}" if want is not None else f"2 to {MAX_POSTERIOR_STATES}"
            raise ValueError(
                f"{where}.posterior.{name}: expected {count} probabilities ≥ 0 that sum to 1, "
                f"got {_short(probs)}"
            )
        vector = np.asarray(probs, np.float64)
        kept[name] = vector / vector.sum()
    return TrackPosterior(float(time), kept)


def _short(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
