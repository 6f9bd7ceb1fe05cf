"""The lesson history: each analysed lesson's aggregates in a real database (SQLite by
default, PostgreSQL by URL), schema versioned with Alembic, and the web app's job queue.

>>> from aiducation.lessons import LessonStore
>>> with LessonStore.open() as store:       # lessons.sqlite in the user's data directory
...     for lesson in store.list_lessons():
...         print(lesson.id, lesson.name, lesson.shares)

Names are imported on first use, so the CLI's start (``--help``) does not load SQLAlchemy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiducation.lessons.errors import UnknownJob, UnknownLesson
    from aiducation.lessons.records import (
        Course,
        JobRow,
        LessonDetail,
        LessonRecord,
        LessonSummary,
        Minute,
        StateShare,
        lesson_record,
    )
    from aiducation.lessons.store import LessonStore

_WHERE = {
    "Course": "records", "JobRow": "records", "LessonDetail": "records", "LessonRecord": "records",
    "LessonSummary": "records", "Minute": "records", "StateShare": "records",
    "lesson_record": "records", "LessonStore": "store", "UnknownJob": "errors",
    "UnknownLesson": "errors",
}  # fmt: skip

__all__ = [
    "Course",
    "JobRow",
    "LessonDetail",
    "LessonRecord",
    "LessonStore",
    "LessonSummary",
    "Minute",
    "StateShare",
    "UnknownJob",
    "UnknownLesson",
    "lesson_record",
]


def __getattr__(name: str) -> object:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
