"""``aiducation lessons list | show | export | delete`` and bad ``--database`` values."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest
from tests.lessons.conftest import sample_record

from aiducation.cli import main
from aiducation.commands.lessons import older_than
from aiducation.csvfiles import read_csv
from aiducation.errors import InputError
from aiducation.lessons import LessonStore
from aiducation.lessons.database import database_url


@pytest.fixture
def filled(database) -> str:
    """Two maths lessons and one English lesson (ids 1, 2, 3)."""
    with LessonStore.open(database) as store:
        store.add_lesson(sample_record("Fractions", day=datetime.date(2025, 3, 3)))
        store.add_lesson(sample_record("=HYPERLINK(1)", day=datetime.date(2025, 3, 10), minutes=50))
        store.add_lesson(sample_record("Poems", course="7b English", day=datetime.date(2025, 3, 5)))
    return database


def lessons(*args: str) -> int:
    return main(["lessons", *args])


def test_list_is_a_table_of_the_lessons(filled, capsys):
    assert lessons("list", "--database", filled) == 0
    out = capsys.readouterr().out.splitlines()
    assert (
        out[0]
        == "| id | course | name | date | duration | frames | Angry | Bored | Focused | Neutral |"
    )
    assert (
        out[2]
        == "| 2 | 7b maths | =HYPERLINK(1) | 2025-03-10 | 50:00 | 6000 | 10% | 20% | 30% | 40% |"
    )
    assert [line.split(" | ")[0] for line in out[2:5]] == ["| 2", "| 3", "| 1"]  # newest first
    assert out[5].startswith("3 lesson(s) in ")
    assert lessons("list", "--course", "7b English", "--database", filled) == 0
    assert capsys.readouterr().out.count("\n| ") == 1


def test_show_prints_states_minutes_and_students(filled, capsys):
    assert lessons("show", "1", "--database", filled) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Lesson 1: Fractions, course 7b maths, 2025-03-03\n")
    assert "lesson.mp4: 3:00, 360 frames analysed, 30 of 33 faces answered, 2 student(s)" in out
    assert "| Neutral | 12 | 40% | 35%-45% |" in out
    assert "| 2 | 120 | 10 | 10% | 20% | 30% | 40% |" in out  # minute 2
    assert "## Students (numbers valid within this lesson only)" in out
    assert "| 2 | 31.0 | Neutral | 25% |" in out


def test_unknown_lesson_is_one_line(filled, capsys):
    assert lessons("show", "99", "--database", filled) == 2
    assert capsys.readouterr().err.startswith("error: lesson 99: no such lesson in ")


def test_export_csv_tables_and_json(filled, tmp_path):
    out = tmp_path / "lessons.csv"
    assert lessons("export", str(out), "--database", filled) == 0
    table = read_csv(out)
    assert list(table["id"]) == [2, 3, 1] and table["name"].iloc[0] == "=HYPERLINK(1)"
    assert out.read_text().splitlines()[1].startswith("2,7b maths,'=HYPERLINK(1)")  # safe
    assert {"share_Angry", "share_Angry_low", "share_Angry_high", "duration_s"} <= set(table)
    assert lessons("export", str(out), "--table", "minutes", "--course", "7b maths",
                   "--database", filled) == 0  # fmt: skip
    minutes = read_csv(out)
    assert len(minutes) == 50 + 3 and set(minutes["lesson_id"]) == {1, 2}
    assert lessons("export", str(out), "1", "--table", "students", "--database", filled) == 0
    assert list(read_csv(out)["student"]) == [1, 2]
    target = tmp_path / "one.json"
    assert lessons("export", str(target), "3", "--database", filled) == 0
    (lesson,) = json.loads(target.read_text())
    assert lesson["name"] == "Poems" and len(lesson["minutes"]) == 3
    assert lesson["model"]["checksum"] == "sha256:ab" and lesson["students"][0]["student"] == 1
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_export_refuses_what_it_cannot_write(filled, tmp_path, capsys):
    assert lessons("export", str(tmp_path / "x.txt"), "--database", filled) == 2
    assert "expected a .csv or .json file" in capsys.readouterr().err
    assert lessons("export", str(tmp_path / "no" / "x.csv"), "--database", filled) == 2
    assert "does not exist" in capsys.readouterr().err
    assert lessons("export", str(tmp_path / "x.csv"), "--course", "none", "--database", filled) == 2
    assert "no lesson to export" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()


def test_export_never_overwrites_the_database(tmp_path, capsys):
    database = tmp_path / "lessons.csv"  # a SQLite file that happens to end in .csv
    with LessonStore.open(database) as store:
        store.add_lesson(sample_record())
    assert lessons("export", str(database), "--database", str(database)) == 2
    assert "overlaps the input" in capsys.readouterr().err


def test_delete_really_deletes_by_id_and_by_age(filled, capsys):
    assert lessons("delete", "2", "99", "--database", filled) == 2  # 99 unknown: nothing goes
    assert "lesson 99: no such lesson" in capsys.readouterr().err
    assert lessons("delete", "2", "--database", filled) == 0
    assert capsys.readouterr().out.startswith("deleted 1 lesson(s) from ")
    assert lessons("delete", "--older-than", "2025-03-04", "--database", filled) == 0
    assert "deleted 1 lesson(s) (dated before 2025-03-04)" in capsys.readouterr().out
    with LessonStore.open(filled) as store:
        assert [x.name for x in store.list_lessons()] == ["Poems"]
    assert lessons("delete", "--database", filled) == 2
    assert "name the lessons' ids or give --older-than" in capsys.readouterr().err


def test_older_than_days_or_a_date():
    today = datetime.date(2025, 6, 30)
    assert older_than("30", today) == datetime.date(2025, 5, 31)
    assert older_than("0", today) == today
    assert older_than("2025-01-01", today) == datetime.date(2025, 1, 1)
    for bad in ("-3", "3.5", "last year", "2025-13-01"):
        with pytest.raises(InputError, match=r"expected a number of days .* or a date"):
            older_than(bad, today)


@pytest.mark.parametrize(
    ("database", "message"),
    [
        ("postgresql://u@host:port/db", "not a database URL"),
        ("oracle://u@host/db", "unsupported database 'oracle'"),
        ("sqlite://", "expected a file (sqlite:///PATH)"),
        ("sqlite:///{tmp}/missing/lessons.sqlite", "folder"),
        ("{tmp}/missing/lessons.sqlite", "does not exist"),
        ("postgresql://nobody:secret@/lessons?host={tmp}", "cannot open it"),
        ("{tmp}/notes.txt", "cannot open it (file is not a database)"),
        ("{tmp}", "cannot open it"),
    ],
)
def test_a_bad_database_is_one_clear_line(database, message, tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("a teacher's notes, not a database\n" * 100)
    database = database.format(tmp=tmp_path)
    assert lessons("list", "--database", database) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: --database ") and message in error
    assert error.count("\n") == 1 and "secret" not in error
    assert (tmp_path / "notes.txt").read_text().count("\n") == 100  # left as it was


def test_a_path_is_a_sqlite_file_and_postgres_urls_use_psycopg(tmp_path):
    assert database_url(tmp_path / "a.sqlite").database == str(tmp_path / "a.sqlite")
    assert database_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    assert database_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert Path(database_url(None).database).parent.is_dir()  # the data dir is made
