"""Whole-lesson jobs (issue 32): the upload streamed to a private file, the queue in the lesson
database (real SQLite), the worker run step by step (``JobService.run``) or as the server's
thread, progress, cancel, bad input, the result page and files, and the restart clean-up."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

import av
import cv2
import pytest
from tests.lessons.conftest import postgres_server, postgres_url  # noqa: F401 (fixtures)
from tests.stubs import stub_analyzer as make_stub_analyzer
from webworld import BASE_URL, local_client, scene

from aiducation.inference.api import Analyzer
from aiducation.web.app import WebConfig, create_app
from aiducation.web.jobs import INTERRUPTED, JobService


def lesson_video(path: Path, frames: int = 40, faces: bool = True) -> Path:
    """A 4-s 320×240 clip at 10 fps: a bright and a dark 'face' (or none: a grey wall)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (320, 240))
    for i in range(frames):
        shown = [(20 + 2 * i, 40, 60, 60, 230), (200, 130, 60, 60, 40)] if faces else []
        writer.write(scene(shown))
    writer.release()
    return path


class SlowAnalyzer(Analyzer):
    """The stub analyzer, ``delay`` seconds a frame (a job long enough to watch or cancel)."""

    delay = 0.05

    def analyze_frame(self, *args, **kwargs):
        time.sleep(self.delay)
        return super().analyze_frame(*args, **kwargs)


def slow_analyzer() -> SlowAnalyzer:
    base = make_stub_analyzer()
    return SlowAnalyzer(base.detector, base.classifier, base.margin, base.gate)


@pytest.fixture
def config(tmp_path: Path, web_config: WebConfig) -> WebConfig:
    return replace(web_config, database=str(tmp_path / "lessons.sqlite"),
                   jobs_dir=str(tmp_path / "jobs"), jobs=False)  # fmt: skip


@pytest.fixture
def app(config, stub_analyzer):
    return create_app(config, analyzer=stub_analyzer)


@pytest.fixture
def client(app):
    return local_client(app)


@pytest.fixture
def service(app) -> JobService:
    return app.state.web.jobs


@pytest.fixture
def video(tmp_path: Path) -> bytes:
    return lesson_video(tmp_path / "made.mp4").read_bytes()


def upload(client, data: bytes, name: str = "lesson.mp4", path: str = "/jobs", **fields):
    return client.post(path, data=fields, files={"file": (name, data, "video/mp4")},
                       follow_redirects=False)  # fmt: skip


def work(service: JobService) -> None:
    """What the worker thread does for one queued job."""
    service.run(service.store.claim_next_job())


