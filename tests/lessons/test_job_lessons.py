"""A job and its lesson in one transaction (finish_job with a lesson record): both or neither,
also when the job ended meanwhile, a write fails or the process is killed half-way; deleting a
done job's result (by hand and by age); the courses with their lesson counts; the store's own
"no such lesson/job" errors. Each on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import dataclasses
import datetime
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.lessons.conftest import sample_record

from aiducation.errors import InputError
from aiducation.lessons import LessonStore, UnknownJob, UnknownLesson

REPO_ROOT = Path(__file__).resolve().parents[2]
TABLES = ("lessons", "lesson_states", "lesson_minutes", "lesson_students")


def counts(store: LessonStore) -> dict[str, int]:
    with store.engine.connect() as connection:
        return {
            t: connection.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES
        }


NOTHING = dict.fromkeys(TABLES, 0)


def running_job(store: LessonStore, name: str = "lesson.mp4") -> int:
    lesson = {"name": "Fractions", "course": "7b maths", "date": None}
    job_id = store.add_job(filename=name, recording=f"/tmp/{name}", options={}, lesson=lesson)
    assert store.claim_next_job().id == job_id
    return job_id


def test_finish_job_adds_the_lesson_and_ends_the_job_together(database):
    record = sample_record(minutes=3, students=2)
    with LessonStore.open(database) as store:
        job_id = running_job(store)
        lesson_id = store.finish_job(job_id, lesson=record, result={"frames": 360})
        job = store.get_job(job_id)
        assert (job.state, job.lesson_id, job.result) == ("done", lesson_id, {"frames": 360})
        lesson = store.get_lesson(lesson_id)
        assert lesson.name == "Fractions" and lesson.minutes == record.minutes
        assert counts(store) == {"lessons": 1, "lesson_states": 4, "lesson_minutes": 3,
                                 "lesson_students": 2}  # fmt: skip
        # the old call (a lesson added before, or none) keeps working
        other = running_job(store, "b.mp4")
        assert store.finish_job(other, lesson_id=None, result={}) is None
        with pytest.raises(ValueError, match="not both"):
            store.finish_job(running_job(store, "c.mp4"), lesson=record, lesson_id=lesson_id,
                             result={})  # fmt: skip


@pytest.mark.parametrize("ending", ["cancelled", "failed", "done"])
def test_a_job_that_ended_meanwhile_gets_no_lesson(database, ending):
    with LessonStore.open(database) as store:
        job_id = running_job(store)
        if ending == "done":
            store.finish_job(job_id, result={"first": True})
        else:
            if ending == "cancelled":
                store.cancel_job(job_id)
            store.fail_job(job_id, "stopped elsewhere")
        with pytest.raises(InputError, match=rf"^job {job_id}: is {ending}, not running$"):
            store.finish_job(job_id, lesson=sample_record(), result={"second": True})
        assert counts(store) == NOTHING and store.list_lessons() == []
        job = store.get_job(job_id)
        assert job.state == ending and job.lesson_id is None
        assert job.result == ({"first": True} if ending == "done" else None)


def test_an_error_inside_the_transaction_leaves_neither(database):
    with LessonStore.open(database) as store:
        job_id = running_job(store)

        def fail(lesson_id: int) -> None:  # the lesson's row is written, the rest not yet
            raise RuntimeError(f"disk full after lesson {lesson_id}")

        store.write_hook = fail
        with pytest.raises(RuntimeError, match="disk full"):
            store.finish_job(job_id, lesson=sample_record(), result={})
        assert counts(store) == NOTHING
        job = store.get_job(job_id)
        assert (job.state, job.finished, job.lesson_id, job.result) == ("running", None, None, None)
        bad = dataclasses.replace(sample_record(), name=" ")  # refused before any write
        with pytest.raises(InputError, match="lesson name"):
            store.finish_job(job_id, lesson=bad, result={})
        store.write_hook = None
        lesson_id = store.finish_job(job_id, lesson=sample_record(), result={})  # it still can
        assert store.get_job(job_id).lesson_id == lesson_id == store.list_lessons()[0].id


KILLED_WORKER = """
import sys, time
from aiducation.lessons import LessonStore
from tests.lessons.conftest import sample_record

store = LessonStore.open(sys.argv[1])
job = store.add_job(filename="class.mp4", recording="/tmp/class.mp4", options={},
                    lesson={"name": "Killed", "course": None, "date": None})
store.claim_next_job()

def stop_here(lesson_id):  # inside finish_job: the lesson's row is written, the job not yet done
    print(job, lesson_id, flush=True)
    time.sleep(300)

