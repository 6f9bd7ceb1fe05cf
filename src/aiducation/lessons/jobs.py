"""The web app's job queue, kept in the lesson database so it survives a server restart.

A job is ``queued`` → ``running`` (:meth:`JobQueue.claim_next_job`, atomic: two workers never
get the same job) → ``done``, ``failed`` or ``cancelled``; a done job whose result was deleted
is ``deleted`` (:meth:`JobQueue.delete_job_result`; its lesson stays). A job ends ``done``
together with its lesson: :meth:`JobQueue.finish_job` writes both in one transaction, so there
is never a lesson without its done job or a done job without its lesson. Cancelling a running
job only asks (``cancel_requested``): the worker stops and calls :meth:`JobQueue.fail_job`,
which then ends it ``cancelled``. After a restart, :meth:`JobQueue.fail_interrupted_jobs` ends
every job that was running (nothing is silently lost or left running).
"""

from __future__ import annotations

import datetime
from contextlib import AbstractContextManager

import sqlalchemy as sa
from sqlalchemy.orm import Session

from aiducation.errors import InputError
from aiducation.lessons.errors import UnknownJob
from aiducation.lessons.models import Job
from aiducation.lessons.records import JobRow, LessonRecord

FINISHED = ("done", "failed", "cancelled", "deleted")
CANCELLED = "cancelled by the user"


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class JobQueue:
    """Job methods of :class:`~aiducation.lessons.store.LessonStore` (which provides
    ``_session`` and ``label``)."""

    label: str

    def _session(self, write: bool = False) -> AbstractContextManager[Session]:
        raise NotImplementedError

    def _check_record(self, record: LessonRecord) -> None:
        raise NotImplementedError

    def _insert_lesson(self, session: Session, record: LessonRecord) -> int:
        raise NotImplementedError

    def _job(self, session: Session, job_id: int, lock: bool = False) -> Job:
        query = sa.select(Job).where(Job.id == job_id)
        job = session.scalars(query.with_for_update() if lock else query).first()
        if job is None:
            raise UnknownJob(job_id, self.label)
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
                raise UnknownJob(job_id, self.label)

    def finish_job(
        self,
        job_id: int,
        *,
        result: dict,
        lesson: LessonRecord | None = None,
        lesson_id: int | None = None,
    ) -> int | None:
        """A running job ended well: ``done`` with its result, and with ``lesson`` (a record to
        add) or ``lesson_id`` (one already stored); return the lesson's id. One transaction:
        the lesson is added and the job marked done together, or neither (a job that is no
        longer running, a failed write or a killed process leaves no lesson and the job as it
        was)."""
        if lesson is not None and lesson_id is not None:
            raise ValueError("finish_job takes a lesson record or a lesson id, not both")
        if lesson is not None:
            self._check_record(lesson)
        with self._session(write=True) as session:
            job = self._job(session, job_id, lock=True)
            if job.state != "running":
                raise InputError(f"job {job_id}: is {job.state}, not running")
            if lesson is not None:
                lesson_id = self._insert_lesson(session, lesson)
            job.state, job.finished = "done", _now()
            job.lesson_id, job.result = lesson_id, dict(result)
            return lesson_id

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

    def delete_job_result(self, job_id: int, reason: str) -> JobRow:
        """Mark a done job ``deleted`` with ``reason`` and drop its stored result (the caller
        removes its files); its lesson stays. Return the job as it is now; an
        :class:`InputError` for a job that is not done."""
        with self._session(write=True) as session:
            job = self._job(session, job_id, lock=True)
            if job.state != "done":
                raise InputError(
                    f"job {job_id}: is {job.state}; only a done job has a result to delete"
                    + (" (cancel it first)" if job.state in ("queued", "running") else "")
                )
            job.state, job.reason, job.result = "deleted", reason, None
            session.flush()
            return job_row(job)

    def delete_job_results(self, finished_before: datetime.datetime, reason: str) -> list[JobRow]:
        """:meth:`delete_job_result` for every done job that finished before
        ``finished_before`` (a retention rule); return them as they are now."""
        query = (
            sa.select(Job).where(Job.state == "done", Job.finished < finished_before)
            .order_by(Job.id).with_for_update()
        )  # fmt: skip
        with self._session(write=True) as session:
            jobs = list(session.scalars(query))
            for job in jobs:
                job.state, job.reason, job.result = "deleted", reason, None
            session.flush()
            return [job_row(job) for job in jobs]

    def get_job(self, job_id: int) -> JobRow:
        """One job; :class:`UnknownJob` (an :class:`InputError`) if there is none with this
        id."""
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