def test_a_lesson_goes_from_upload_to_result_and_into_the_history(client, service, video):
    response = upload(client, video, lesson="Algebra, week 3", course="Maths 9B", date="2026-11-30")
    assert response.status_code == 303 and response.headers["location"] == "/jobs/1"
    (recording,) = service.recordings.iterdir()
    assert recording.stat().st_mode & 0o777 == 0o600  # private to the server's user
    assert service.recordings.stat().st_mode & 0o777 == 0o700
    assert recording.read_bytes() == video
    queued = client.get("/jobs/1")
    assert 'data-state="queued"' in queued.text and 'id="cancel-button"' in queued.text
    work(service)
    assert not recording.exists()  # the recording goes when its job ends
    job = client.get("/api/jobs/1").json()
    assert job["state"] == "done" and job["reason"] is None
    assert (job["done"], job["total"]) == (20, 20)  # 5 frames/s of a 4-s clip, all of them
    result = job["result"]
    assert result["coverage"] == {"analysed_to_s": 3.8, "duration_s": 4.0, "complete": True,
                                  "reason": None}  # fmt: skip
    assert result["summary"]["students"] == 2 and len(result["students"]) == 2
    assert {"share_Angry_low", "share_Angry_high"} <= set(result["students"][0])
    assert [row["minute"] for row in result["minutes"]] == [0]
    assert result["files"] == ["annotated.mp4", "minutes.csv", "minutes.png", "students.csv",
                               "summary.json", "timeline.csv", "timeline.png"]  # fmt: skip
    lesson = service.store.get_lesson(job["lesson_id"])
    assert (lesson.name, lesson.course, str(lesson.day)) == ("Algebra, week 3", "Maths 9B",
                                                             "2026-11-30")  # fmt: skip
    assert lesson.frames == 20 and lesson.students == 2
    page = client.get("/jobs/1").text
    parts = ('id="students-table"', 'id="minutes-chart"', 'id="coverage-complete"',
             'src="/jobs/1/files/annotated.mp4"', 'href="/lessons/1" id="lesson-link"',
             'href="/lessons/course/Maths%209B"')  # fmt: skip
    for part in parts:
        assert part in page, part
    assert 'id="cancel-button"' not in page
    clip = client.get("/jobs/1/files/annotated.mp4", headers={"Range": "bytes=0-1023"})
    assert clip.status_code == 206 and clip.headers["content-type"] == "video/mp4"
    full = client.get("/jobs/1/files/annotated.mp4").content
    path = service.result_folder(1) / "annotated.mp4"
    assert full == path.read_bytes()
    with av.open(str(path)) as media:
        assert media.streams.video[0].codec_context.name == "h264"
        assert sum(1 for _ in media.decode(video=0)) == 20
    students = client.get("/jobs/1/files/students.csv")
    assert students.headers["content-disposition"].endswith('filename="lesson_students.csv"')
    assert len(students.text.strip().splitlines()) == 3
    for bad in ("../lessons.sqlite", "faces.csv", "annotated.webm"):
        assert client.get(f"/jobs/1/files/{bad}").status_code == 404
    assert "Algebra, week 3" in client.get("/lessons/1").text  # beside the course's lessons
    listing = client.get("/jobs").text
    assert 'data-job="1" data-state="done"' in listing and "Algebra, week 3" in listing


def test_without_a_lesson_name_nothing_is_recorded_and_aggregate_only_keeps_no_faces(
    client, service, video
):
    assert upload(client, video, aggregate_only="true").status_code == 303
    work(service)
    job = client.get("/api/jobs/1").json()
    assert job["state"] == "done" and job["lesson_id"] is None
    assert job["result"]["students"] is None
    assert "annotated.mp4" not in job["result"]["files"]  # no picture of a face is kept
    assert service.store.list_lessons() == []
    assert 'id="students-table"' not in client.get("/jobs/1").text


def test_the_api_answers_json_and_the_server_thread_runs_the_queue(config, video):
    app = create_app(replace(config, jobs=True), analyzer=make_stub_analyzer())
    with local_client(app) as client:  # the lifespan starts the worker
        answer = upload(client, video, path="/api/jobs")
        assert answer.status_code == 202 and answer.json()["url"] == "/jobs/1"
        deadline = time.monotonic() + 60
        while client.get("/api/jobs/1").json()["state"] != "done":
            assert time.monotonic() < deadline, "the worker did not finish the job"
            time.sleep(0.1)
        assert [job["id"] for job in client.get("/api/jobs").json()] == [1]


def test_progress_shows_frames_elapsed_and_time_left(config, video, tmp_path):
    app = create_app(config, analyzer=slow_analyzer())
    client, service = local_client(app), app.state.web.jobs
    upload(client, video)
    worker = threading.Thread(target=work, args=(service,))
    worker.start()
    seen = []
    while worker.is_alive():
        job = client.get("/api/jobs/1").json()
        if job["state"] == "running" and job["done"]:
            seen.append(job)
        time.sleep(0.05)
    worker.join()
    analysing = [j for j in seen if j["stage"] == "analysing"]
    assert analysing and all(j["total"] == 20 and 0 < j["done"] <= 20 for j in analysing)
    assert any(j["eta_s"] is not None and j["eta_s"] > 0 for j in analysing)
    assert all(j["elapsed_s"] >= 0 for j in seen)
    assert any(j["stage"] == "drawing" for j in seen)  # the second pass is shown too
    page = client.get("/jobs/1").text
    assert 'id="job-state">done' in page


