"""Whole lessons through the web app's background job (issue 32): wall time, the server's
memory over time, and page loads while the job runs.

A lesson is made by looping media from ``../shared/data/media``: the walking-and-pausing clip
(3 people, played forwards then backwards, so no cut at the loop) under the 19-face group
photo, one 640×480 frame, written at 10 frames/s as H.264 (22 faces a frame, tracks that last
the whole lesson, as a class's do). Each length is uploaded to a fresh ``aiducation serve``
(a child process, ``--video-fps 2``) as a job; meanwhile the server's RSS is read from
``/proc`` every second and a few pages are loaded every few seconds.

    nice -n 5 .venv/bin/python benchmarks/bench_lesson_job.py --minutes 15 45
    nice -n 5 .venv/bin/python benchmarks/bench_lesson_job.py --upload-gb 2.1   # upload only

``--upload-gb`` streams a body of that size (a short clip and zero padding) to check that a
recording over 2 GB is accepted and stored without the server's memory growing; that job is
cancelled at once.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import httpx
import numpy as np
from _evaluation import shell

from aiducation.inference.outputs import VideoSink

MEDIA = Path(__file__).resolve().parents[2] / "shared" / "data" / "media"
PAGES = ("/jobs/{id}", "/api/jobs/{id}", "/jobs", "/analyze", "/lessons")


def lesson(path: Path, minutes: float, fps: float = 10.0) -> Path:
    """A ``minutes``-long 640×480 lesson at ``fps`` (made once, then reused)."""
    if path.is_file():
        return path
    photo = cv2.resize(cv2.imread(str(MEDIA / "group_photo_3rows_19faces.jpg")), (640, 300))
    clip = cv2.VideoCapture(str(MEDIA / "walking_pause_3faces.mp4"))
    frames = []
    while (frame := clip.read()[1]) is not None:
        frames.append(cv2.resize(frame, (320, 180)))
    clip.release()
    loop = frames + frames[-2:0:-1]  # forwards, then backwards: no cut where it repeats
    step = 12.5 / fps  # the clip's rate to ours
    partial = path.with_suffix(".partial.mp4")
    with VideoSink(partial, fps) as sink:
        for i in range(round(minutes * 60 * fps)):
            image = np.full((480, 640, 3), 60, np.uint8)
            image[:300] = photo
            image[300:480, 160:480] = loop[int(i * step) % len(loop)]
            sink.write(image)
    partial.rename(path)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Server:
    """``aiducation serve`` as a child process with its own database and jobs folder."""

    def __init__(self, folder: Path, threads: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [
            sys.executable, "-m", "aiducation", "serve", "--port", str(self.port),
            "--database", str(folder / "lessons.sqlite"), "--jobs-dir", str(folder / "jobs"),
            "--video-fps", "2", "--threads", str(threads),
        ]  # fmt: skip
        env = {**os.environ, "AIDUCATION_DATA_DIR": str(folder / "data")}
        self.log = open(folder / "server.log", "wb")  # noqa: SIM115 (the child's log)
        self.process = subprocess.Popen(command, env=env, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 120
        while True:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit((folder / "server.log").read_text())
            try:
                if httpx.get(f"{self.url}/jobs", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=120)
        self.log.close()


def upload(url: str, path: Path, lesson_name: str) -> tuple[int, float]:
    start = time.perf_counter()
    with open(path, "rb") as file:
        answer = httpx.post(f"{url}/api/jobs", timeout=3600, data={"lesson": lesson_name,
                            "course": "Benchmark", "date": "2026-12-04"},
                            files={"file": (path.name, file, "video/mp4")})  # fmt: skip
    answer.raise_for_status()
    return answer.json()["id"], time.perf_counter() - start


class Watch(threading.Thread):
    """The server's RSS every second; page loads every ``every`` seconds."""

    def __init__(self, server: Server, job_id: int, every: float = 5.0) -> None:
        super().__init__(daemon=True)
        self.server, self.job_id, self.every = server, job_id, every
        self.rss: list[tuple[float, float]] = []  # (s since start, MiB)
        self.loads: dict[str, list[float]] = {page: [] for page in PAGES}
        self.done = threading.Event()

    def run(self) -> None:
        start = next_pages = time.monotonic()
        with httpx.Client(timeout=30) as client:
            while not self.done.is_set():
                now = time.monotonic()
                self.rss.append((now - start, rss_mib(self.server.process.pid)))
                if now >= next_pages:
                    for page in PAGES:
                        t = time.perf_counter()
                        client.get(self.server.url + page.format(id=self.job_id))
                        self.loads[page].append(1000 * (time.perf_counter() - t))
                    next_pages = now + self.every
                self.done.wait(1.0)


