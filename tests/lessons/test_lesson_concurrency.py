"""A killed writer leaves the whole lesson or none of it; two processes writing the same SQLite
file (the CLI and the web server) corrupt nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from tests.lessons.conftest import sample_record

from aiducation.lessons import LessonStore

REPO_ROOT = Path(__file__).resolve().parents[2]

KILLED_WRITER = """
import sys, time
from aiducation.lessons import LessonStore
from tests.lessons.conftest import sample_record

store = LessonStore.open(sys.argv[1])

def stop_here(lesson_id):  # the lesson's row is written; its minutes and students are not
    print(lesson_id, flush=True)
    time.sleep(300)

store.write_hook = stop_here
store.add_lesson(sample_record("Killed half-way", minutes=90, students=30))
"""

WRITER = """
import sys
from aiducation.lessons import LessonStore
from tests.lessons.conftest import sample_record

store = LessonStore.open(sys.argv[1])
for i in range(15):
    store.add_lesson(sample_record(f"{sys.argv[2]} {i}", minutes=45, students=25))
    store.list_lessons()
print("ok")
"""


def rows(store: LessonStore, table: str) -> int:
    with store.engine.connect() as connection:
        return connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()


def test_a_writer_killed_mid_lesson_leaves_none_of_it(database):
    with LessonStore.open(database) as store:
        kept = store.add_lesson(sample_record("Before", minutes=2, students=1))
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, database],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = child.stdout.readline()  # the lesson's row is in, the rest not yet
        assert line.strip().isdigit(), child.stderr.read()
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL
    with LessonStore.open(database) as store:
        assert [x.id for x in store.list_lessons()] == [kept]
        counts = {t: rows(store, t) for t in ("lesson_states", "lesson_minutes", "lesson_students")}
        assert counts == {"lesson_states": 4, "lesson_minutes": 2, "lesson_students": 1}
        after = store.add_lesson(sample_record("After"))  # the database is usable at once
        assert len(store.get_lesson(after).minutes) == 3


def test_two_processes_writing_one_sqlite_file(tmp_path):
    database = str(tmp_path / "lessons.sqlite")
    LessonStore.open(database).close()
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, database, name],
            cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for name in ("cli", "web")
    ]  # fmt: skip
    outputs = [w.communicate(timeout=300) for w in writers]
    assert [out.strip() for out, _ in outputs] == ["ok", "ok"], [err for _, err in outputs]
    with LessonStore.open(database) as store:
        lessons = store.list_lessons()
        assert len(lessons) == 30
        assert all(len(store.get_lesson(x.id).minutes) == 45 for x in lessons)
        assert rows(store, "lesson_students") == 30 * 25
        with store.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