def test_cancel_a_queued_job_and_a_running_one(config, video):
    app = create_app(config, analyzer=slow_analyzer())
    client, service = local_client(app), app.state.web.jobs
    upload(client, video, lesson="Kept?")
    upload(client, video, lesson="Waiting")
    first, second = sorted(service.recordings.iterdir(), key=lambda p: p.stat().st_mtime_ns)
    worker = threading.Thread(target=work, args=(service,))
    worker.start()
    deadline = time.monotonic() + 30
    while client.get("/api/jobs/1").json()["done"] < 3:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert client.post("/jobs/2/cancel", follow_redirects=False).status_code == 303
    assert client.get("/api/jobs/2").json()["state"] == "cancelled"
    assert not second.exists()  # a cancelled queued job's recording goes at once
    answer = client.post("/api/jobs/1/cancel").json()
    assert answer["cancelled"] and answer["cancel_requested"]
    worker.join(30)
    job = client.get("/api/jobs/1").json()
    assert (job["state"], job["reason"]) == ("cancelled", "cancelled by the user")
    assert job["done"] < 20 and job["lesson_id"] is None
    assert not first.exists() and not service.result_folder(1).exists()
    assert list(service.results.iterdir()) == [] and service.store.list_lessons() == []
    assert client.post("/api/jobs/1/cancel").json()["cancelled"] is False  # already ended
    assert 'id="job-reason"' in client.get("/jobs/1").text
    assert client.post("/jobs/7/cancel").status_code == 404


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("fake.mp4", lambda v: v[:32] + b"\0" * 4096, "fake.mp4: cannot open as a video"),
        ("cut.mp4", truncated, "cut.mp4: cannot open as a video"),
        ("wall.mp4", None, "wall.mp4: no face was found in the 4 s analysed (20 frames); "
                           "nothing was recorded"),
    ],
)  # fmt: skip
def test_bad_recordings_end_their_job_with_a_clear_message(
    client, service, video, tmp_path, name, make, message
):
    data = make(video) if make else lesson_video(tmp_path / "wall.mp4", faces=False).read_bytes()
    assert upload(client, data, name=name, lesson="Bad").status_code == 303
    work(service)
    job = client.get("/api/jobs/1").json()
    assert job["state"] == "failed" and job["reason"].startswith(message), job["reason"]
    assert str(service.recordings) not in job["reason"]  # the user's name, not the stored one
    assert list(service.recordings.iterdir()) == [] and list(service.results.iterdir()) == []
    assert service.store.list_lessons() == []
    assert message in client.get("/jobs/1").text


def test_what_is_not_a_video_or_a_bad_form_is_refused_before_anything_is_queued(
    client, service, video
):
    refused = upload(client, b"just some notes, not a video at all", name="notes.mp4")
    assert refused.status_code == 415 and "notes.mp4: not a video" in refused.text
    for fields, message in [
        ({"date": "30/11/2026", "lesson": "L"}, "date '30/11/2026': expected a date YYYY-MM-DD"),
        ({"course": "9B"}, "lesson: give the lesson's name to record it under a course or date"),
        ({"lesson": "x" * 201}, "lesson: at most 200 characters"),
    ]:
        answer = upload(client, video, path="/api/jobs", **fields)
        assert answer.status_code == 400 and message in answer.json()["error"], answer.text
    empty = client.post("/api/jobs", files={"file": ("e.mp4", b"", "video/mp4")})
    assert empty.status_code == 400 and "e.mp4: the file is empty" in empty.json()["error"]
    no_form = client.post("/api/jobs", content=video, headers={"content-type": "video/mp4"})
    assert no_form.status_code == 400 and "multipart/form-data" in no_form.json()["error"]
    assert list(service.recordings.iterdir()) == [] and service.store.list_jobs() == []


