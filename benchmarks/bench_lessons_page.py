"""How fast the Lessons pages answer over a large lesson history (issue 32): the list, one
90-minute lesson, a course over time and two lessons compared, from a real SQLite file.

    nice -n 5 .venv/bin/python benchmarks/bench_lessons_page.py [--lessons 300] [--repeat 20]

Synthetic lessons (no model runs): 90 minutes at 2 frames/s, 5 states, 30 students, spread
over ``--courses`` courses. Requests go through the whole app in this process (FastAPI's test
client: Host/Origin checks, the store, the templates, the SVG charts), not over a socket.
Prints a Markdown table: median and slowest of ``--repeat`` requests, and the page's size.
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from aiducation.lessons import LessonRecord, LessonStore, Minute, StateShare
from aiducation.web.app import WebConfig, create_app

CLASSES = ("Angry", "Bored", "Focused", "Neutral", "Other")


def record(i: int, courses: int, minutes: int = 90, students: int = 30) -> LessonRecord:
    """Lesson ``i``: every minute's shares and every student's row filled in."""
    share = 1 / len(CLASSES)
    per_minute = {c: share for c in CLASSES}
    row = {"track": 0, "frames": 900, "usable_frames": 800, "turned_away_share": 0.1,
           "seconds_on_screen": 450.0, "first_seen_s": 0.0, "last_seen_s": 5400.0,
           "dominant_state": "Focused"}  # fmt: skip
    for c in CLASSES:
        row |= {f"share_{c}": share, f"share_{c}_low": 0.1, f"share_{c}_high": 0.3,
                f"longest_{c}_s": 30.0}  # fmt: skip
    return LessonRecord(
        name=f"Lesson {i}", course=f"course {i % courses}",
        day=datetime.date(2024, 9, 1) + datetime.timedelta(days=i), source="lesson.mp4",
        classes=CLASSES, duration_s=60.0 * minutes, analysed_s=60.0 * minutes,
        frames=120 * minutes, faces_seen=2400 * minutes, faces_answered=2000 * minutes,
        students=students, tracks=students + 5,
        states=tuple(StateShare(c, 400 * minutes, share, 0.15, 0.25) for c in CLASSES),
        minutes=tuple(Minute(m, 120, 2000, per_minute) for m in range(minutes)),
        student_rows=tuple(row | {"student": s + 1} for s in range(students)),
        model={"name": "faceresnet_s", "version": "0.1.0", "checksum": "sha256:00"},
        settings={"fps": 2.0, "smoothing": "hmm"},
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lessons", type=int, default=300)
    parser.add_argument("--courses", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        os.environ["AIDUCATION_DATA_DIR"] = folder
        with LessonStore.open() as store:
            ids = [store.add_lesson(record(i, args.courses)) for i in range(args.lessons)]
        client = TestClient(create_app(WebConfig(jobs=False, jobs_dir=str(Path(folder) / "j"))),
                            base_url="http://127.0.0.1:8000")  # fmt: skip
        per_course = args.lessons // args.courses
        pages = [
            (f"`/lessons` ({args.lessons} lessons)", "/lessons"),
            (f"`/lessons?course=` ({per_course} lessons)", "/lessons?course=course%201"),
            ("`/lessons/{id}` (90 min, 30 students)", f"/lessons/{ids[-1]}"),
            (f"`/lessons/course/{{name}}` ({per_course} lessons)", "/lessons/course/course%201"),
            ("`/lessons/compare` (two 90-min lessons)", f"/lessons/compare?a={ids[0]}&b={ids[-1]}"),
        ]
        print(f"{args.lessons} lessons in {args.courses} courses, {args.repeat} requests each\n")
        print("| page | median | slowest | size |\n|---|---|---|---|")
        for label, url in pages:
            assert client.get(url).status_code == 200, url  # warm: templates compiled
            times, size = [], 0
            for _ in range(args.repeat):
                start = time.perf_counter()
                response = client.get(url)
                times.append(time.perf_counter() - start)
                size = len(response.content)
            print(f"| {label} | {statistics.median(times) * 1000:.0f} ms | "
                  f"{max(times) * 1000:.0f} ms | {size / 1000:.0f} kB |")  # fmt: skip


if __name__ == "__main__":
    main()