def run_lesson(minutes: float, folder: Path, threads: int) -> dict:
    video = lesson(folder.parent / f"lesson_{minutes:g}min.mp4", minutes)
    work = Path(tempfile.mkdtemp(dir=folder))
    server = Server(work, threads)
    try:
        idle = rss_mib(server.process.pid)
        job_id, upload_s = upload(server.url, video, f"{minutes:g}-minute lesson")
        watch = Watch(server, job_id)
        watch.start()
        start = time.monotonic()
        while (job := httpx.get(f"{server.url}/api/jobs/{job_id}", timeout=30).json())["state"] in (
            "queued",
            "running",
        ):
            time.sleep(1.0)
        wall = time.monotonic() - start
        watch.done.set()
        watch.join()
        if job["state"] != "done":
            raise SystemExit(f"job {job_id}: {job['state']}: {job['reason']}")
    finally:
        server.stop()
    rss = [m for _, m in watch.rss]
    half = len(rss) // 2
    loads = [ms for page in PAGES for ms in watch.loads[page]]
    summary = job["result"]["summary"]
    return {
        "minutes": minutes,
        "file_mib": round(video.stat().st_size / 2**20, 1),
        "upload_s": round(upload_s, 1),
        "wall_s": round(wall, 1),
        "job_s": job["result"]["seconds"],
        "frames": summary["frames"],
        "frames_per_s": round(summary["frames"] / job["result"]["seconds"], 1),
        "faces_seen": summary["faces_seen"],
        "students": summary["students"],
        "rss_idle_mib": round(idle, 1),
        "rss_peak_mib": round(max(rss), 1),
        "rss_first_half_peak_mib": round(max(rss[:half]), 1),
        "rss_second_half_peak_mib": round(max(rss[half:]), 1),
        "page_loads": len(loads),
        "page_ms_median": round(statistics.median(loads), 1),
        "page_ms_p95": round(float(np.percentile(loads, 95)), 1),
        "page_ms_max": round(max(loads), 1),
        "page_ms_max_by_page": {page: round(max(v), 1) for page, v in watch.loads.items()},
        "rss_trace": [(round(t), round(m)) for t, m in watch.rss[:: max(1, len(rss) // 40)]],
    }


def big_upload(gigabytes: float, folder: Path, threads: int) -> dict:
    """Stream a body of ``gigabytes`` GB (a real clip, then zeros) and cancel its job."""
    clip = (MEDIA / "walking_pause_3faces.mp4").read_bytes()
    boundary, piece = "benchmarkboundary", b"\0" * 2**20
    padding = int(gigabytes * 1e9) - len(clip)

    def body():
        yield (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
               'filename="big.mp4"\r\nContent-Type: video/mp4\r\n\r\n').encode() + clip  # fmt: skip
        for _ in range(padding // len(piece)):
            yield piece
        yield piece[: padding % len(piece)] + f"\r\n--{boundary}--\r\n".encode()

    server = Server(Path(tempfile.mkdtemp(dir=folder)), threads)
    peak, stop = [rss_mib(server.process.pid)], threading.Event()

    def sample() -> None:
        while not stop.wait(0.5):
            peak.append(rss_mib(server.process.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        start = time.perf_counter()
        headers = {"content-type": f"multipart/form-data; boundary={boundary}"}
        answer = httpx.post(f"{server.url}/api/jobs", content=body(), headers=headers,
                            timeout=3600)  # fmt: skip
        seconds = time.perf_counter() - start
        answer.raise_for_status()
        stop.set()
        job_id = answer.json()["id"]
        recordings = Path(server.process.args[server.process.args.index("--jobs-dir") + 1])
        stored = sum(p.stat().st_size for p in (recordings / "recordings").iterdir())
        httpx.post(f"{server.url}/api/jobs/{job_id}/cancel", timeout=60)
    finally:
        server.stop()
    return {"body_gb": round((padding + len(clip)) / 1e9, 3), "stored_bytes": stored,
            "upload_s": round(seconds, 1), "mb_per_s": round(padding / 1e6 / seconds),
            "rss_start_mib": round(peak[0], 1), "rss_peak_mib": round(max(peak), 1)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="*", default=[15, 45])
    parser.add_argument("--upload-gb", type=float, help="only the big-upload check")
    parser.add_argument("--folder", type=Path, default=Path("/tmp/bench_lesson_job"))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)
    work = args.folder / "runs"
    work.mkdir(exist_ok=True)
    print(json.dumps({"date": shell("date -u"), "commit": shell("git rev-parse --short HEAD"),
                      "uptime": shell("uptime"), "nice": os.nice(0)}))  # fmt: skip
    if args.upload_gb:
        print(json.dumps(big_upload(args.upload_gb, work, args.threads)))
    else:
        for minutes in args.minutes:
            print(json.dumps(run_lesson(minutes, work, args.threads)), flush=True)
    print(json.dumps({"uptime": shell("uptime")}))


if __name__ == "__main__":
    main()
