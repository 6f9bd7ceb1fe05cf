"""Generated lessons for the Lessons page tests: small, seeded, realistic in shape (a 45-minute
lesson at 2 frames/s, a class of students, a minute with nobody in view, one student seen
too little, one lesson cut short by a frame limit)."""

from __future__ import annotations

import datetime
import random

from aiducation.lessons import LessonRecord, LessonStore, Minute, StateShare

CLASSES = ("Angry", "Bored", "Focused", "Neutral")
FRAMES_PER_MINUTE = 120  # 2 frames/s


def shares_of(weights: list[float]) -> dict[str, float]:
    total = sum(weights)
    return {c: round(w / total, 4) for c, w in zip(CLASSES, weights, strict=True)}


def student_row(number: int, shares: dict[str, float], usable: int, frames: int) -> dict:
    """A ``students.csv`` row as :func:`~aiducation.lessons.lesson_record` keeps it."""
    row = {
        "student": number, "track": 3 * number, "frames": frames, "usable_frames": usable,
        "turned_away_share": round(0.05 * (number % 4), 4),
        "seconds_on_screen": frames / 2, "first_seen_s": 0.0, "last_seen_s": frames / 2,
        "dominant_state": max(shares, key=shares.get),
    }  # fmt: skip
    for k, (state, share) in enumerate(shares.items()):
        row |= {f"share_{state}": share, f"share_{state}_low": max(0.0, round(share - 0.08, 4)),
                f"share_{state}_high": min(1.0, round(share + 0.08, 4)),
                f"longest_{state}_s": 6.0 * (k + 1) + number}  # fmt: skip
    return row


def lesson(
    name: str,
    day: datetime.date,
    course: str | None = "7b maths",
    minutes: int = 45,
    seed: int = 0,
    students: int = 6,
    cut_s: float = 0.0,
    max_frames: int | None = None,
) -> LessonRecord:
    """One lesson: per-minute shares that wander (seeded), minute 7 with no face answered,
    ``students`` students of whom the last was answered in 12 frames only; ``cut_s`` seconds
    at the end not analysed."""
    rng = random.Random(seed)
    rows = []
    for m in range(minutes):
        faces = 0 if m == 7 else rng.randint(10, 30)
        shares = shares_of([rng.uniform(0.1, 0.6), rng.uniform(0.5, 2), rng.uniform(1, 3), 1.5])
        rows.append(
            Minute(m, FRAMES_PER_MINUTE, faces, shares if faces else dict.fromkeys(CLASSES, 0.0))
        )
    answered = sum(r.faces for r in rows)
    overall = shares_of([0.3 + 0.05 * seed, 1.2 - 0.1 * seed, 2.0 + 0.1 * seed, 1.5])
    states = tuple(
        StateShare(c, round(s * answered), s, max(0.0, round(s - 0.04, 4)), round(s + 0.05, 4))
        for c, s in overall.items()
    )
    people = tuple(
        student_row(i + 1, overall, 12 if i == students - 1 else 300 - 20 * i, 400 - 25 * i)
        for i in range(students)
    )
    duration = 60.0 * minutes
    return LessonRecord(
        name=name, course=course, day=day, source=f"{name.lower().replace(' ', '_')}.mp4",
        classes=CLASSES, duration_s=duration, analysed_s=duration - 0.5 - cut_s,
        frames=FRAMES_PER_MINUTE * minutes, faces_seen=answered + 40, faces_answered=answered,
        students=students, tracks=students + 3, states=states, minutes=tuple(rows),
        student_rows=people,
        model={"name": "faceresnet_s", "source": "bundled", "version": "0.1.0",
               "checksum": "sha256:0f3c"},
        settings={"fps": 2.0, "smoothing": "hmm", "max_frames": max_frames, "scheme": "other"},
    )  # fmt: skip


def example_history(store: LessonStore) -> dict[str, int]:
    """Five lessons of 7b maths over three weeks (two on one day, one cut short) and one of
    7b English; their ids by name."""
    march = datetime.date(2025, 3, 1)
    plan = [
        ("Fractions", 3, "7b maths", {}),
        ("Poems", 4, "7b English", {"minutes": 50}),
        ("Decimals", 5, "7b maths", {}),
        ("Percent", 10, "7b maths", {"cut_s": 300.0, "max_frames": 4800}),
        ("Ratios", 12, "7b maths", {}),
        ("Ratios, practice", 12, "7b maths", {"minutes": 20}),
        ("Geometry", 19, "7b maths", {}),
    ]
    ids = {}
    for seed, (name, day, course, extra) in enumerate(plan):
        day = march + datetime.timedelta(days=day - 1)
        ids[name] = store.add_lesson(lesson(name, day, course, seed=seed, **extra))
    return ids