def test_the_lesson_upload_has_its_own_body_limit(config, stub_analyzer, video):
    big = video + b"\0" * (2 * 2**20)  # 2 MiB: over the Analyse page's 1 MiB
    client = local_client(create_app(config, analyzer=stub_analyzer))
    assert client.post("/analyze", files={"file": ("l.mp4", big)}).status_code == 413
    assert upload(client, big).status_code == 303
    small = local_client(create_app(replace(config, max_lesson_mb=1.0), analyzer=stub_analyzer))
    refused = upload(small, big, path="/api/jobs")
    assert refused.status_code == 413 and "--max-lesson-mb" in refused.json()["error"]


def test_a_large_upload_streams_to_disk_without_being_held_in_memory(config, video):
    """A 48 MiB body sent in 64 KiB pieces to a real server (uvicorn on a socket): the
    process's Python allocations stay a few MiB (the recording is written as it arrives,
    never gathered; Starlette's test client would gather it, so it is not used here)."""
    import tracemalloc

    import httpx
    from livesite import serve_app

    boundary, padding = "lessonboundary", 48 * 2**20

    def body():
        yield (f'--{boundary}\r\nContent-Disposition: form-data; name="lesson"\r\n\r\nBig\r\n'
               f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
               'filename="big.mp4"\r\nContent-Type: video/mp4\r\n\r\n').encode()  # fmt: skip
        yield video
        piece = b"\0" * 2**16
        for _ in range(padding // len(piece)):
            yield piece
        yield f"\r\n--{boundary}--\r\n".encode()

    headers = {"content-type": f"multipart/form-data; boundary={boundary}"}
    with serve_app(config, make_stub_analyzer()) as (url, app):
        httpx.get(f"{url}/api/jobs").raise_for_status()  # the database opened (imports) first
        tracemalloc.start()
        try:
            answer = httpx.post(f"{url}/api/jobs", content=body(), headers=headers, timeout=120)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert answer.status_code == 202, answer.text
    (recording,) = app.state.web.jobs.recordings.iterdir()
    assert recording.stat().st_size == len(video) + padding
    assert peak < 12 * 2**20, f"{peak / 2**20:.1f} MiB allocated for a 48 MiB upload"


def test_a_restarted_server_fails_the_jobs_it_left_running_and_clears_their_files(
    config, service, client, video
):
    upload(client, video, lesson="Interrupted")
    upload(client, video)
    running = service.store.claim_next_job()  # a server that claimed it, then died
    staging = service.results / f".{running.id}.partial"
    staging.mkdir()
    (service.recordings / ".upload-cut-off").write_bytes(b"half an upload")
    restarted = JobService(service.settings, make_stub_analyzer)
    try:
        failed = restarted.start()
        assert [(row.id, row.state, row.reason) for row in failed] == [(1, "failed", INTERRUPTED)]
        assert not Path(running.recording).exists() and not staging.exists()
        deadline = time.monotonic() + 30  # the worker goes on with the queued job
        while restarted.store.get_job(2).state != "done":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert [p.name for p in restarted.recordings.iterdir()] == []
        assert restarted.store.list_lessons() == []  # the interrupted lesson: none of it
    finally:
        restarted.stop()
    assert client.get("/api/jobs/1").json()["reason"] == INTERRUPTED


def test_job_pages_keep_the_apps_security(config, stub_analyzer, video):
    client = local_client(create_app(config, analyzer=stub_analyzer))
    foreign = client.post("/jobs", files={"file": ("l.mp4", video)},
                          headers={"Origin": "http://evil.example"})  # fmt: skip
    assert foreign.status_code == 403
    assert (
        client.post("/jobs/1/cancel", headers={"Origin": "http://evil.example"}).status_code == 403
    )
    locked = local_client(create_app(replace(config, token="s3cret-token-0123456789"),
                                     analyzer=stub_analyzer))  # fmt: skip
    assert locked.get("/api/jobs").status_code == 401
    assert locked.post("/api/jobs", files={"file": ("l.mp4", video)}).status_code == 401
    assert locked.post("/jobs/1/delete", data={"confirm": "yes"}).status_code == 401
    assert locked.post("/api/jobs/1/delete").status_code == 401
    page = client.get("/jobs/new")
    assert (
        page.status_code == 200 and "script-src 'self'" in page.headers["content-security-policy"]
    )


def test_a_recording_that_would_fill_the_disk_is_refused(client, service, video, monkeypatch):
    from aiducation.web import lesson_upload

    monkeypatch.setattr(lesson_upload, "FREE_SPACE_RESERVE", 2**62)  # no disk is that large
    answer = upload(client, video, path="/api/jobs")
    assert answer.status_code == 507 and "too little for this" in answer.json()["error"]
    assert list(service.recordings.iterdir()) == [] and service.store.list_jobs() == []


def test_stopping_the_server_ends_the_running_job_as_interrupted(config, video):
    app = create_app(replace(config, jobs=True), analyzer=slow_analyzer())
    with local_client(app) as client:  # the lifespan starts the worker; leaving it stops it
        upload(client, video, lesson="Stopped")
        deadline = time.monotonic() + 30
        while client.get("/api/jobs/1").json()["done"] < 2:
            assert time.monotonic() < deadline
            time.sleep(0.02)
    service = app.state.web.jobs
    job = service.store.get_job(1)
    assert (job.state, job.reason) == ("failed", INTERRUPTED)
    assert list(service.recordings.iterdir()) == [] and list(service.results.iterdir()) == []
    assert service.store.list_lessons() == []
    service.stop()


def test_a_failure_while_finishing_records_no_lesson_and_fails_the_job(client, service, video):
    """The lesson is added and the job marked done in one transaction: an error in it (here
    after the lesson's row was written) leaves no lesson, and the job failed, its files gone."""
    upload(client, video, lesson="Never half-recorded", course="9B")

    def fail(lesson_id: int) -> None:
        raise RuntimeError(f"the database broke after lesson {lesson_id}")

    service.store.write_hook = fail
    work(service)
    job = client.get("/api/jobs/1").json()
    assert job["state"] == "failed" and job["lesson_id"] is None
    assert "RuntimeError: the database broke after lesson" in job["reason"]
    assert service.store.list_lessons() == [] and service.store.list_courses() == []
    assert list(service.results.iterdir()) == [] and list(service.recordings.iterdir()) == []


def delete(client, job_id: int, api: bool = False, **headers):
    path = f"/api/jobs/{job_id}/delete" if api else f"/jobs/{job_id}/delete"
    data = None if api else {"confirm": "yes"}
    return client.post(path, data=data, headers=headers, follow_redirects=False)


def test_a_jobs_result_is_deleted_after_its_confirmation_and_its_lesson_stays(
    client, service, video
):
    upload(client, video, lesson="Algebra", course="Maths 9B")
    work(service)
    folder = service.result_folder(1)
    assert (folder / ".aiducation-files.json").is_file()  # the job's files, listed
    page = client.get("/jobs/1").text
    assert 'href="/jobs/1/delete" class="delete" id="delete-link"' in page
    form = client.get("/jobs/1/delete")
    assert form.status_code == 200
    assert '<form method="post" action="/jobs/1/delete"' in form.text
    assert 'name="confirm" value="yes"' in form.text and "cannot be undone" in form.text
    assert 'href="/lessons/1"' in form.text  # the lesson stays, and where to delete it
    # without the confirmation or from another site: nothing is deleted
    assert client.post("/jobs/1/delete", follow_redirects=False).status_code == 400
    assert delete(client, 1, Origin="http://evil.example").status_code == 403
    assert delete(client, 1, api=True, Origin="http://evil.example").status_code == 403
    assert folder.is_dir() and client.get("/api/jobs/1").json()["state"] == "done"
    done = delete(client, 1, Origin=BASE_URL)
    assert done.status_code == 303 and done.headers["location"] == "/jobs/1"
    assert not folder.exists() and list(service.results.iterdir()) == []
    job = client.get("/api/jobs/1").json()
    assert (job["state"], job["result"], job["lesson_id"]) == ("deleted", None, 1)
    assert job["reason"].startswith("result deleted from the job page, ")
    page = client.get("/jobs/1").text
    assert 'id="job-deleted"' in page and 'id="kept-files"' not in page
    assert 'href="/lessons/1"' in page and 'id="delete-link"' not in page
    assert 'id="students-table"' not in page
    for name in ("annotated.mp4", "students.csv", "summary.json"):
        assert client.get(f"/jobs/1/files/{name}").status_code == 404
    lesson = service.store.get_lesson(1)  # the aggregates stay in the lesson history
    assert (lesson.name, lesson.course, lesson.students) == ("Algebra", "Maths 9B", 2)
    assert client.get("/lessons/1").status_code == 200
    again = delete(client, 1, api=True)
    assert again.status_code == 400 and "is deleted; only a done job" in again.json()["error"]
    assert client.get("/jobs/1/delete").status_code == 400
    assert delete(client, 9).status_code == 404 and client.get("/jobs/9/delete").status_code == 404
    assert 'data-job="1" data-state="deleted"' in client.get("/jobs").text


def test_a_queued_job_has_no_result_to_delete_and_the_api_deletes_one(client, service, video):
    upload(client, video)
    upload(client, video)
    refused = delete(client, 1, api=True)
    assert refused.status_code == 400
    assert (
        "job 1: is queued; only a done job has a result to delete (cancel it first)"
        in (refused.json()["error"])
    )
    work(service)
    answer = delete(client, 1, api=True)
    assert answer.status_code == 200 and answer.json()["state"] == "deleted"
    assert not service.result_folder(1).exists()
    assert client.get("/api/jobs/2").json()["state"] == "queued"  # untouched


def test_deleting_a_result_removes_only_the_jobs_own_unchanged_files(client, service, video):
    upload(client, video, aggregate_only="true")
    work(service)
    folder = service.result_folder(1)
    (folder / "notes.txt").write_text("a teacher's own notes, put here by hand")
    with open(folder / "minutes.csv", "a") as changed:
        changed.write("edited,by,hand\n")
    outside = service.folder / "outside.csv"
    outside.write_text("not in the result folder")
    (folder / "timeline.csv").unlink()
    (folder / "timeline.csv").symlink_to(outside)  # a link where a file of ours was
    assert delete(client, 1).status_code == 303
    assert sorted(p.name for p in folder.iterdir()) == ["minutes.csv", "notes.txt",
                                                        "timeline.csv"]  # fmt: skip
    assert outside.read_text() == "not in the result folder"  # never through a link
    page = client.get("/jobs/1").text
    assert 'id="kept-files"' in page and "minutes.csv, notes.txt, timeline.csv" in page


def finished_days_ago(service: JobService, job_id: int, days: float) -> None:
    """Set when a job ended, as if it had ended ``days`` ago (the database itself)."""
    import datetime

    import sqlalchemy as sa

    when = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=days)
    with service.store.engine.begin() as connection:
        connection.execute(sa.text("UPDATE jobs SET finished = :t WHERE id = :id"),
                           {"t": when.replace(tzinfo=None), "id": job_id})  # fmt: skip


