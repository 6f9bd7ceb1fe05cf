"""Detector and tracker evaluation for the benchmarks (bench_analyze.py, bench_tracking.py),
:func:`flicker` of a track's answers, and :func:`shell` to record the machine a run was on:
only benchmarks and their tests use it, so it lives beside them, not in the package.

Detectors: greedy IoU matching against ground-truth boxes, read from dlib imglab XML files.

Trackers: scored against hand-made face tracks with ``motmetrics`` (IDF1, ID switches, MOTA).
The ground truth is a CSV with one row per face and frame: ``clip, frame, face, x, y, w, h,
ignore`` (``face`` any id; ``ignore`` 1 marks a region such as a blurred face in the back that
a tracker may or may not report: hypotheses on it are dropped, as MOT benchmarks do). See
benchmarks/face_tracks.csv. ``motmetrics`` is an optional dependency (``pip install
'aiducation[eval]'``, part of ``[dev]``).

A script in this folder imports it as ``_evaluation`` (Python puts the script's folder on
``sys.path``); tests/benchmarks/ adds the folder to ``sys.path``.
"""

from __future__ import annotations

import itertools
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from aiducation.errors import InputError
from aiducation.inference.detectors import FaceDetector, valid_detections
from aiducation.inference.tracking import Tracker, iou_matrix
from aiducation.inference.video import iter_frames, open_video, video_fps


def shell(command: str) -> str:
    """The output of a shell ``command`` (``lscpu``, ``uptime``) for a run's record."""
    try:
        return subprocess.run(
            command, shell=True, capture_output=True, text=True, timeout=30
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:  # pragma: no cover - odd machines
        return f"({command}: {exc})"


Box = tuple[float, float, float, float]


def flicker(states: list[str]) -> float:
    """Share of consecutive answers of one track that differ (0 for fewer than two)."""
    if len(states) < 2:
        return 0.0
    return float(np.mean([a != b for a, b in itertools.pairwise(states)]))


@dataclass(frozen=True)
class DetectionCounts:
    """True positives (matched faces), false positives and missed faces."""

    true_positives: int
    false_positives: int
    missed: int

    @property
    def faces(self) -> int:
        return self.true_positives + self.missed

    def __add__(self, other: DetectionCounts) -> DetectionCounts:
        return DetectionCounts(
            self.true_positives + other.true_positives,
            self.false_positives + other.false_positives,
            self.missed + other.missed,
        )


def match_boxes(
    predicted: list[Box], truth: list[Box], iou_threshold: float = 0.3
) -> DetectionCounts:
    """Match each true box to at most one prediction (best IoU first, IoU ≥ threshold)."""
    if not predicted or not truth:
        return DetectionCounts(0, len(predicted), len(truth))
    iou = iou_matrix(np.array(predicted), np.array(truth))
    used_pred, used_truth = set(), set()
    for flat in np.argsort(-iou, axis=None):
        i, j = np.unravel_index(flat, iou.shape)
        if iou[i, j] < iou_threshold:
            break
        if i not in used_pred and j not in used_truth:
            used_pred.add(i)
            used_truth.add(j)
    matched = len(used_truth)
    return DetectionCounts(matched, len(predicted) - matched, len(truth) - matched)


def read_dlib_boxes(xml_path: str | Path) -> dict[str, list[Box]]:
    """``{image file: [(x, y, w, h), ...]}`` from a dlib imglab XML file."""
    root = ET.parse(xml_path).getroot()
    return {
        image.get("file"): [
            tuple(float(box.get(k)) for k in ("left", "top", "width", "height"))
            for box in image.iter("box")
        ]
        for image in root.iter("image")
    }


# ----- trackers -----

TRUTH_COLUMNS = ("clip", "frame", "face", "x", "y", "w", "h", "ignore")
Hypotheses = dict[int, list[tuple[int, tuple[float, float, float, float]]]]  # frame → (id, box)


def read_track_truth(path: str | Path) -> pd.DataFrame:
    """The ground-truth CSV; a missing column or a bad value raises one :class:`InputError`."""
    try:
        table = pd.read_csv(path, dtype={"clip": str, "face": str})
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read the track ground truth ({exc})") from None
    missing = [c for c in TRUTH_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}")
    for column in ("frame", "x", "y", "w", "h", "ignore"):
        values = pd.to_numeric(table[column], errors="coerce")
        bad = values.isna() | ~np.isfinite(values.fillna(0))
        if column in ("w", "h"):
            bad |= values <= 0
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0]) + 2  # 1-based, after the header
            raise InputError(
                f"{path}: line {row}, field {column!r}: {table[column].iloc[row - 2]!r}"
            )
        table[column] = values
    table["frame"] = table["frame"].astype(int)
    return table


