"""Background jobs of the web app: whole lesson recordings analysed one at a time.

The queue lives in the lesson database (:class:`~aiducation.lessons.LessonStore`: ``add_job``,
``claim_next_job``, ...), so it survives a restart. :class:`JobService` owns the server's
jobs folder (``recordings/``: uploads waiting for their job, 0600 files in a 0700 folder;
``results/<id>/``: each finished job's files) and one worker thread that claims the oldest
queued job, analyses it (:func:`~aiducation.web.job_run.run_job`), and ends the job ``done``
(with its lesson when the upload named one: one transaction, :meth:`LessonStore.finish_job`),
``failed`` (with the reason) or ``cancelled``. A done job's result can be deleted
(:mod:`aiducation.web.job_results`: by hand, or after ``--keep-results`` days).

* The recording is deleted when its job ends, whatever the ending.
* At start, every job still ``running`` was interrupted (the server was stopped or killed):
  it is failed with :data:`INTERRUPTED`, its recording and half-written results removed, as
  are recordings no queued job names (an upload cut off by the crash).
* Progress reaches the database about once a second; the page's JSON adds the worker's own
  view (the stage, the drawing pass) for the running job.
* Cancel: a queued job ends at once; a running one is asked (``cancel_requested``), and the
  analysis stops at its next frame.
* A job is done with its lesson or not at all: the lesson is added and the job marked done in
  one transaction, so no crash leaves a recorded lesson beside a failed job.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from aiducation.errors import InputError
from aiducation.inference.pipeline import Cancelled, Progress
from aiducation.web.job_results import RETENTION_EVERY_S, expire_results, owner, remove_leftovers
from aiducation.web.job_run import JobOptions, run_job
from aiducation.web.lesson_upload import PARTIAL_PREFIX

INTERRUPTED = "interrupted: the server stopped while it ran"
PROGRESS_EVERY_S = 1.0  # progress written to the database at most this often
CANCEL_POLL_S = 2.0  # the database's cancel_requested read this often while a job runs
IDLE_POLL_S = 2.0  # the worker looks for queued jobs this often when nobody wakes it
FINISHED = ("done", "failed", "cancelled", "deleted")

log = logging.getLogger(__name__)


def default_jobs_folder(database: str | None = None) -> Path:
    """Where a server on ``database`` keeps recordings and results, one folder per database
    (two servers on two databases never meet in ``results/<id>/``): ``jobs/`` beside the
    default lesson database (the user's data directory, or ``$AIDUCATION_DATA_DIR``),
    ``<file>.jobs/`` beside another SQLite file, ``jobs-<12 hex of the URL>/`` in the data
    directory for a database server."""
    from aiducation.lessons.database import database_url, default_database

    default = default_database()
    url = database_url(database)
    if url.get_backend_name() == "sqlite":
        path = Path(url.database)
        if path.resolve() == default.resolve():
            return default.parent / "jobs"
        return path.with_name(path.name + ".jobs")
    digest = hashlib.sha256(url.render_as_string(hide_password=True).encode()).hexdigest()
    return default.parent / f"jobs-{digest[:12]}"


@dataclass(frozen=True)
class JobSettings:
    """Where a server keeps its jobs and how it analyses them (``aiducation serve`` flags)."""

    database: str | None = None  # the lesson database (None: the store's default)
    folder: Path | None = None  # recordings and results (None: default_jobs_folder(database))
    video_fps: float = 2.0  # frames analysed per second of a lesson
    max_pixels: int = 50_000_000
    checkpoint: str | None = None  # the model (for the lesson's model facts)
    keep_results_days: float | None = None  # delete done jobs' results this old (None: keep)


@dataclass
class Live:
    """The running job as the worker sees it, between database writes."""

    job_id: int
    stage: str = "starting"
    done: int = 0
    total: int | None = None
    since: float = field(default_factory=time.monotonic)  # the stage's start
    cancel: threading.Event = field(default_factory=threading.Event)


class JobService:
    """The job queue of one server: uploads in, one worker thread, results out."""

    def __init__(self, settings: JobSettings, analyzer: Callable[[], object]) -> None:
        self.settings = settings
        self.folder = settings.folder or default_jobs_folder(settings.database)
        self._analyzer = analyzer  # loads (once) the model the worker uses
        self._store = None
        self._open_lock = threading.Lock()
        self.live: Live | None = None
        self._wake, self._stop = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None
        self._retention: threading.Thread | None = None

    # folders and the store -------------------------------------------------------------
    @property
    def store(self):
        """The lesson database, opened on first use (a bad ``--database`` is one InputError)."""
        with self._open_lock:
            if self._store is None:
                from aiducation.lessons import LessonStore

                self._store = LessonStore.open(self.settings.database)
            return self._store

    @property
    def recordings(self) -> Path:
        return self._private("recordings")

    @property
    def results(self) -> Path:
        return self._private("results")

    def _private(self, name: str) -> Path:
        path = self.folder / name
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        return path

    def result_folder(self, job_id: int) -> Path:
        return self.results / str(int(job_id))

    # lifecycle ---------------------------------------------------------------------------
    def start(self) -> list:
        """Fail the jobs a stopped server left running, clear what they left, start the
        worker (and the retention rule, with ``keep_results_days``: at once, then once an
        hour); return the jobs it failed."""
        interrupted = self.store.fail_interrupted_jobs(INTERRUPTED)
        for row in interrupted:
            self._clear(row.id, row.recording)
        self.sweep()
        self._stop.clear()
        self._thread = threading.Thread(target=self._work, name="aiducation-jobs", daemon=True)
        self._thread.start()
        if self.settings.keep_results_days is not None:
            self._retention = threading.Thread(
                target=self._retain, name="aiducation-job-retention", daemon=True
            )
            self._retention.start()
        return interrupted

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the worker (a running job ends failed: :data:`INTERRUPTED`) and close."""
        self._stop.set()
        self._wake.set()
        for thread in (self._thread, self._retention):
            if thread is not None:
                thread.join(timeout)
        self._thread = self._retention = None
        with self._open_lock:
            if self._store is not None:
                self._store.close()
                self._store = None

    def sweep(self) -> None:
        """Remove recordings no queued job names (uploads cut off by a crash, jobs ended
        while the server was down), half-written result folders, and the files of deleted
        results that a stop between marking and removing left."""
        waiting = {Path(row.recording).name for row in self.store.list_jobs()
                   if row.state in ("queued", "running")}  # fmt: skip
        for path in self.recordings.iterdir():
            if path.name not in waiting or path.name.startswith(PARTIAL_PREFIX):
                path.unlink(missing_ok=True)
        for path in self.results.iterdir():
            if path.name.endswith(".partial"):
                shutil.rmtree(path, ignore_errors=True)
        remove_leftovers(self)

    # requests ------------------------------------------------------------------------------
    def enqueue(self, recording: Path, filename: str, options: JobOptions, lesson: dict | None):
        """Queue the stored ``recording``; return the job's id (the worker is woken)."""
        try:
            job_id = self.store.add_job(filename=filename, recording=str(recording),
                                        options=options.to_dict(), lesson=lesson)  # fmt: skip
        except BaseException:
            recording.unlink(missing_ok=True)
            raise
        self._wake.set()
        return job_id

    def cancel(self, job_id: int) -> bool:
        """Cancel a queued job (its recording goes at once) or stop a running one; False
        when it had already ended."""
        asked = self.store.cancel_job(job_id)
        live = self.live
        if live is not None and live.job_id == job_id:
            live.cancel.set()
        row = self.store.get_job(job_id)
        if row.state == "cancelled":
            Path(row.recording).unlink(missing_ok=True)
        return asked

    def view(self, job_id: int) -> dict:
        """What the job page shows and ``/api/jobs/{id}`` answers: state, progress (frames
        done / total, elapsed, estimated time left), the reason or the result."""
        return job_view(self.store.get_job(job_id), self.live)

    # the worker ----------------------------------------------------------------------------
    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                row = self.store.claim_next_job()
            except Exception:  # the database went away: try again later, never crash
                log.exception("cannot claim the next job")
                row = None
            if row is None:
                self._wake.wait(IDLE_POLL_S)
                self._wake.clear()
                continue
            self.run(row)

    def run(self, row) -> None:
        """Run one claimed job to its end (the worker's body; tests call it directly)."""
        live = self.live = Live(row.id)
        progress = self._progress(live)
        try:
            analyzer = self._analyzer()
            outcome = run_job(
                Path(row.recording), row.filename, analyzer, self._options(row),
                self.result_folder(row.id), progress=progress,
                cancelled=lambda: live.cancel.is_set() or self._stop.is_set(), owner=owner(row),
            )  # fmt: skip
            live.stage = "saving"
            lesson = self._lesson(row, outcome) if row.lesson else None
            self.store.finish_job(row.id, lesson=lesson, result=outcome.result)  # one transaction
        except Cancelled:
            stopped = self._stop.is_set() and not live.cancel.is_set()
            self._end(row.id, INTERRUPTED if stopped else "cancelled by the user")
        except InputError as exc:
            self._end(row.id, str(exc))
        except Exception as exc:  # reported on the job's page, never a silent loss
            log.exception("job %s failed", row.id)
            detail = " ".join(str(exc).split()) or "no details"
            self._end(row.id, f"{row.filename}: analysis failed ({type(exc).__name__}: {detail})")
        finally:
            Path(row.recording).unlink(missing_ok=True)
            self.live = None

    def _end(self, job_id: int, reason: str) -> None:
        shutil.rmtree(self.result_folder(job_id), ignore_errors=True)
        self.store.fail_job(job_id, reason)

    def _clear(self, job_id: int, recording: str) -> None:
        Path(recording).unlink(missing_ok=True)
        shutil.rmtree(self.results / f".{job_id}.partial", ignore_errors=True)

    def _options(self, row) -> JobOptions:
        options = JobOptions.from_dict(row.options)
        return replace(options, max_pixels=self.settings.max_pixels)

    def _retain(self) -> None:
        """The retention rule's thread: expire old results now, then once an hour."""
        while not self._stop.is_set():
            try:
                expire_results(self, self.settings.keep_results_days)
            except Exception:  # the database went away: try again at the next round
                log.exception("cannot delete old job results")
            self._stop.wait(RETENTION_EVERY_S)

    def _lesson(self, row, outcome):
        """The job's lesson record (its aggregates, to add as the job ends)."""
        from aiducation.lessons import lesson_record
        from aiducation.lessons.recording import model_info, parse_day

        lesson = row.lesson
        settings = {**self._options(row).to_dict(), "smoothing": "hmm", "source": "web job"}
        return lesson_record(
            outcome.done, name=lesson["name"], course=lesson.get("course"),
            day=parse_day(lesson["date"]) if lesson.get("date") else None,
            model=model_info(self.settings.checkpoint), settings=settings,
        )  # fmt: skip

    def _progress(self, live: Live) -> Callable[[Progress], None]:
        """The pipeline's progress into ``live`` and, about once a second, the database
        (which also tells whether the job's cancellation was asked for elsewhere)."""
        written = polled = 0.0

        def report(progress: Progress) -> None:
            nonlocal written, polled
            if progress.stage != live.stage:
                live.stage, live.since = progress.stage, time.monotonic()
            live.done, live.total = progress.done, progress.total
            now = time.monotonic()
            if progress.stage == "analysing" and (
                now - written >= PROGRESS_EVERY_S or progress.done == progress.total
            ):
                written = now
                self.store.set_job_progress(live.job_id, progress.done, progress.total)
            if now - polled >= CANCEL_POLL_S:
                polled = now
                if self.store.get_job(live.job_id).cancel_requested:
                    live.cancel.set()

        return report


def job_view(row, live: Live | None = None) -> dict:
    """A job as the page and its JSON show it (``live``: the worker's view of it, if it runs)."""
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    end = row.finished or now
    elapsed = (end - row.started).total_seconds() if row.started else None
    view = {
        "id": row.id,
        "state": row.state,
        "filename": row.filename,
        "created": row.created.isoformat(),
        "started": None if row.started is None else row.started.isoformat(),
        "finished": None if row.finished is None else row.finished.isoformat(),
        "elapsed_s": None if elapsed is None else round(elapsed, 1),
        "stage": {"queued": "waiting", "running": "analysing"}.get(row.state, row.state),
        "done": row.done,
        "total": row.total,
        "eta_s": None,
        "reason": row.reason,
        "cancel_requested": row.cancel_requested,
        "lesson": row.lesson,
        "lesson_id": row.lesson_id,
        "options": row.options,
        "result": row.result,
    }
    if live is not None and live.job_id == row.id and row.state == "running":
        view.update(stage=live.stage, done=live.done, total=live.total)
        spent = time.monotonic() - live.since
        if live.done and live.total and live.stage in ("analysing", "drawing"):
            view["eta_s"] = round(spent / live.done * (live.total - live.done), 1)
    elif row.state == "running" and row.done and row.total and elapsed:
        view["eta_s"] = round(elapsed / row.done * (row.total - row.done), 1)
    return view
