"""The Lessons pages: the lesson history as a teacher sees it (issue 32).

* ``/lessons`` (``?course=NAME``): the recorded lessons, newest first, with each state's share;
  links to each lesson and course; ``/lessons/{id}/delete`` asks before a POST deletes.
* ``/lessons/{id}``: one lesson: the class per minute, the students table, the model and
  settings used, and what was cut.
* ``/lessons/course/{name}``: each state's share per lesson over time, with intervals.
* ``/lessons/compare?a=ID&b=ID``: two lessons side by side and the difference in shares
  (``&course=NAME``: the menus list that course's lessons only).
* ``/api/lessons`` and ``/api/lessons/{id}``: the same as JSON.

Everything is read from the server's :class:`~aiducation.lessons.LessonStore` (``state.jobs``'s
store: the database of ``aiducation serve --database``); the pages compute nothing about the
class that the store does not hold. The course menus come from
:meth:`~aiducation.lessons.LessonStore.list_courses` (one query, no lesson read). Unknown
lessons (the store's :class:`~aiducation.lessons.UnknownLesson`) and courses are a 404 page.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from aiducation.errors import InputError
from aiducation.lessons.errors import UnknownLesson
from aiducation.lessons.records import LessonDetail, LessonSummary, StateShare
from aiducation.web.charts import shares_svg
from aiducation.web.formats import clock
from aiducation.web.lessons_charts import (
    compare_svg,
    course_svg,
    interval,
    percent,
    timeline_svg,
)

FEW_USABLE_FRAMES = 20  # a student answered in fewer frames: their shares say little
CUT_TOLERANCE_S = 1.0  # analysed this much less than the recording: the rest was cut
MAX_ID = 2**63 - 1  # the database's integer ids
COMPARE_WIDTH = 480  # the two timelines side by side: narrower charts, so larger text


def state_columns(lessons: Sequence[LessonSummary]) -> list[str]:
    """Every state of these lessons, in the order they first appear (lessons analysed with
    different schemes have different states)."""
    seen: dict[str, None] = {}
    for lesson in lessons:
        seen.update(dict.fromkeys(lesson.classes))
    return list(seen)


def share_of(lesson: LessonSummary, state: str) -> StateShare | None:
    return next((s for s in lesson.states if s.state == state), None)


def cut_seconds(lesson: LessonSummary) -> float:
    """Seconds of the recording left unanalysed (0 when it was analysed to its end)."""
    missing = lesson.duration_s - lesson.analysed_s
    return missing if missing > CUT_TOLERANCE_S else 0.0


def course_lessons(lessons: Sequence[LessonSummary], course: str) -> list[LessonSummary]:
    """The lessons of ``course``, oldest first (by date, then by when recorded)."""
    return sorted((x for x in lessons if x.course == course), key=lambda x: (x.day, x.id))


def neighbours(
    lessons: Sequence[LessonSummary], lesson: LessonSummary
) -> tuple[LessonSummary | None, LessonSummary | None]:
    """The lessons of the same course just before and just after ``lesson``."""
    if lesson.course is None:
        return None, None
    ordered = course_lessons(lessons, lesson.course)
    at = next(i for i, x in enumerate(ordered) if x.id == lesson.id)
    return (ordered[at - 1] if at > 0 else None), (
        ordered[at + 1] if at + 1 < len(ordered) else None
    )


@dataclass(frozen=True)
class StudentShare:
    """One state's share of one student's usable frames, with its interval."""

    state: str
    share: float | None
    low: float | None
    high: float | None
    longest_s: float | None


@dataclass(frozen=True)
class StudentView:
    """A row of the students table (numbers valid within this lesson only)."""

    student: int
    seconds: float | None
    frames: int | None
    usable: int | None
    turned_away: float | None
    dominant: str
    shares: tuple[StudentShare, ...]

    @property
    def few_frames(self) -> bool:
        return self.usable is not None and self.usable < FEW_USABLE_FRAMES

    @property
    def longest(self) -> tuple[str, float] | None:
        """The student's longest stretch in one state: ``(state, seconds)``."""
        stretches = [(s.longest_s, s.state) for s in self.shares if s.longest_s]
        if not stretches:
            return None
        seconds, state = max(stretches)
        return state, seconds


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def student_views(lesson: LessonDetail) -> list[StudentView]:
    """The students table of a lesson, from its stored ``students.csv`` rows."""
    views = []
    for row in lesson.student_rows:
        shares = tuple(
            StudentShare(c, _number(row.get(f"share_{c}")), _number(row.get(f"share_{c}_low")),
                         _number(row.get(f"share_{c}_high")), _number(row.get(f"longest_{c}_s")))
            for c in lesson.classes
        )  # fmt: skip
        frames, usable = _number(row.get("frames")), _number(row.get("usable_frames"))
        views.append(
            StudentView(
                student=int(row.get("student", 0)),
                seconds=_number(row.get("seconds_on_screen")),
                frames=None if frames is None else int(frames),
                usable=None if usable is None else int(usable),
                turned_away=_number(row.get("turned_away_share")),
                dominant=str(row.get("dominant_state", "")),
                shares=shares,
            )
        )
    return sorted(views, key=lambda v: v.student)


