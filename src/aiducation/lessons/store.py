"""The lesson history: :class:`LessonStore` over SQLite (default) or PostgreSQL.

Each method is one transaction: a lesson is written whole or not at all (a killed process
leaves nothing of it), and a deleted lesson takes its minutes and students with it. The web
app's job queue lives in the same database (:class:`~aiducation.lessons.jobs.JobQueue`).
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

from aiducation.errors import InputError
from aiducation.lessons.database import WRITE, connect, database_url, describe, migrate
from aiducation.lessons.errors import UnknownLesson
from aiducation.lessons.jobs import JobQueue
from aiducation.lessons.models import Lesson, LessonMinute, LessonState, LessonStudent
from aiducation.lessons.records import (
    MAX_NAME,
    Course,
    LessonDetail,
    LessonRecord,
    LessonSummary,
    Minute,
    StateShare,
)


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class LessonStore(JobQueue):
    """Lessons (aggregates only) and the web app's jobs in one database; open with
    :meth:`open`, close with :meth:`close` (or use it as a context manager)."""

    def __init__(self, engine: Engine, label: str) -> None:
        self.engine = engine
        self.label = label  # the database as shown to the user (no password)
        # test-only: called with a new lesson's id after its row is written, before its
        # states, minutes and students (to kill a process in the middle of a write)
        self.write_hook: Callable[[int], None] | None = None

    @classmethod
    def open(cls, database: str | os.PathLike | None = None) -> LessonStore:
        """None → the default SQLite file in the user's data directory (``lessons.sqlite``
        under ``platformdirs.user_data_dir("aiducation")`` or ``$AIDUCATION_DATA_DIR``); a
        path → that SQLite file; a URL (``sqlite:///...``, ``postgresql://...``) → that
        database. The schema is upgraded to the newest revision. A malformed URL, an
        unreachable server or a database newer than this code is one :class:`InputError`."""
        url = database_url(database)
        engine = connect(url)
        try:
            migrate(engine, describe(url))
        except SQLAlchemyError as exc:  # e.g. no right to create tables
            engine.dispose()
            reason = str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__
            raise InputError(f"--database {describe(url)}: cannot upgrade it ({reason})") from None
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, describe(url))

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> LessonStore:
        return self

    def __exit__(self, *_) -> None:
        self.close()

    @contextmanager
    def _session(self, write: bool = False) -> Iterator[Session]:
        """One transaction (committed on success, rolled back on error); ``write`` takes the
        write lock first (SQLite), so concurrent writers wait rather than fail."""
        engine = self.engine.execution_options(**WRITE) if write else self.engine
        try:
            with Session(engine, expire_on_commit=False) as session, session.begin():
                yield session
        except OperationalError as exc:
            reason = str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__
            raise InputError(f"database {self.label}: {reason}") from None

    # -- lessons -------------------------------------------------------------------------------

    def add_lesson(self, record: LessonRecord) -> int:
        """Store ``record`` in one transaction; return the new lesson's id."""
        check_record(record)
        with self._session(write=True) as session:
            return self._insert_lesson(session, record)

    def _insert_lesson(self, session: Session, record: LessonRecord) -> int:
        """Write ``record`` (already checked) in ``session``'s transaction; its id."""
        lesson = Lesson(
            name=record.name.strip(), course=(record.course or "").strip() or None,
            day=record.day, created=now(), source=record.source,
            classes=list(record.classes), duration_s=record.duration_s,
            analysed_s=record.analysed_s,
            frames=record.frames, faces_seen=record.faces_seen,
            faces_answered=record.faces_answered, students=record.students,
            tracks=record.tracks, model=dict(record.model), settings=dict(record.settings),
        )  # fmt: skip
        session.add(lesson)
        session.flush()  # the lesson's row is written: its id is known
        if self.write_hook is not None:
            self.write_hook(lesson.id)
        lesson.states = [
            LessonState(position=i, state=s.state, count=s.count, share=s.share,
                        low=s.low, high=s.high)
            for i, s in enumerate(record.states)
        ]  # fmt: skip
        lesson.minutes = [
            LessonMinute(minute=m.minute, frames=m.frames, faces=m.faces, shares=m.shares)
            for m in record.minutes
        ]
        lesson.student_rows = [
            LessonStudent(student=int(row["student"]), seconds=float(row["seconds_on_screen"]),
                          dominant=str(row["dominant_state"]), data=dict(row))
            for row in record.student_rows
        ]  # fmt: skip
        session.flush()
        return lesson.id

    def _check_record(self, record: LessonRecord) -> None:
        """Refuse a bad record before any write (for :meth:`finish_job`)."""
        check_record(record)

    def list_lessons(self, course: str | None = None) -> list[LessonSummary]:
        """Every lesson (of ``course``), newest first (by date, then by when recorded)."""
        query = sa.select(Lesson).options(selectinload(Lesson.states))
        if course is not None:
            query = query.where(Lesson.course == course)
        with self._session() as session:
            lessons = session.scalars(query.order_by(Lesson.day.desc(), Lesson.id.desc()))
            return [_summary(lesson) for lesson in lessons]

    def get_lesson(self, lesson_id: int) -> LessonDetail:
        """One lesson whole; :class:`UnknownLesson` (an :class:`InputError`) if there is none
        with this id."""
        with self._session() as session:
            lesson = session.get(
                Lesson, lesson_id,
                options=[selectinload(Lesson.states), selectinload(Lesson.minutes),
                         selectinload(Lesson.student_rows)],
            )  # fmt: skip
            if lesson is None:
                raise UnknownLesson(lesson_id, self.label)
            return _detail(lesson)

    def list_courses(self) -> list[Course]:
        """Every course with its number of lessons, by name (one query; no lesson is read)."""
        query = (
            sa.select(Lesson.course, sa.func.count(Lesson.id))
            .where(Lesson.course.is_not(None)).group_by(Lesson.course)
        )  # fmt: skip
        with self._session() as session:
            courses = [Course(name, int(count)) for name, count in session.execute(query)]
        return sorted(courses, key=lambda c: c.name)  # the same order on every database

    def delete_lessons(self, ids: Iterable[int]) -> int:
        """Delete these lessons with their minutes and students; return how many there were.
        Deleted content is overwritten in a SQLite file, not merely unlinked."""
        ids = sorted({int(i) for i in ids})
        if not ids:
            return 0
        return self._delete(Lesson.id.in_(ids))

    def delete_older_than(self, day: datetime.date) -> int:
        """Delete every lesson dated before ``day``; return how many."""
        return self._delete(Lesson.day < day)

    def _delete(self, where) -> int:
        with self._session(write=True) as session:
            deleted = session.execute(sa.delete(Lesson).where(where)).rowcount
        if deleted and self.engine.dialect.name == "sqlite":
            with self.engine.connect() as connection:  # out of the journal too (best effort)
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return int(deleted or 0)


def check_record(record: LessonRecord) -> None:
    """Refuse a record the database would truncate or that contradicts itself."""
    name = record.name.strip()
    if not name or len(name) > MAX_NAME:
        raise InputError(f"lesson name {record.name!r}: expected 1 to {MAX_NAME} characters")
    if record.course is not None and len(record.course.strip()) > MAX_NAME:
        raise InputError(
            f"course {record.course[:40]!r}...: expected at most {MAX_NAME} characters"
        )
    if [s.state for s in record.states] != list(record.classes):
        raise ValueError("a lesson's states must follow its classes")


def _states(lesson: Lesson) -> tuple[StateShare, ...]:
    return tuple(StateShare(s.state, s.count, s.share, s.low, s.high) for s in lesson.states)


def _summary_fields(lesson: Lesson) -> dict:
    return {
        "id": lesson.id, "name": lesson.name, "course": lesson.course, "day": lesson.day,
        "created": lesson.created, "source": lesson.source, "classes": tuple(lesson.classes),
        "duration_s": lesson.duration_s, "analysed_s": lesson.analysed_s, "frames": lesson.frames,
        "faces_answered": lesson.faces_answered, "students": lesson.students,
        "states": _states(lesson),
    }  # fmt: skip


def _summary(lesson: Lesson) -> LessonSummary:
    return LessonSummary(**_summary_fields(lesson))


def _detail(lesson: Lesson) -> LessonDetail:
    return LessonDetail(
        **_summary_fields(lesson),
        faces_seen=lesson.faces_seen,
        tracks=lesson.tracks,
        minutes=tuple(Minute(m.minute, m.frames, m.faces, dict(m.shares)) for m in lesson.minutes),
        student_rows=tuple(dict(s.data) for s in lesson.student_rows),
        model=dict(lesson.model),
        settings=dict(lesson.settings),
    )
