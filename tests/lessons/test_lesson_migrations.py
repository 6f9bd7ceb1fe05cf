"""The schema is versioned with Alembic: an old database is upgraded with its lessons intact,
a newer one is refused, and the ORM models agree with the newest revision."""

from __future__ import annotations

import datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from aiducation.errors import InputError
from aiducation.lessons import LessonStore
from aiducation.lessons.database import connect, database_url, head_revision, migrate
from aiducation.lessons.models import Base


def revision_of(engine: sa.Engine) -> tuple[str, ...]:
    with engine.connect() as connection:
        return tuple(MigrationContext.configure(connection).get_current_heads())


def test_a_database_of_the_first_revision_is_upgraded_with_its_lesson_intact(database):
    engine = connect(database_url(database))
    migrate(engine, "test", revision="0001")
    assert revision_of(engine) == ("0001",)
    tables = sa.MetaData()
    tables.reflect(engine)
    assert "jobs" not in tables.tables
    created = datetime.datetime(2025, 3, 3, 9, 30, tzinfo=datetime.UTC)
    with engine.begin() as connection:  # written as version 0001 of the code wrote lessons
        lesson_id = connection.execute(
            tables.tables["lessons"].insert().returning(tables.tables["lessons"].c.id),
            {"name": "Old lesson", "course": "7b", "day": datetime.date(2025, 3, 3),
             "created": created, "source": "old.mp4", "classes": ["Angry", "Bored"],
             "duration_s": 90.5, "analysed_s": 90.5, "frames": 181, "faces_seen": 20,
             "faces_answered": 18, "students": 1, "tracks": 2, "model": {"name": "m"},
             "settings": {"fps": 2}},
        ).scalar_one()  # fmt: skip
        connection.execute(
            tables.tables["lesson_states"].insert(),
            [{"lesson_id": lesson_id, "position": 0, "state": "Angry", "count": 6,
              "share": 0.3333, "low": 0.2, "high": 0.5},
             {"lesson_id": lesson_id, "position": 1, "state": "Bored", "count": 12,
              "share": 0.6667, "low": 0.5, "high": 0.8}],
        )  # fmt: skip
        connection.execute(
            tables.tables["lesson_minutes"].insert(),
            [{"lesson_id": lesson_id, "minute": m, "frames": 120 - 59 * m, "faces": 9,
              "shares": {"Angry": 0.3333, "Bored": 0.6667}} for m in (0, 1)],
        )  # fmt: skip
        connection.execute(
            tables.tables["lesson_students"].insert(),
            {"lesson_id": lesson_id, "student": 1, "seconds": 80.0, "dominant": "Bored",
             "data": {"student": 1, "dominant_state": "Bored", "seconds_on_screen": 80.0}},
        )  # fmt: skip
    engine.dispose()

    with LessonStore.open(database) as store:
        lesson = store.get_lesson(lesson_id)
        job = store.add_job(filename="new.mp4", recording="/tmp/r", options={}, lesson=None)
        assert store.get_job(job).state == "queued"  # the new revision's table works
        assert revision_of(store.engine) == (head_revision(),) == ("0002",)
    assert (lesson.name, lesson.course, lesson.day, lesson.created) == (
        "Old lesson", "7b", datetime.date(2025, 3, 3), created,
    )  # fmt: skip
    assert lesson.shares == {"Angry": 0.3333, "Bored": 0.6667}
    assert lesson.states[1].low == 0.5 and lesson.duration_s == 90.5
    assert [m.frames for m in lesson.minutes] == [120, 61]
    assert lesson.student_rows == ({"student": 1, "dominant_state": "Bored",
                                    "seconds_on_screen": 80.0},)  # fmt: skip


def test_a_database_newer_than_this_code_is_refused(database):
    with LessonStore.open(database) as store, store.engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '0099_future'"))
    with pytest.raises(InputError) as error:
        LessonStore.open(database)
    message = str(error.value)
    assert "revision 0099_future" in message and "newer than this version of aiducation" in message
    assert "\n" not in message


def test_the_models_agree_with_the_newest_revision(database):
    with LessonStore.open(database) as store, store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert [d for d in differences if d[0] != "remove_table"] == []  # alembic_version aside


def test_a_user_without_the_right_to_create_tables_gets_one_line(postgres_url):
    import psycopg

    url = sa.engine.make_url(postgres_url)
    admin = {"host": url.query["host"], "user": "postgres", "dbname": url.database}
    with psycopg.connect(**admin, autocommit=True) as connection:
        connection.execute("CREATE ROLE reader LOGIN")
        connection.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
    try:
        with pytest.raises(InputError, match=r"^--database postgresql://reader@.*: cannot upgrade"):
            LessonStore.open(postgres_url.replace("postgres@", "reader@"))
    finally:
        with psycopg.connect(**admin, autocommit=True) as connection:
            connection.execute("DROP OWNED BY reader")
            connection.execute("DROP ROLE reader")