@dataclass(frozen=True)
class Difference:
    """One state in two lessons: B's share minus A's, and whether their intervals overlap
    (then the difference may be no more than the lessons' ups and downs)."""

    state: str
    a: StateShare | None
    b: StateShare | None

    @property
    def points(self) -> float | None:
        """B − A in percentage points."""
        if self.a is None or self.b is None:
            return None
        return 100 * (self.b.share - self.a.share)

    @property
    def shown(self) -> str:
        """The difference as the page shows it: ``+4 points``, ``−1 point``, ``0 points``."""
        if self.points is None:
            return "–"
        rounded = round(self.points)
        sign = "+" if rounded > 0 else "−" if rounded < 0 else ""
        return f"{sign}{abs(rounded)} point{'' if abs(rounded) == 1 else 's'}"

    @property
    def overlap(self) -> bool | None:
        a, b = self.a, self.b
        if a is None or b is None or None in (a.low, a.high, b.low, b.high):
            return None
        return a.low <= b.high and b.low <= a.high


def differences(a: LessonSummary, b: LessonSummary) -> list[Difference]:
    return [Difference(s, share_of(a, s), share_of(b, s)) for s in state_columns([a, b])]


def lesson_id(text: str | int | None) -> int | None:
    """A lesson id from a path or query, or None when it cannot be one."""
    try:
        number = int(str(text).strip())
    except ValueError:
        return None
    return number if 1 <= number <= MAX_ID else None


HELPERS = {"percent": percent, "interval": interval, "clock": clock, "share_of": share_of,
           "cut_seconds": cut_seconds, "few_frames": FEW_USABLE_FRAMES}  # fmt: skip


