"""The web app's job queue, kept in the lesson database so it survives a server restart.

A job is ``queued`` → ``running`` (:meth:`JobQueue.claim_next_job`, atomic: two workers never
get the same job) → ``done``, ``failed`` or ``cancelled``. Cancelling a running job only asks
(``cancel_requested``): the worker stops and calls :meth:`JobQueue.fail_job`, which then ends
it ``cancelled``. After a restart, :meth:`JobQueue.fail_interrupted_jobs` ends every job that
was running (nothing is silently lost or left running).
"""

from __future__ import annotations

import datetime
from contextlib import AbstractContextManager

import sqlalchemy as sa
from sqlalchemy.orm import Session

from aiducation.errors import InputError
from aiducation.lessons.models import Job
from aiducation.lessons.records import JobRow

FINISHED = ("done", "failed", "cancelled")
CANCELLED = "cancelled by the user"


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class JobQueue:
    """Job methods of :class:`~aiducation.lessons.store.LessonStore` (which provides
    ``_session`` and ``label``)."""

    label: str

    def _session(self, write: bool = False) -> AbstractContextManager[Session]:
        raise NotImplementedError

    def _job(self, session: Session, job_id: int, lock: bool = False) -> Job:
        query = sa.select(Job).where(Job.id == job_id)
        job = session.scalars(query.with_for_update() if lock else query).first()
        if job is None:
            raise InputError(f"job {job_id}: no such job in {self.label}")
        return job

    def add_job(self, *, filename: str, recording: str, options: dict, lesson: dict | None) -> int:
        """Queue a job for ``recording`` (uploaded as ``filename``); return its id."""
        with self._session(write=True) as session:
            job = Job(
                state="queued", filename=filename, recording=recording, options=dict(options),
                lesson=None if lesson is None else dict(lesson), done=0, created=_now(),
                cancel_requested=False,
            )  # fmt: skip
            session.add(job)
            session.flush()
            return job.id

    def claim_next_job(self) -> JobRow | None:
        """The oldest queued job, now ``running`` (atomic across processes); None if none."""
        query = (
            sa.select(Job).where(Job.state == "queued").order_by(Job.id).limit(1)
            .with_for_update(skip_locked=True)  # PostgreSQL; SQLite: the write lock is held
        )  # fmt: skip
        with self._session(write=True) as session:
            job = session.scalars(query).first()
            if job is None:
                return None
            job.state, job.started = "running", _now()
            session.flush()
            return job_row(job)

    def set_job_progress(self, job_id: int, done: int, total: int | None) -> None:
        """Frames done of ``total`` (None: unknown) for a job."""
        with self._session(write=True) as session:
            changed = session.execute(
                sa.update(Job).where(Job.id == job_id).values(done=done, total=total)
            ).rowcount
            if not changed:
                raise InputError(f"job {job_id}: no such job in {self.label}")

    def finish_job(self, job_id: int, *, lesson_id: int | None, result: dict) -> None:
        """A running job ended well: ``done``, with its result (and lesson, if recorded)."""
        with self._session(write=True) as session:
            job = self._job(session, job_id, lock=True)
            if job.state != "running":
                raise InputError(f"job {job_id}: is {job.state}, not running")
            job.state, job.finished = "done", _now()
            job.lesson_id, job.result = lesson_id, dict(result)

    def fail_job(self, job_id: int, reason: str) -> None:
        """A queued or running job ended with ``reason``: ``failed``, or ``cancelled`` when its
        cancellation was asked for. A job that already ended is left as it is."""
        with self._session(write=True) as session:
            job = self._job(session, job_id, lock=True)
            if job.state not in FINISHED:
                _end(job, reason)

    def cancel_job(self, job_id: int) -> bool:
        """Cancel a queued job, or ask a running one to stop (``cancel_requested``); False if
        the job had already ended."""
        with self._session(write=True) as session:
            job = self._job(session, job_id, lock=True)
            if job.state == "queued":
                job.state, job.finished, job.reason = "cancelled", _now(), CANCELLED
            elif job.state == "running":
                job.cancel_requested = True
            else:
                return False
            return True

    def get_job(self, job_id: int) -> JobRow:
        """One job; :class:`InputError` if there is none with this id."""
        with self._session() as session:
            return job_row(self._job(session, job_id))

    def list_jobs(self) -> list[JobRow]:
        """Every job, in the order they were queued."""
        with self._session() as session:
            return [job_row(job) for job in session.scalars(sa.select(Job).order_by(Job.id))]

    def fail_interrupted_jobs(self, reason: str) -> list[JobRow]:
        """End every ``running`` job with ``reason`` (a restarted server calls this before its
        worker starts): ``failed``, or ``cancelled`` if asked; return them as they are now."""
        query = sa.select(Job).where(Job.state == "running").order_by(Job.id).with_for_update()
        with self._session(write=True) as session:
            jobs = list(session.scalars(query))
            for job in jobs:
                _end(job, reason)
            session.flush()
            return [job_row(job) for job in jobs]


def _end(job: Job, reason: str) -> None:
    job.state = "cancelled" if job.cancel_requested else "failed"
    job.finished, job.reason = _now(), reason


def job_row(job: Job) -> JobRow:
    return JobRow(
        id=job.id, state=job.state, filename=job.filename, recording=job.recording,
        options=dict(job.options), lesson=None if job.lesson is None else dict(job.lesson),
        done=job.done, total=job.total, created=job.created, started=job.started,
        finished=job.finished, reason=job.reason, lesson_id=job.lesson_id,
        result=None if job.result is None else dict(job.result),
        cancel_requested=bool(job.cancel_requested),
    )  # fmt: skip