store.write_hook = stop_here
store.finish_job(job, lesson=sample_record("Killed", minutes=60, students=20), result={"x": 1})
"""


def test_a_worker_killed_while_finishing_leaves_neither_the_lesson_nor_a_done_job(database):
    """The kill that split the two steps before (lesson written, job not yet done) now lands
    inside one transaction: after it, the job is still running (a restart fails it as
    interrupted) and no part of the lesson is there."""
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_WORKER, database],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = child.stdout.readline().split()
        assert len(line) == 2, child.stderr.read()
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=60)
    job_id = int(line[0])
    with LessonStore.open(database) as store:
        assert counts(store) == NOTHING
        assert store.get_job(job_id).state == "running"
        (failed,) = store.fail_interrupted_jobs("interrupted")
        assert (failed.id, failed.state, failed.lesson_id) == (job_id, "failed", None)
        assert store.list_lessons() == []


def test_deleting_a_done_jobs_result_keeps_its_lesson(database):
    with LessonStore.open(database) as store:
        job_id = running_job(store)
        lesson_id = store.finish_job(job_id, lesson=sample_record(), result={"students": [1]})
        waiting = store.add_job(filename="w.mp4", recording="/tmp/w", options={}, lesson=None)
        deleted = store.delete_job_result(job_id, "result deleted from the job page")
        assert (deleted.state, deleted.result, deleted.lesson_id, deleted.reason) == (
            "deleted", None, lesson_id, "result deleted from the job page",
        )  # fmt: skip
        assert store.get_job(job_id) == deleted and store.get_lesson(lesson_id).name == "Fractions"
        for job, state in ((job_id, "deleted"), (waiting, "queued")):
            with pytest.raises(InputError, match=rf"^job {job}: is {state}; only a done job"):
                store.delete_job_result(job, "again")
        assert store.cancel_job(job_id) is False  # a deleted job has ended
        with pytest.raises(UnknownJob):
            store.delete_job_result(999, "x")


def test_results_older_than_a_cutoff_are_deleted(database):
    now = datetime.datetime.now(datetime.UTC)
    with LessonStore.open(database) as store:
        old, recent, failed = (running_job(store, f"{n}.mp4") for n in ("old", "new", "bad"))
        for job in (old, recent):
            store.finish_job(job, result={"kept": True})
        store.fail_job(failed, "no face")
        with store.engine.begin() as connection:  # as if they ended 40, 10 and 40 days ago
            for job, days in ((old, 40), (recent, 10), (failed, 40)):
                when = now - datetime.timedelta(days=days)
                stored = (
                    when.replace(tzinfo=None) if store.engine.dialect.name == "sqlite" else when
                )
                connection.execute(sa.text("UPDATE jobs SET finished = :t WHERE id = :id"),
                                   {"t": stored, "id": job})  # fmt: skip
        gone = store.delete_job_results(now - datetime.timedelta(days=30), "after 30 days")
        assert [(j.id, j.state, j.reason) for j in gone] == [(old, "deleted", "after 30 days")]
        assert store.get_job(recent).state == "done" and store.get_job(recent).result
        assert store.get_job(failed).reason == "no face"  # a failed job has no result to delete
        assert store.delete_job_results(now - datetime.timedelta(days=30), "again") == []


def test_courses_with_their_number_of_lessons(database):
    with LessonStore.open(database) as store:
        assert store.list_courses() == []
        for name, course in [("A", "7b maths"), ("B", "7b maths"), ("C", "alpha"),
                             ("D", "Zeta"), ("E", None), ("F", "7b maths")]:  # fmt: skip
            store.add_lesson(sample_record(name, course=course))
        courses = store.list_courses()
        # by name as Python orders text, whatever the database's collation
        assert [(c.name, c.lessons) for c in courses] == [("7b maths", 3), ("Zeta", 1),
                                                          ("alpha", 1)]  # fmt: skip
        store.delete_lessons([x.id for x in store.list_lessons("alpha")])
        assert [c.name for c in store.list_courses()] == ["7b maths", "Zeta"]


def test_no_such_lesson_or_job_is_its_own_error(database):
    with LessonStore.open(database) as store:
        with pytest.raises(UnknownLesson, match=r"^lesson 41: no such lesson in ") as lesson:
            store.get_lesson(41)
        with pytest.raises(UnknownJob, match=r"^job 42: no such job in ") as job:
            store.get_job(42)
    assert (lesson.value.lesson_id, job.value.job_id) == (41, 42)
    assert isinstance(lesson.value, InputError) and isinstance(job.value, InputError)
