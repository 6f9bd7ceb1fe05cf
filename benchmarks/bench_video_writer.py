"""Write speed of the annotated-video writer (issue 32): OpenCV's ``mp4v`` (before) against
PyAV's H.264 MP4 and VP9 WebM (:class:`aiducation.inference.outputs.VideoSink`), on a 640×480
clip of the demo classroom with moving annotation boxes.

    nice -n 5 .venv/bin/python benchmarks/bench_video_writer.py [--frames 300] [--repeats 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from _evaluation import shell

from aiducation.inference.outputs import VideoSink
from aiducation.inference.pipeline import demo_image_path


def clip(n: int) -> list[np.ndarray]:
    """``n`` 640×480 frames: the demo photo panning, a labelled box moving over it."""
    base = cv2.resize(cv2.imread(str(demo_image_path())), (640, 480))
    frames = []
    for i in range(n):
        image = np.roll(base, 3 * i, axis=1)
        x = 50 + i % 400
        cv2.rectangle(image, (x, 50), (x + 100, 150), (0, 200, 0), 2)
        cv2.putText(image, f"Focused {i}", (x, 45), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 200, 0))
        frames.append(image)
    return frames


def opencv_mp4v(path: Path, frames: list[np.ndarray], fps: float) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (640, 480))
    for frame in frames:
        writer.write(frame)
    writer.release()


def pyav(codec: str):
    def write(path: Path, frames: list[np.ndarray], fps: float) -> None:
        with VideoSink(path, fps, codec=codec) as sink:
            for frame in frames:
                sink.write(frame)

    return write


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    frames = clip(args.frames)
    print(shell("date -u"), "|", shell("uptime"))
    print("| writer | best ms/frame | median ms/frame | frames/s (best) | KiB |")
    print("|---|---|---|---|---|")
    writers = {
        "OpenCV mp4v (before)": (opencv_mp4v, ".mp4"),
        "PyAV H.264 MP4 (analyze)": (pyav("h264"), ".mp4"),
        "PyAV VP9 WebM (web clip)": (pyav("vp9"), ".webm"),
    }
    with tempfile.TemporaryDirectory() as tmp:
        for name, (write, suffix) in writers.items():
            times = []
            path = Path(tmp) / f"out{suffix}"
            for _ in range(args.repeats):
                start = time.perf_counter()
                write(path, frames, 10.0)
                times.append(time.perf_counter() - start)
            best, median = min(times), sorted(times)[len(times) // 2]
            print(f"| {name} | {1000 * best / len(frames):.2f} | {1000 * median / len(frames):.2f}"
                  f" | {len(frames) / best:.0f} | {path.stat().st_size / 1024:.0f} |")  # fmt: skip
    print(shell("uptime"))


if __name__ == "__main__":
    main()