def wait_for(condition, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_keep_results_deletes_old_results_at_start_and_then_every_hour(
    config, client, service, video, monkeypatch
):
    from aiducation.web import jobs

    for lesson in ("Old", "Recent"):
        upload(client, video, lesson=lesson)
        work(service)
    finished_days_ago(service, 1, 31)
    finished_days_ago(service, 2, 29)
    monkeypatch.setattr(jobs, "RETENTION_EVERY_S", 0.2)  # "an hour", shortened
    keeper = JobService(replace(service.settings, keep_results_days=30), make_stub_analyzer)
    try:
        keeper.start()
        wait_for(lambda: keeper.store.get_job(1).state == "deleted", "not deleted at start")
        assert not keeper.result_folder(1).exists() and keeper.result_folder(2).is_dir()
        assert keeper.store.get_job(1).reason == (
            "result deleted 30 days after the job ended (aiducation serve --keep-results)"
        )
        assert keeper.store.get_job(2).state == "done"
        finished_days_ago(keeper, 2, 30.5)  # a day later, the next round takes job 2 too
        wait_for(lambda: keeper.store.get_job(2).state == "deleted", "not deleted later")
        assert list(keeper.results.iterdir()) == []
        assert [x.name for x in keeper.store.list_lessons()] == ["Recent", "Old"]  # both stay
    finally:
        keeper.stop()


def test_files_a_stop_left_of_a_deleted_result_go_at_the_next_start(service, client, video):
    upload(client, video)
    work(service)
    service.store.delete_job_result(1, "deleted, then the server was killed")  # files not yet
    assert service.result_folder(1).is_dir()
    restarted = JobService(service.settings, make_stub_analyzer)
    try:
        restarted.start()
        assert not restarted.result_folder(1).exists()
    finally:
        restarted.stop()


@pytest.mark.parametrize("days", ["0", "-3", "nan", "1e9"])
def test_serve_refuses_a_bad_keep_results(days, capsys):
    from aiducation.cli import main

    assert main(["serve", "--keep-results", days]) == 2
    assert "--keep-results: expected a positive number of days" in capsys.readouterr().err


def test_serve_passes_keep_results_to_the_jobs(tmp_path, monkeypatch):
    import uvicorn

    from aiducation.cli import main

    calls = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.update(app=app))
    argv = ["serve", "--database", str(tmp_path / "l.sqlite"), "--jobs-dir", str(tmp_path / "j")]
    assert main([*argv, "--keep-results", "14"]) == 0
    assert calls["app"].state.web.jobs.settings.keep_results_days == 14.0
    assert main(argv) == 0
    assert calls["app"].state.web.jobs.settings.keep_results_days is None  # kept by default


