"""The lesson store's speed and size (issue 32): building a 45-minute lesson's record, writing
90-minute lessons, listing, showing and deleting them, on SQLite or PostgreSQL.

    nice -n 5 .venv/bin/python benchmarks/bench_lessons.py          # a temporary SQLite file
    nice -n 5 .venv/bin/python benchmarks/bench_lessons.py --database postgresql://U@/N?host=/s

Synthetic lessons: 2 frames/s, 20 faces per frame, 30 students; no model runs (the analysis'
own speed is in bench_analyze / the web job's benchmark). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from aiducation.inference.pipeline import SourceResult
from aiducation.inference.results import FaceResult, FrameResult
from aiducation.lessons import LessonStore, lesson_record

CLASSES = ["Angry", "Bored", "Focused", "Neutral", "Other"]


def synthetic_lesson(minutes: int, faces: int = 20, fps: float = 2.0) -> SourceResult:
    """``minutes`` of frames at ``fps``, ``faces`` tracked faces whose states drift slowly."""
    rng = np.random.default_rng(0)
    n = int(minutes * 60 * fps)
    states = rng.integers(0, len(CLASSES), faces)
    frames = []
    for i in range(n):
        change = rng.random(faces) < 0.02
        states = np.where(change, rng.integers(0, len(CLASSES), faces), states)
        frames.append(FrameResult(
            "lesson.mp4", 640, 480,
            [FaceResult(t, (10 * t, 10, 30, 30), 0.9, CLASSES[s], 0.8, {}) for t, s in
             enumerate(states)],
            frame=i * 15, time=i / fps,
        ))  # fmt: skip
    return SourceResult("lesson.mp4", "video", CLASSES, frames, 30.0, tracks=faces,
                        n_students=faces, duration=minutes * 60.0)  # fmt: skip


def timed(work, repeat: int = 1) -> tuple[float, object]:
    """Median seconds of ``repeat`` runs of ``work()`` and its last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", help="a URL or path (default: a temporary SQLite file)")
    parser.add_argument("--lessons", type=int, default=100, help="90-minute lessons to write")
    args = parser.parse_args()
    folder = tempfile.TemporaryDirectory()
    database = args.database or str(Path(folder.name) / "lessons.sqlite")

    rows = []
    result = synthetic_lesson(45)
    seconds, _ = timed(lambda: lesson_record(
        result, name="45 min", course="7b", day=None, model={}, settings={}), repeat=3)  # fmt: skip
    rows.append(("lesson_record, 45 min (5,400 frames × 20 faces)", seconds))
    long = lesson_record(synthetic_lesson(90), name="90 min", course="7b", day=None,
                         model={"name": "faceresnet_s"}, settings={"fps": 2.0})  # fmt: skip
    seconds, store = timed(lambda: LessonStore.open(database))
    rows.append(("open (and make the schema)", seconds))
    write = []
    for i in range(args.lessons):
        dated = replace(long, day=datetime.date(2025, 1, 1) + datetime.timedelta(days=i))
        seconds, lesson_id = timed(lambda r=dated: store.add_lesson(r))
        write.append(seconds)
    rows.append((f"add_lesson, 90 min (90 minutes, 30 students), median of {args.lessons}",
                 statistics.median(write)))  # fmt: skip
    rows.append(("list_lessons, all", timed(store.list_lessons, repeat=5)[0]))
    rows.append(("get_lesson (one lesson whole)", timed(lambda: store.get_lesson(lesson_id), 5)[0]))
    reopen, _ = timed(lambda: LessonStore.open(database).close(), repeat=5)
    rows.append(("open an up-to-date database", reopen))
    cutoff = datetime.date(2025, 1, 1) + datetime.timedelta(days=args.lessons // 2)
    seconds, deleted = timed(lambda: store.delete_older_than(cutoff))
    rows.append((f"delete_older_than: {deleted} lessons", seconds))
    size = ""
    if "://" not in database:
        path = Path(database)
        files = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
        size = f"; file {files / 1e6:.1f} MB"
    store.close()
    print(f"database: {store.label}{size} after deleting {deleted} of {args.lessons} lessons\n")
    print("| step | time |\n|---|---|")
    for name, seconds in rows:
        print(f"| {name} | {seconds * 1000:.1f} ms |")
    folder.cleanup()


if __name__ == "__main__":
    main()
