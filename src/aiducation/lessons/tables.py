"""The lesson history as tables: the list, one lesson's states, minutes and students, and the
rows ``aiducation lessons export`` writes (pandas frames for
:func:`aiducation.tables.markdown_table` and :func:`aiducation.csvfiles.write_csv`)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from aiducation.lessons.records import LessonDetail, LessonSummary

EXPORT_TABLES = ("lessons", "minutes", "students")


def _states(lessons: Sequence[LessonSummary]) -> list[str]:
    """Every state of these lessons, in order of first appearance."""
    return list(dict.fromkeys(state for lesson in lessons for state in lesson.classes))


def clock(seconds: float) -> str:
    """``45:07`` (minutes:seconds), ``1:02:03`` past an hour."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def percent(share: float | None) -> str:
    return "" if share is None else f"{100 * share:.0f}%"


def list_frame(lessons: Sequence[LessonSummary]) -> pd.DataFrame:
    """The ``lessons list`` table: id, course, name, date, duration, frames, each state's
    share of the answered faces."""
    states = _states(lessons)
    rows = [
        {"id": x.id, "course": x.course or "", "name": x.name, "date": x.day.isoformat(),
         "duration": clock(x.duration_s), "frames": x.frames,
         **{s: percent(x.shares.get(s)) for s in states}}
        for x in lessons
    ]  # fmt: skip
    columns = ["id", "course", "name", "date", "duration", "frames", *states]
    return pd.DataFrame(rows, columns=columns)


def states_frame(lesson: LessonDetail) -> pd.DataFrame:
    """Each state over the lesson: faces, share and its 95 % interval."""
    return pd.DataFrame(
        [{"state": s.state, "faces": s.count, "share": percent(s.share),
          "95% interval": "" if s.low is None else f"{percent(s.low)}-{percent(s.high)}"}
         for s in lesson.states],
        columns=["state", "faces", "share", "95% interval"],
    )  # fmt: skip


def minutes_frame(lesson: LessonDetail) -> pd.DataFrame:
    """Per minute: analysed frames, faces answered, each state's share."""
    return pd.DataFrame(
        [{"minute": m.minute, "frames": m.frames, "faces": m.faces,
          **{c: percent(m.shares.get(c)) for c in lesson.classes}} for m in lesson.minutes],
        columns=["minute", "frames", "faces", *lesson.classes],
    )  # fmt: skip


def students_frame(lesson: LessonDetail) -> pd.DataFrame:
    """Per student (numbers valid within this lesson only): time on screen, dominant state,
    each state's share."""
    return pd.DataFrame(
        [{"student": r.get("student"), "seconds": r.get("seconds_on_screen"),
          "dominant": r.get("dominant_state"),
          **{c: percent(r.get(f"share_{c}")) for c in lesson.classes}}
         for r in lesson.student_rows],
        columns=["student", "seconds", "dominant", *lesson.classes],
    )  # fmt: skip


def export_frame(lessons: Sequence[LessonDetail], table: str) -> pd.DataFrame:
    """The rows of an export: one per lesson (``lessons``: shares with their intervals), per
    lesson minute (``minutes``) or per lesson student (``students``), each starting with the
    lesson's id, course, name and date."""
    if table == "lessons":
        return pd.DataFrame([lesson.row() for lesson in lessons])
    rows = []
    for lesson in lessons:
        key = {"lesson_id": lesson.id, "course": lesson.course or "", "lesson": lesson.name,
               "date": lesson.day.isoformat()}  # fmt: skip
        items = [m.row() for m in lesson.minutes] if table == "minutes" else lesson.student_rows
        rows += [{**key, **item} for item in items]
    return pd.DataFrame(rows)
