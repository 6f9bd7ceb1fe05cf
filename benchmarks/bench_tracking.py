"""Tracker accuracy on hand-annotated face tracks (benchmarks/face_tracks.csv) with motmetrics.

Compares the greedy IoU tracker (``IoUTracker``: the web app's webcam tracker, formerly also
the videos') with the ByteTrack-based default for videos (``FaceTracker``) on the real clips
in ../shared/data/media at several sampling steps (``--fps 2`` in a 25-30 frames/s video is a
step of 6 to 15). Detection is YuNet, as in ``aiducation analyze``.

    .venv/bin/python benchmarks/bench_tracking.py [--media ../shared/data/media]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import cv2
import pandas as pd
from _evaluation import DetectionCounts, evaluate_clip, match_boxes, read_track_truth, track_video

from aiducation.atomic import write_text
from aiducation.inference.detectors import create_detector
from aiducation.inference.tracking import FaceTracker, IoUTracker, TrackerConfig
from aiducation.tables import markdown_table

HERE = Path(__file__).resolve().parent
STEPS = {"walking_pause_3faces.mp4": (1, 3, 6), "speaker_and_audience_hamilton.mp4": (2, 4, 6)}
TRACKERS = {
    "IoU (former)": lambda fps, step: IoUTracker(max_missed=max(2, 10 // step)),
    "ByteTrack + cuts (new)": lambda fps, step: FaceTracker(TrackerConfig(), fps),
    "ByteTrack, no cut reset": lambda fps, step: FaceTracker(
        TrackerConfig(cut_threshold=None), fps
    ),
}


DETECTORS = {
    "yunet@0.6 + shape check (default)": {},
    "yunet@0.6, no shape check": {"shape_check": None},
    "yunet@0.7, no shape check": {"score_threshold": 0.7, "shape_check": None},
}


def detection_recall(media: Path, truth: pd.DataFrame) -> list[dict]:
    """Faces found / false positives on the annotated frames (ignore regions not counted)."""
    rows = []
    for name, kwargs in DETECTORS.items():
        total = DetectionCounts(0, 0, 0)
        for clip in truth["clip"].unique():
            clip_truth = truth[truth["clip"] == clip]
            found = track_video(media / clip, create_detector("yunet", **kwargs), IoUTracker())
            for frame, rows_ in clip_truth.groupby("frame"):
                real = rows_[rows_["ignore"] == 0][["x", "y", "w", "h"]].to_numpy(float)
                ignored = rows_[rows_["ignore"] != 0][["x", "y", "w", "h"]].to_numpy(float)
                boxes = [b for _, b in found.get(frame, [])]
                on_ignored = match_boxes(boxes, [tuple(b) for b in ignored], 0.3).true_positives
                counts = match_boxes(boxes, [tuple(b) for b in real], 0.3)
                total += DetectionCounts(
                    counts.true_positives,
                    max(0, counts.false_positives - on_ignored),
                    counts.missed,
                )
        rows.append({"detector": name, "faces": total.faces, "found": total.true_positives,
                     "false_positives": total.false_positives})  # fmt: skip
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", default=str(HERE.parent.parent / "shared" / "data" / "media"))
    parser.add_argument("--out", help="also write the table here (Markdown)")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    truth = read_track_truth(HERE / "face_tracks.csv")
    detector = create_detector("yunet")
    rows = []
    for clip, steps in STEPS.items():
        clip_truth = truth[truth["clip"] == clip]
        for step in steps:
            for name, make in TRACKERS.items():
                scores = evaluate_clip(
                    Path(args.media) / clip, clip_truth, detector,
                    lambda fps, make=make, step=step: make(fps, step), step,
                )  # fmt: skip
                rows.append({"clip": clip, "step": step, "tracker": name, **scores.as_row()})
                print(rows[-1], flush=True)
    detection = detection_recall(Path(args.media), truth)
    print(f"load average {os.getloadavg()[0]:.2f}")
    print(pd.DataFrame(rows).to_markdown(index=False) if _has_tabulate() else pd.DataFrame(rows))
    if args.out:
        write_text(Path(args.out), markdown_table(pd.DataFrame(rows)))
        write_text(
            Path(args.out).with_suffix(".detection.md"), markdown_table(pd.DataFrame(detection))
        )


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
