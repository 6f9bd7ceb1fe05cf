"""A server killed while a job runs (issue 32): ``aiducation serve`` is a real process, the job
a real analysis (YuNet + a small checkpoint); after SIGKILL and a restart the job is failed
with the reason, its recording is gone, and the database holds no part of its lesson. And a
server restarted with ``--keep-results DAYS`` deletes older results at start, lessons kept."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from livesite import free_port
from test_browser import demo_clip

from aiducation.lessons import LessonStore
from aiducation.web.jobs import INTERRUPTED

pytestmark = pytest.mark.slow


class Server:
    """``aiducation serve`` on a free port as a child process."""

    def __init__(self, tmp: Path, checkpoint: Path) -> None:
        self.tmp, self.checkpoint = tmp, checkpoint
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self, *flags: str) -> None:
        command = [
            sys.executable, "-m", "aiducation", "serve", "--port", str(self.port),
            "--database", str(self.tmp / "lessons.sqlite"), "--jobs-dir", str(self.tmp / "jobs"),
            "--checkpoint", str(self.checkpoint), "--video-fps", "10", *flags,
        ]  # fmt: skip
        env = {**os.environ, "AIDUCATION_DATA_DIR": str(self.tmp / "data")}
        log = open(self.tmp / "server.log", "ab")  # noqa: SIM115 (the child writes to it)
        self.process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        while True:
            assert self.process.poll() is None, (self.tmp / "server.log").read_text()
            assert time.monotonic() < deadline, "the server did not start"
            try:
                if httpx.get(f"{self.url}/api/jobs", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=60)

    def job(self, job_id: int = 1) -> dict:
        return httpx.get(f"{self.url}/api/jobs/{job_id}", timeout=10).json()


@pytest.fixture
def server(tmp_path: Path, checkpoint_dir: Path):
    server = Server(tmp_path, checkpoint_dir)
    yield server
    server.stop(signal.SIGKILL)


def test_a_job_killed_with_its_server_is_failed_after_restart_and_leaves_nothing(
    server: Server, tmp_path: Path
):
    video = demo_clip(tmp_path, frames=300)  # 30 s of the 19-face classroom, 300 frames analysed
    server.start()
    with open(video, "rb") as file:
        answer = httpx.post(
            f"{server.url}/api/jobs", timeout=60,
            data={"lesson": "Killed mid-job", "course": "9B", "date": "2026-12-01"},
            files={"file": ("class.mp4", file, "video/mp4")},
        )  # fmt: skip
    assert answer.status_code == 202, answer.text
    deadline = time.monotonic() + 120
    while not ((job := server.job())["state"] == "running" and job["done"] >= 10):
        assert job["state"] in ("queued", "running"), job
        assert time.monotonic() < deadline, f"the job did not get going: {job}"
        time.sleep(0.1)
    assert job["total"] == 300
    recordings = tmp_path / "jobs" / "recordings"
    (recording,) = recordings.iterdir()
    server.stop(signal.SIGKILL)  # no clean-up of any kind
    assert recording.exists()
    server.start()
    job = server.job()
    assert (job["state"], job["reason"]) == ("failed", INTERRUPTED)
    assert 1 <= job["done"] < 300 and job["lesson_id"] is None  # written about once a second
    assert list(recordings.iterdir()) == []
    assert [p.name for p in (tmp_path / "jobs" / "results").iterdir()] == []
    with LessonStore.open(tmp_path / "lessons.sqlite") as store:
        assert store.list_lessons() == []  # no part of the lesson
    page = httpx.get(f"{server.url}/jobs/1", timeout=10).text
    assert "Failed" in page and INTERRUPTED in page


def test_a_server_started_with_keep_results_deletes_older_results_and_keeps_lessons(
    server: Server, tmp_path: Path
):
    import datetime

    import sqlalchemy as sa

    video = demo_clip(tmp_path, frames=10)
    server.start()
    with open(video, "rb") as file:
        answer = httpx.post(f"{server.url}/api/jobs", data={"lesson": "Kept lesson"}, timeout=60,
                            files={"file": ("class.mp4", file, "video/mp4")})  # fmt: skip
    assert answer.status_code == 202, answer.text
    deadline = time.monotonic() + 120
    while (job := server.job())["state"] != "done":
        assert job["state"] in ("queued", "running") and time.monotonic() < deadline, job
        time.sleep(0.1)
    folder = tmp_path / "jobs" / "results" / "1"
    assert (folder / "annotated.mp4").is_file()
    server.stop()
    with LessonStore.open(tmp_path / "lessons.sqlite") as store, store.engine.begin() as db:
        ended = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=8)
        db.execute(sa.text("UPDATE jobs SET finished = :t"), {"t": ended.replace(tzinfo=None)})
    server.start("--keep-results", "7")
    deadline = time.monotonic() + 30  # the retention rule runs at once, beside the server
    while server.job()["state"] != "deleted":
        assert time.monotonic() < deadline, server.job()
        time.sleep(0.1)
    assert not folder.exists() and server.job()["lesson_id"] == 1
    with LessonStore.open(tmp_path / "lessons.sqlite") as store:
        assert [x.name for x in store.list_lessons()] == ["Kept lesson"]
