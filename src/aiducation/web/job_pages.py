"""The whole-lesson pages: upload a lesson recording as a background job, follow it, see its
result. ``/jobs`` lists the jobs, ``/jobs/new`` takes the upload, ``/jobs/{id}`` shows one job
(progress while it runs, refreshed from ``/api/jobs/{id}``; its result once done), with a
Cancel button; ``/jobs/{id}/files/{name}`` serves the result's files (the annotated video
with range requests, so the player can seek); ``/jobs/{id}/delete`` asks before a POST deletes
a done job's result (:mod:`aiducation.web.job_results`). The same under ``/api/`` answers
JSON."""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, Form, Path, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
from starlette.exceptions import HTTPException

from aiducation.errors import InputError
from aiducation.lessons.errors import UnknownJob
from aiducation.web.charts import shares_svg
from aiducation.web.formats import clock
from aiducation.web.job_results import delete_result, kept_files
from aiducation.web.job_run import RESULT_FILES, JobOptions
from aiducation.web.jobs import FINISHED, job_view
from aiducation.web.lesson_upload import receive_lesson
from aiducation.web.uploads import ACCEPTED_SUFFIXES, VIDEO_KINDS

VIDEO_ACCEPT = [s for s in ACCEPTED_SUFFIXES if s in (".mp4", ".m4v", ".mov", ".webm", ".mkv",
                                                       ".avi")]  # fmt: skip
TRUE = ("true", "on", "1", "yes")
JobId = Annotated[int, Path(ge=1, le=2**62)]


def lesson_fields(fields: dict[str, str]) -> dict | None:
    """The lesson to record the job's result under (``lesson``, ``course``, ``date`` fields),
    or ``None`` when no lesson name was given; one clear line for a bad field."""
    from aiducation.lessons.recording import MAX_NAME, parse_day

    name = fields.get("lesson", "").strip()
    course = fields.get("course", "").strip() or None
    day = fields.get("date", "").strip() or None
    if not name:
        if course or day:
            raise InputError("lesson: give the lesson's name to record it under a course or date")
        return None
    for field, value in (("lesson", name), ("course", course)):
        if value is not None and len(value) > MAX_NAME:
            raise InputError(f"{field}: at most {MAX_NAME} characters, got {len(value)}")
    if day is not None:
        parse_day(day, option="date")
    return {"name": name, "course": course, "date": day}


