"""Tracker accuracy on hand-annotated face tracks (benchmarks/face_tracks.csv) with motmetrics.

Compares the former greedy IoU tracker with the ByteTrack-based default (``FaceTracker``) on
the real clips in ../shared/data/media at several sampling steps (``--fps 2`` in a 25-30
frames/s video is a step of 6 to 15). Detection is YuNet, as in ``aiducation analyze``.

    .venv/bin/python benchmarks/bench_tracking.py [--media ../shared/data/media]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import cv2
import pandas as pd

from aiducation.inference.detectors import create_detector
from aiducation.inference.outputs import write_markdown_table
from aiducation.inference.track_eval import evaluate_clip, read_track_truth
from aiducation.inference.tracking import FaceTracker, IoUTracker, TrackerConfig

HERE = Path(__file__).resolve().parent
STEPS = {"walking_pause_3faces.mp4": (1, 3, 6), "speaker_and_audience_hamilton.mp4": (2, 4, 6)}
TRACKERS = {
    "IoU (former)": lambda fps, step: IoUTracker(max_missed=max(2, 10 // step)),
    "ByteTrack + cuts (new)": lambda fps, step: FaceTracker(TrackerConfig(), fps),
    "ByteTrack, no cut reset": lambda fps, step: FaceTracker(
        TrackerConfig(cut_threshold=None), fps
    ),
}


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
    print(f"load average {os.getloadavg()[0]:.2f}")
    print(pd.DataFrame(rows).to_markdown(index=False) if _has_tabulate() else pd.DataFrame(rows))
    if args.out:
        write_markdown_table(Path(args.out), rows)


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
