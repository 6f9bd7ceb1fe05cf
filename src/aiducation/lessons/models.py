"""SQLAlchemy 2 tables of the lesson history, as the newest migration leaves them.

The schema itself is made and changed only by the Alembic revisions in ``migrations/``; these
classes mirror the head revision (``tests/lessons`` checks that they agree).
"""

from __future__ import annotations

import datetime
from typing import ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(sa.TypeDecorator):
    """A timezone-aware UTC time in every database (SQLite keeps no zone: stored as UTC and
    given back with it)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime.datetime | None, dialect) -> object:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"{value}: expected a timezone-aware time")
        value = value.astimezone(datetime.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime.datetime | None, dialect) -> object:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=datetime.UTC)
        return value.astimezone(datetime.UTC)


class Base(DeclarativeBase):
    pass


class Lesson(Base):
    __tablename__ = "lessons"
    __table_args__: ClassVar[tuple] = (
        sa.Index("ix_lessons_course_day", "course", "day"),
        sa.Index("ix_lessons_day", "day", "id"),
        {"sqlite_autoincrement": True},  # a deleted lesson's id is never given to another
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    course: Mapped[str | None] = mapped_column(sa.String(200))
    day: Mapped[datetime.date] = mapped_column(sa.Date)
    created: Mapped[datetime.datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(sa.Text)
    classes: Mapped[list] = mapped_column(sa.JSON)
    duration_s: Mapped[float] = mapped_column(sa.Float)
    analysed_s: Mapped[float] = mapped_column(sa.Float)
    frames: Mapped[int]
    faces_seen: Mapped[int]
    faces_answered: Mapped[int]
    students: Mapped[int]
    tracks: Mapped[int]
    model: Mapped[dict] = mapped_column(sa.JSON)
    settings: Mapped[dict] = mapped_column(sa.JSON)

    states: Mapped[list[LessonState]] = relationship(
        order_by="LessonState.position", cascade="all, delete-orphan", passive_deletes=True
    )
    minutes: Mapped[list[LessonMinute]] = relationship(
        order_by="LessonMinute.minute", cascade="all, delete-orphan", passive_deletes=True
    )
    student_rows: Mapped[list[LessonStudent]] = relationship(
        order_by="LessonStudent.student", cascade="all, delete-orphan", passive_deletes=True
    )


def _lesson_key() -> Mapped[int]:
    return mapped_column(sa.ForeignKey("lessons.id", ondelete="CASCADE"), primary_key=True)


class LessonState(Base):
    __tablename__ = "lesson_states"

    lesson_id: Mapped[int] = _lesson_key()
    position: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(sa.String(40))
    count: Mapped[int]
    share: Mapped[float] = mapped_column(sa.Float)
    low: Mapped[float | None] = mapped_column(sa.Float)
    high: Mapped[float | None] = mapped_column(sa.Float)


class LessonMinute(Base):
    __tablename__ = "lesson_minutes"

    lesson_id: Mapped[int] = _lesson_key()
    minute: Mapped[int] = mapped_column(primary_key=True)
    frames: Mapped[int]
    faces: Mapped[int]
    shares: Mapped[dict] = mapped_column(sa.JSON)


class LessonStudent(Base):
    __tablename__ = "lesson_students"

    lesson_id: Mapped[int] = _lesson_key()
    student: Mapped[int] = mapped_column(primary_key=True)
    seconds: Mapped[float] = mapped_column(sa.Float)
    dominant: Mapped[str] = mapped_column(sa.String(40))
    data: Mapped[dict] = mapped_column(sa.JSON)


class Job(Base):
    __tablename__ = "jobs"
    __table_args__: ClassVar[tuple] = (
        sa.Index("ix_jobs_state", "state", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    state: Mapped[str] = mapped_column(sa.String(16))
    filename: Mapped[str] = mapped_column(sa.Text)
    recording: Mapped[str] = mapped_column(sa.Text)
    options: Mapped[dict] = mapped_column(sa.JSON)
    lesson: Mapped[dict | None] = mapped_column(sa.JSON)
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int | None]
    created: Mapped[datetime.datetime] = mapped_column(UTCDateTime)
    started: Mapped[datetime.datetime | None] = mapped_column(UTCDateTime)
    finished: Mapped[datetime.datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(sa.Text)
    lesson_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lessons.id", ondelete="SET NULL"))
    result: Mapped[dict | None] = mapped_column(sa.JSON)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
