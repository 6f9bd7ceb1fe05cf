"""The lesson history: each analysed lesson's aggregates in a real database (SQLite by
default, PostgreSQL by URL), schema versioned with Alembic, and the web app's job queue.

>>> from aiducation.lessons import LessonStore
>>> with LessonStore.open() as store:       # lessons.sqlite in the user's data directory
...     for lesson in store.list_lessons():
...         print(lesson.id, lesson.name, lesson.shares)
"""

from aiducation.lessons.records import (
    JobRow,
    LessonDetail,
    LessonRecord,
    LessonSummary,
    Minute,
    StateShare,
    lesson_record,
)
from aiducation.lessons.store import LessonStore

__all__ = [
    "JobRow",
    "LessonDetail",
    "LessonRecord",
    "LessonStore",
    "LessonSummary",
    "Minute",
    "StateShare",
    "lesson_record",
]
