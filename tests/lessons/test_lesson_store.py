"""LessonStore's lessons on SQLite and on a real PostgreSQL server: stored whole, listed newest
first, deleted with everything that belongs to them."""

from __future__ import annotations

import dataclasses
import datetime

import pytest
import sqlalchemy as sa
from tests.lessons.conftest import sample_record

from aiducation.errors import InputError
from aiducation.lessons import LessonStore

CHILD_TABLES = ("lesson_states", "lesson_minutes", "lesson_students")


def child_rows(store: LessonStore, lesson_id: int) -> dict[str, int]:
    with store.engine.connect() as connection:
        return {
            table: connection.execute(
                sa.text(f"SELECT count(*) FROM {table} WHERE lesson_id = :id"), {"id": lesson_id}
            ).scalar_one()
            for table in CHILD_TABLES
        }


def test_a_lesson_comes_back_whole(database):
    record = sample_record(minutes=3, students=2)
    with LessonStore.open(database) as store:
        lesson_id = store.add_lesson(record)
        lesson = store.get_lesson(lesson_id)
    assert lesson.id == lesson_id and lesson.name == "Fractions" and lesson.course == "7b maths"
    assert lesson.day == datetime.date(2025, 3, 3)
    assert lesson.created.tzinfo == datetime.UTC
    assert abs(lesson.created - datetime.datetime.now(datetime.UTC)) < datetime.timedelta(60)
    assert lesson.states == record.states and lesson.minutes == record.minutes
    assert lesson.student_rows == record.student_rows  # a None in a row stays None
    assert (lesson.model, lesson.settings) == (record.model, record.settings)
    same = (
        "classes",
        "duration_s",
        "analysed_s",
        "frames",
        "faces_seen",
        "faces_answered",
        "students",
        "tracks",
    )
    assert all(getattr(lesson, f) == getattr(record, f) for f in same)
    assert lesson.shares == {"Angry": 0.1, "Bored": 0.2, "Focused": 0.3, "Neutral": 0.4}
    assert lesson.to_json()["minutes"][0] == {
        "minute": 0, "frames": 120, "faces": 10, "share_Angry": 0.1, "share_Bored": 0.2,
        "share_Focused": 0.3, "share_Neutral": 0.4,
    }  # fmt: skip


def test_list_is_newest_first_and_filters_by_course(database):
    with LessonStore.open(database) as store:
        first = store.add_lesson(sample_record("Monday", day=datetime.date(2025, 3, 3)))
        later = store.add_lesson(sample_record("Wednesday", day=datetime.date(2025, 3, 5)))
        same_day = store.add_lesson(sample_record("Monday bis", day=datetime.date(2025, 3, 3)))
        other = store.add_lesson(sample_record("Poems", course="7b English"))
        assert [x.id for x in store.list_lessons()] == [later, other, same_day, first]
        assert [x.id for x in store.list_lessons("7b maths")] == [later, same_day, first]
        assert store.list_lessons("nobody's course") == []
        (row,) = [x.row() for x in store.list_lessons("7b English")]
    assert row["id"] == other and row["share_Neutral"] == 0.4
    assert row["share_Neutral_low"] == pytest.approx(0.35)


def test_unknown_lesson_is_one_clear_line(database):
    with LessonStore.open(database) as store, pytest.raises(InputError) as error:
        store.get_lesson(42)
    assert str(error.value).startswith("lesson 42: no such lesson in ")
    assert "\n" not in str(error.value)


def test_delete_takes_minutes_and_students_too_and_ids_are_never_reused(database):
    with LessonStore.open(database) as store:
        keep = store.add_lesson(sample_record("keep"))
        gone = [store.add_lesson(sample_record(f"gone {i}")) for i in range(2)]
        assert child_rows(store, gone[0]) == dict.fromkeys(CHILD_TABLES, 0) | {
            "lesson_states": 4, "lesson_minutes": 3, "lesson_students": 2
        }  # fmt: skip
        assert store.delete_lessons([*gone, 999]) == 2
        assert store.delete_lessons([]) == 0
        assert [x.id for x in store.list_lessons()] == [keep]
        assert (
            child_rows(store, gone[0])
            == child_rows(store, gone[1])
            == dict.fromkeys(CHILD_TABLES, 0)
        )
        assert store.add_lesson(sample_record("new")) > max(gone)  # a link never changes lesson


def test_delete_older_than_keeps_the_day_itself(database):
    days = [datetime.date(2025, 1, d) for d in (1, 10, 20)]
    with LessonStore.open(database) as store:
        ids = [store.add_lesson(sample_record(f"d{d.day}", day=d)) for d in days]
        assert store.delete_older_than(datetime.date(2025, 1, 10)) == 1
        assert sorted(x.id for x in store.list_lessons()) == ids[1:]
        assert store.delete_older_than(datetime.date(2024, 1, 1)) == 0


def test_a_record_the_database_would_cut_is_refused(database):
    with LessonStore.open(database) as store:
        with pytest.raises(InputError, match=r"lesson name '  ': expected 1 to 200 characters"):
            store.add_lesson(sample_record(name="  "))
        with pytest.raises(InputError, match="course"):
            store.add_lesson(sample_record(course="x" * 201))
        assert store.list_lessons() == []
        lesson = store.get_lesson(store.add_lesson(sample_record(name=" Trim me ", course=" ")))
    assert (lesson.name, lesson.course) == ("Trim me", None)


def test_deleted_lesson_leaves_no_trace_in_the_sqlite_file(tmp_path):
    path = tmp_path / "lessons.sqlite"
    with LessonStore.open(path) as store:
        secret = store.add_lesson(sample_record("Secret-lesson-name-4711", course="Hidden-course"))
        store.add_lesson(sample_record("Other lesson"))
        store.delete_lessons([secret])
    files = [path, *tmp_path.glob("lessons.sqlite-*")]
    data = b"".join(p.read_bytes() for p in files)
    assert b"Other lesson" in data
    assert b"Secret-lesson-name-4711" not in data and b"Hidden-course" not in data


def test_default_database_is_in_the_data_dir(data_dir):
    with LessonStore.open() as store:
        store.add_lesson(sample_record())
        assert store.label == str(data_dir / "lessons.sqlite")
    assert (data_dir / "lessons.sqlite").is_file()
    with LessonStore.open(f"sqlite:///{data_dir / 'lessons.sqlite'}") as store:
        assert len(store.list_lessons()) == 1


def test_records_are_frozen():
    record = sample_record()
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.name = "changed"  # type: ignore[misc]
