"""The web app's job queue in the lesson database: its life cycle, cancelling, a restart, and
two processes claiming jobs at once (each job is claimed once)."""

from __future__ import annotations

import datetime
import subprocess
import sys
from pathlib import Path

import pytest
from tests.lessons.conftest import sample_record

from aiducation.errors import InputError
from aiducation.lessons import LessonStore

REPO_ROOT = Path(__file__).resolve().parents[2]


def queue(store: LessonStore, n: int) -> list[int]:
    return [
        store.add_job(filename=f"lesson{i}.mp4", recording=f"/tmp/rec{i}", options={"fps": 2},
                      lesson={"name": f"L{i}", "course": "7b", "date": "2025-03-03"})
        for i in range(n)
    ]  # fmt: skip


def test_a_job_runs_from_queued_to_done(database):
    with LessonStore.open(database) as store:
        first, second = queue(store, 2)
        job = store.get_job(first)
        assert (job.state, job.done, job.total, job.started, job.cancel_requested) == (
            "queued", 0, None, None, False,
        )  # fmt: skip
        assert job.lesson == {"name": "L0", "course": "7b", "date": "2025-03-03"}
        assert job.created.tzinfo == datetime.UTC
        claimed = store.claim_next_job()
        assert claimed.id == first and claimed.state == "running" and claimed.started
        store.set_job_progress(first, 40, 5400)
        lesson_id = store.add_lesson(sample_record())
        store.finish_job(first, lesson_id=lesson_id, result={"frames": 5400})
        done = store.get_job(first)
        assert (done.state, done.done, done.total, done.lesson_id, done.result) == (
            "done", 40, 5400, lesson_id, {"frames": 5400},
        )  # fmt: skip
        assert done.created <= done.started <= done.finished
        assert store.claim_next_job().id == second
        assert store.claim_next_job() is None
        assert [j.id for j in store.list_jobs()] == [first, second]
        with pytest.raises(InputError, match=rf"job {first}: is done, not running"):
            store.finish_job(first, lesson_id=None, result={})
        store.delete_lessons([lesson_id])
        assert store.get_job(first).lesson_id is None  # the job outlives its deleted lesson


def test_cancelling_a_queued_or_a_running_job(database):
    with LessonStore.open(database) as store:
        waiting, running = queue(store, 2)
        assert store.claim_next_job().id == waiting  # oldest first
        assert store.cancel_job(running) is True  # queued: cancelled at once...
        assert store.get_job(running).state == "cancelled"
        assert store.cancel_job(waiting) is True  # ...running: the worker is asked to stop
        asked = store.get_job(waiting)
        assert (asked.state, asked.cancel_requested) == ("running", True)
        store.fail_job(waiting, "stopped at frame 12")
        ended = store.get_job(waiting)
        assert (ended.state, ended.reason) == ("cancelled", "stopped at frame 12")
        assert store.cancel_job(waiting) is False  # already ended
        store.fail_job(waiting, "later failure")  # an ended job stays as it ended
        assert store.get_job(waiting).reason == "stopped at frame 12"
        assert store.claim_next_job() is None


def test_a_restart_fails_the_running_job_and_keeps_the_queue(database):
    with LessonStore.open(database) as store:
        running, waiting = queue(store, 2)
        store.claim_next_job()
        store.set_job_progress(running, 10, 100)
    # the server is restarted: a new process opens the same database
    with LessonStore.open(database) as store:
        failed = store.fail_interrupted_jobs("the server stopped while this job ran")
        assert [(j.id, j.state, j.done) for j in failed] == [(running, "failed", 10)]
        assert store.get_job(running).reason == "the server stopped while this job ran"
        assert store.fail_interrupted_jobs("again") == []
        assert store.claim_next_job().id == waiting


def test_unknown_job_is_one_clear_line(database):
    with LessonStore.open(database) as store:
        for call in (store.get_job, store.cancel_job, lambda i: store.fail_job(i, "x"),
                     lambda i: store.set_job_progress(i, 1, 2)):  # fmt: skip
            with pytest.raises(InputError, match=r"^job 77: no such job in "):
                call(77)


CLAIMER = """
import sys, time
from pathlib import Path
from aiducation.lessons import LessonStore

database, me, other = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
store = LessonStore.open(database)
me.touch()
while not other.exists():  # both start claiming together
    time.sleep(0.01)
claimed = []
while (job := store.claim_next_job()) is not None:
    claimed.append(job.id)
    time.sleep(0.002)  # a worker does some work between claims
print(" ".join(map(str, claimed)))
"""


def test_two_processes_claim_each_job_once(database, tmp_path):
    with LessonStore.open(database) as store:
        ids = queue(store, 60)
    ready = [tmp_path / "a.ready", tmp_path / "b.ready"]
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIMER, database, str(me), str(other)],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for me, other in (ready, ready[::-1])
    ]
    outputs = [worker.communicate(timeout=120) for worker in workers]
    assert [w.returncode for w in workers] == [0, 0], [err for _, err in outputs]
    claimed = [[int(i) for i in out.split()] for out, _ in outputs]
    assert sorted(claimed[0] + claimed[1]) == ids  # every job once, none twice
    with LessonStore.open(database) as store:
        assert {j.state for j in store.list_jobs()} == {"running"}


def test_a_long_upload_name_is_kept_whole(database):
    name = "Lesson " + "x" * 600 + ".mp4"  # a browser sends any name it likes
    with LessonStore.open(database) as store:
        job = store.add_job(filename=name, recording="/tmp/r", options={}, lesson=None)
        assert store.get_job(job).filename == name