def track_video(
    path: str | Path, detector: FaceDetector, tracker: Tracker, step: int = 1
) -> Hypotheses:
    """Detect and track faces on every ``step``-th frame of a video (no classification)."""
    capture = open_video(path)
    found: Hypotheses = {}
    try:
        for index, _, frame in iter_frames(capture, step, video_fps(capture)):
            height, width = frame.shape[:2]
            detections = valid_detections(detector.detect(frame), width, height)
            boxes = [d.box for d in detections]
            ids = tracker.update(boxes, [d.score for d in detections], frame)
            found[index] = list(zip(ids, boxes, strict=True))
    finally:
        capture.release()
    return found


@dataclass(frozen=True)
class TrackScores:
    """The usual CLEAR-MOT and identity scores of one clip (or several, pooled)."""

    idf1: float
    mota: float
    id_switches: int
    fragmentations: int
    true_ids: int  # distinct people in the ground truth
    predicted_ids: int  # distinct track ids the tracker reported on those frames
    frames: int

    def as_row(self) -> dict:
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in vars(self).items()}


def track_scores(truth: pd.DataFrame, found: Hypotheses, iou_threshold: float = 0.5) -> TrackScores:
    """Score ``found`` tracks on the frames of ``truth`` (one clip) that were analysed."""
    import motmetrics as mm

    accumulator = mm.MOTAccumulator(auto_id=True)
    frames = sorted(set(truth["frame"]) & set(found))
    predicted: set[int] = set()
    codes = {face: n for n, face in enumerate(sorted(set(truth["face"])))}  # motmetrics: numbers
    for frame in frames:
        rows = truth[truth["frame"] == frame]
        real, ignored = rows[rows["ignore"] == 0], rows[rows["ignore"] != 0]
        hyps = _outside(found[frame], ignored[["x", "y", "w", "h"]].to_numpy(float), real)
        predicted |= {i for i, _ in hyps}
        gt_boxes = real[["x", "y", "w", "h"]].to_numpy(float)
        hyp_boxes = np.array([b for _, b in hyps], float).reshape(-1, 4)
        iou = iou_matrix(gt_boxes, hyp_boxes)
        distance = np.where(iou >= iou_threshold, 1 - iou, np.nan)
        accumulator.update([codes[f] for f in real["face"]], [i for i, _ in hyps], distance)
    metrics = ["idf1", "mota", "num_switches", "num_fragmentations", "num_unique_objects"]
    row = mm.metrics.create().compute(accumulator, metrics=metrics, name="clip").iloc[0]
    return TrackScores(
        idf1=float(row["idf1"]),
        mota=float(row["mota"]),
        id_switches=int(row["num_switches"]),
        fragmentations=int(row["num_fragmentations"]),
        true_ids=int(row["num_unique_objects"]),
        predicted_ids=len(predicted),
        frames=len(frames),
    )


def _outside(hyps: list, ignored: np.ndarray, real: pd.DataFrame) -> list:
    """Hypotheses except those on an ignore region (and on no real face)."""
    if not len(ignored) or not hyps:
        return hyps
    boxes = np.array([b for _, b in hyps], float)
    on_ignored = iou_matrix(boxes, ignored).max(axis=1) >= 0.3
    real_boxes = real[["x", "y", "w", "h"]].to_numpy(float)
    on_real = iou_matrix(boxes, real_boxes).max(axis=1) >= 0.3 if len(real_boxes) else 0
    keep = ~on_ignored | on_real
    return [h for h, k in zip(hyps, keep, strict=True) if k]


def evaluate_clip(
    video: str | Path,
    truth: pd.DataFrame,
    detector: FaceDetector,
    make_tracker: Callable[[float], Tracker],
    step: int = 1,
) -> TrackScores:
    """Track ``video`` at ``step`` with ``make_tracker(analysed fps)`` and score it."""
    capture = open_video(video)
    rate = video_fps(capture)
    capture.release()
    found = track_video(video, detector, make_tracker(rate / step), step)
    return track_scores(truth, found)