def add_lesson_routes(app: FastAPI, state, page: Callable[..., HTMLResponse]) -> None:
    """Register the Lessons pages; the lessons come from ``state.jobs.store``."""

    def store():
        return state.jobs.store

    def render(request: Request, template: str, status: int = 200, **context) -> HTMLResponse:
        return page(request, template, status, active="lessons", **HELPERS, **context)

    def missing(request: Request, message: str) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": message}, status_code=404)
        return render(request, "lessons_missing.html", 404, message=message)

    def lesson_or_none(number: int | None) -> LessonDetail | None:
        if number is None:
            return None
        try:
            return store().get_lesson(number)
        except UnknownLesson:
            return None

    def no_lesson(request: Request, text: object) -> Response:
        return missing(
            request,
            f"There is no lesson {str(text)[:40]!r} in the lesson history: it may have been "
            "deleted, or the address is mistyped.",
        )

    @app.get("/lessons", response_class=HTMLResponse)
    def lesson_list(request: Request, course: str | None = None, deleted: str | None = None):
        lessons = store().list_lessons(course or None)
        if course and not lessons:
            return missing(request, f"There is no course {course[:80]!r} in the lesson history.")
        gone = lesson_id(deleted)
        if gone is not None and lesson_or_none(gone) is not None:
            gone = None  # not deleted after all
        return render(request, "lessons.html", lessons=lessons, course=course or None,
                      courses=store().list_courses(), states=state_columns(lessons),
                      empty=not lessons, deleted=gone, database=store().label)  # fmt: skip

    @app.get("/lessons/compare", response_class=HTMLResponse)
    def lesson_compare(
        request: Request, a: str | None = None, b: str | None = None, course: str | None = None
    ):
        menu = store().list_lessons(course or None)  # the lessons to choose from
        if course and not menu:
            return missing(request, f"There is no course {course[:80]!r} in the lesson history.")
        chosen = []
        for text in (a, b):
            if text in (None, ""):
                chosen.append(None)
                continue
            lesson = lesson_or_none(lesson_id(text))
            if lesson is None:
                return no_lesson(request, text)
            chosen.append(lesson)
        first, second = chosen
        for lesson in chosen:  # a chosen lesson of another course stays in the menus
            if lesson is not None and all(x.id != lesson.id for x in menu):
                menu.append(lesson)
        context = {"menu": menu, "a": first, "b": second, "courses": store().list_courses(),
                   "course": course or None}  # fmt: skip
        if first is not None and second is not None:
            span = max((m.minute + 1 for x in chosen for m in x.minutes), default=1)
            context |= {
                "chart": compare_svg(first, second, state_columns(chosen)),
                "rows": differences(first, second),
                "timelines": [
                    timeline_svg(x.minutes, x.classes, span, f"lesson {key}: share of each "
                                 "state per minute", width=COMPARE_WIDTH)
                    for key, x in (("A", first), ("B", second))
                ],
            }  # fmt: skip
        return render(request, "lessons_compare.html", **context)

    @app.get("/lessons/course/{name:path}", response_class=HTMLResponse)
    def course_page(request: Request, name: str):
        lessons = course_lessons(store().list_lessons(name), name)
        if not lessons:
            return missing(request, f"There is no course {name[:80]!r} in the lesson history.")
        states = state_columns(lessons)
        chart = course_svg(lessons, states, f"course {name}: each state's share per lesson")
        return render(request, "lessons_course.html", course=name, lessons=lessons,
                      states=states, chart=chart)  # fmt: skip

    @app.get("/lessons/{number:int}", response_class=HTMLResponse)
    def lesson_page(request: Request, number: int):
        lesson = lesson_or_none(lesson_id(number))
        if lesson is None:
            return no_lesson(request, number)
        course = [] if lesson.course is None else store().list_lessons(lesson.course)
        before, after = neighbours(course, lesson)
        return render(
            request, "lessons_lesson.html", lesson=lesson, before=before, after=after,
            students=student_views(lesson),
            timeline=timeline_svg(lesson.minutes, lesson.classes),
            shares=shares_svg(lesson.shares, {s.state: s.count for s in lesson.states}),
        )  # fmt: skip

    @app.get("/lessons/{number:int}/delete", response_class=HTMLResponse)
    def delete_form(request: Request, number: int):
        lesson = lesson_or_none(lesson_id(number))
        if lesson is None:
            return no_lesson(request, number)
        return render(request, "lessons_delete.html", lesson=lesson)

    @app.post("/lessons/{number:int}/delete")
    def delete_lesson(request: Request, number: int, confirm: Annotated[str, Form()] = ""):
        if confirm != "yes":
            raise InputError(
                "confirm: deleting a lesson needs the confirmation form "
                f"(/lessons/{number}/delete), which sends confirm=yes"
            )
        if lesson_id(number) is None or store().delete_lessons([number]) == 0:
            return no_lesson(request, number)
        return RedirectResponse(f"/lessons?deleted={number}", status_code=303)

    @app.get("/api/lessons")
    def lessons_api(request: Request, course: str | None = None):
        lessons = store().list_lessons(course or None)
        if course and not lessons:
            return missing(request, f"There is no course {course[:80]!r} in the lesson history.")
        return JSONResponse([x.row() for x in lessons])

    @app.get("/api/lessons/{number:int}")
    def lesson_api(request: Request, number: int):
        lesson = lesson_or_none(lesson_id(number))
        if lesson is None:
            return no_lesson(request, number)
        return JSONResponse(lesson.to_json())