def test_a_job_its_lesson_and_deleting_its_result_on_a_postgresql_server(
    config,
    stub_analyzer,
    video,
    postgres_url,  # noqa: F811 (the fixture)
):
    """The same worker and pages over a real (private, throwaway) PostgreSQL server: done with
    its lesson in one transaction, the result deleted by hand and by age, the lessons kept."""
    import datetime

    from aiducation.web.job_results import expire_results, remove_leftovers

    app = create_app(replace(config, database=postgres_url), analyzer=stub_analyzer)
    client, service = local_client(app), app.state.web.jobs
    for lesson in ("First", "Second"):
        upload(client, video, lesson=lesson, course="9B")
        work(service)
    assert [(j.state, j.lesson_id) for j in service.store.list_jobs()] == [("done", 1), ("done", 2)]
    assert delete(client, 1).status_code == 303 and not service.result_folder(1).exists()
    service.store.delete_job_result(2, "a stop left its files")  # marked, files not yet gone
    remove_leftovers(service)
    assert list(service.results.iterdir()) == []
    assert expire_results(service, 1, datetime.datetime.now(datetime.UTC)) == []  # none done
    assert [c.lessons for c in service.store.list_courses()] == [2]
    assert client.get("/api/jobs/1").json()["state"] == "deleted"
    service.stop()


def test_each_database_has_its_own_jobs_folder(tmp_path):
    from aiducation.lessons.database import default_database
    from aiducation.web.jobs import default_jobs_folder

    data = default_database().parent
    assert default_jobs_folder() == data / "jobs"
    assert default_jobs_folder(str(default_database())) == data / "jobs"
    other = tmp_path / "term2.sqlite"
    assert default_jobs_folder(str(other)) == tmp_path / "term2.sqlite.jobs"
    assert default_jobs_folder(f"sqlite:///{other}") == tmp_path / "term2.sqlite.jobs"
    school = default_jobs_folder("postgresql://teacher:secret@db/school")
    assert school.parent == data and school.name.startswith("jobs-")
    assert school == default_jobs_folder("postgresql://teacher:other@db/school")  # not the password
    assert school != default_jobs_folder("postgresql://teacher@db/another")