def add_job_routes(app: FastAPI, state, page) -> None:
    """Register the whole-lesson pages; ``state.jobs`` is the server's
    :class:`~aiducation.web.jobs.JobService`."""
    config = state.config
    jobs = state.jobs

    def view(job_id: int) -> dict:
        try:
            return jobs.view(job_id)
        except UnknownJob:
            raise HTTPException(404) from None

    async def submit(request: Request) -> int:
        """Store the upload, check the form, queue the job; its id."""
        received = await receive_lesson(request, jobs.recordings)
        try:
            if received.kind not in VIDEO_KINDS:  # receive_lesson sniffed it already
                raise InputError(f"{received.filename}: not a video")
            fields = received.fields
            lesson = lesson_fields(fields)
            options = JobOptions(
                aggregate_only=fields.get("aggregate_only", "").lower() in TRUE,
                blur=fields.get("blur", "").lower() in TRUE,
                video_fps=config.video_fps, max_pixels=config.max_pixels,
            )  # fmt: skip
        except BaseException:
            received.path.unlink(missing_ok=True)
            raise
        return jobs.enqueue(received.path, received.filename, options, lesson)

    @app.get("/jobs", response_class=HTMLResponse)
    async def job_list(request: Request) -> HTMLResponse:
        rows = [job_view(row, jobs.live) for row in reversed(jobs.store.list_jobs())]
        return page(request, "jobs.html", active="jobs", jobs=rows, duration=clock)

    @app.get("/jobs/new", response_class=HTMLResponse)
    async def job_form(request: Request) -> HTMLResponse:
        return page(request, "job_new.html", active="jobs", accept=",".join(VIDEO_ACCEPT),
                    max_mb=config.max_lesson_mb, fps=config.video_fps)  # fmt: skip

    @app.post("/jobs")
    async def job_submit(request: Request) -> RedirectResponse:
        return RedirectResponse(f"/jobs/{await submit(request)}", status_code=303)

    @app.post("/api/jobs")
    async def job_submit_api(request: Request) -> JSONResponse:
        job_id = await submit(request)
        return JSONResponse(jobs.view(job_id) | {"url": f"/jobs/{job_id}"}, status_code=202)

    @app.get("/api/jobs")
    async def job_list_api() -> JSONResponse:
        return JSONResponse([job_view(row, jobs.live) for row in jobs.store.list_jobs()])

    @app.get("/jobs/{job_id}", response_class=HTMLResponse)
    async def job_page(request: Request, job_id: JobId) -> HTMLResponse:
        job = view(job_id)
        result = job["result"] or {}
        chart = None
        if result.get("summary"):
            chart = shares_svg(result["summary"]["state_shares"], result["summary"]["state_counts"])
        kept = kept_files(jobs, jobs.store.get_job(job_id)) if job["state"] == "deleted" else []
        return page(request, "job.html", active="jobs", job=job, result=result, chart=chart,
                    duration=clock, finished=FINISHED, kept=kept)  # fmt: skip

    @app.get("/api/jobs/{job_id}")
    async def job_api(job_id: JobId) -> JSONResponse:
        return JSONResponse(view(job_id))

    @app.post("/jobs/{job_id}/cancel")
    async def job_cancel(job_id: JobId) -> RedirectResponse:
        view(job_id)  # 404 for an unknown job
        jobs.cancel(job_id)
        return RedirectResponse(f"/jobs/{job_id}", status_code=303)

    @app.post("/api/jobs/{job_id}/cancel")
    async def job_cancel_api(job_id: JobId) -> JSONResponse:
        view(job_id)
        asked = jobs.cancel(job_id)
        return JSONResponse(jobs.view(job_id) | {"cancelled": asked})

    @app.get("/jobs/{job_id}/delete", response_class=HTMLResponse)
    async def job_delete_form(request: Request, job_id: JobId) -> HTMLResponse:
        job = view(job_id)
        if job["state"] != "done":
            raise InputError(f"job {job_id}: is {job['state']}; only a done job has a result "
                             "to delete")  # fmt: skip
        return page(request, "job_delete.html", active="jobs", job=job)

    @app.post("/jobs/{job_id}/delete")
    def job_delete(job_id: JobId, confirm: Annotated[str, Form()] = "") -> RedirectResponse:
        if confirm != "yes":
            raise InputError(
                "confirm: deleting a job's result needs the confirmation form "
                f"(/jobs/{job_id}/delete), which sends confirm=yes"
            )
        view(job_id)  # 404 for an unknown job
        delete_result(jobs, job_id)
        return RedirectResponse(f"/jobs/{job_id}", status_code=303)

    @app.post("/api/jobs/{job_id}/delete")
    def job_delete_api(job_id: JobId) -> JSONResponse:
        view(job_id)
        delete_result(jobs, job_id)
        return JSONResponse(jobs.view(job_id))

    @app.get("/jobs/{job_id}/files/{name}")
    async def job_file(job_id: JobId, name: str) -> FileResponse:
        job = view(job_id)
        path = jobs.result_folder(job_id) / name
        if job["state"] != "done" or name not in RESULT_FILES or not path.is_file():
            raise HTTPException(404)
        download = None if name.endswith((".mp4", ".png")) else _download_name(job, name)
        return FileResponse(path, media_type=RESULT_FILES[name], filename=download)


def _download_name(job: dict, name: str) -> str:
    stem = job["filename"].rsplit(".", 1)[0] or "lesson"
    return f"{stem}_{name}"
