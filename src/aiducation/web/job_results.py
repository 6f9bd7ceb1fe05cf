"""Deleting a done job's result: its files and the result the queue kept; its lesson stays.

A job's result folder (``results/<id>/`` in the jobs folder) holds the annotated video, which
shows the faces, so it should not be kept forever. It goes by hand (the job page's *Delete this
result*, :func:`delete_result`) or by a retention rule (``aiducation serve --keep-results
DAYS``: :func:`expire_results`, at start and once an hour). Either way:

* only the job's own files go: those its manifest lists (written with the result, with their
  size and SHA-256) and unchanged since, never through a link
  (:func:`aiducation.manifest.remove_owned`); anything else in the folder stays, with the
  folder, and the job's page lists it;
* the job is marked ``deleted`` (its stored result dropped, the reason kept) before its files
  go; a server stopped in between leaves the files of a ``deleted`` job, which the next start
  removes (:func:`remove_leftovers`);
* the lesson recorded from the job stays in the lesson history (delete it on the Lessons
  pages or with ``aiducation lessons delete``).
"""

from __future__ import annotations

import datetime
import logging
import os

from aiducation.lessons.records import JobRow
from aiducation.manifest import remove_owned

RETENTION_EVERY_S = 3600.0  # the retention rule runs at start and then this often

log = logging.getLogger(__name__)


def owner(row: JobRow) -> str:
    """The name a job's files are listed under in its result folder's manifest: its id and
    when it was queued (another database's job of the same id is another owner)."""
    return f"aiducation serve job {row.id} queued {row.created.isoformat()}"


def _utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def delete_result(service, job_id: int) -> JobRow:
    """Delete a done job's result by hand (an :class:`InputError` for a job that is not done);
    return the job as it is now."""
    when = _utc_now().strftime("%Y-%m-%d %H:%M UTC")
    row = service.store.delete_job_result(job_id, f"result deleted from the job page, {when}")
    remove_files(service, row)
    return row


def expire_results(service, days: float, now: datetime.datetime | None = None) -> list[JobRow]:
    """Delete the results of the jobs done more than ``days`` days before ``now``; return
    those jobs."""
    cutoff = (now or _utc_now()) - datetime.timedelta(days=days)
    reason = f"result deleted {days:g} days after the job ended (aiducation serve --keep-results)"
    rows = service.store.delete_job_results(cutoff, reason)
    for row in rows:
        remove_files(service, row)
    if rows:
        log.info("deleted the results of %d job(s) done before %s", len(rows), cutoff)
    return rows


def remove_files(service, row: JobRow) -> list[str]:
    """Remove a deleted job's own files and its folder; return what stays, each with why."""
    kept = remove_owned(service.result_folder(row.id), owner(row))
    if kept:
        log.warning("job %s: kept %s in its result folder: %s", row.id, len(kept), kept)
    return kept


def kept_files(service, row: JobRow) -> list[str]:
    """What is still in a deleted job's result folder (nothing, once it is gone)."""
    folder = service.result_folder(row.id)
    if not folder.is_dir() or folder.is_symlink():
        return []
    return sorted(os.listdir(folder))


def remove_leftovers(service) -> None:
    """Remove the files of deleted jobs whose folders a stop left behind."""
    for row in service.store.list_jobs():
        if row.state == "deleted" and os.path.lexists(service.result_folder(row.id)):
            remove_files(service, row)
