"""Latency of the web app (``aiducation serve``) against the Python API it wraps.

Times, in-process with FastAPI's test client (no network), the Analyse page for the bundled
demo photo (19 faces, 1024 px), the JSON API on a webcam-sized frame, and a 10 s video made
from the demo photo, next to ``Analyzer.analyze_frame`` on the same pixels; the difference is
the web layer (upload parsing, annotation, JPEG/base64, templates).

    .venv/bin/python benchmarks/bench_web.py [--model CKPT] [--repeats 5] [--threads 2]

Without a bundled model and without ``--model`` a random ``faceresnet_t`` checkpoint is used
(timings only; states are meaningless).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import torch
from fastapi.testclient import TestClient

from aiducation.inference.api import Analyzer
from aiducation.inference.preprocess import crop_faces
from aiducation.inference.runner import demo_image_path
from aiducation.models import create_model
from aiducation.models.checkpoint import bundled_model_dir, save_checkpoint
from aiducation.web.app import WebConfig, create_app


def timed(fn, repeats: int) -> tuple[float, float]:
    """(median wall s, median CPU s) over ``repeats`` calls after one warm-up call."""
    fn()
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def in_thread(fn, *args) -> None:
    """Run ``fn(*args)`` in a fresh thread, as the web app does, and wait for it."""
    thread = threading.Thread(target=fn, args=args)
    thread.start()
    thread.join()


def demo_video(path: Path, seconds: float = 10.0, fps: float = 25.0) -> Path:
    """The demo photo at 640 px, slowly panning, as an MP4."""
    image = cv2.imread(str(demo_image_path()))
    image = cv2.resize(image, (720, round(720 * image.shape[0] / image.shape[1])))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (640, 400))
    for i in range(int(seconds * fps)):
        x = int(40 + 40 * np.sin(i / 40))
        writer.write(image[40:440, x : x + 640])
    writer.release()
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="checkpoint (default: bundled, else a random one)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    with tempfile.TemporaryDirectory(prefix="bench_web_") as folder:
        bench(args, Path(folder))


def bench(args: argparse.Namespace, tmp: Path) -> None:
    model, note = args.model, ""
    if model is None and not (bundled_model_dir() / "model.json").is_file():
        torch.manual_seed(0)
        model = str(save_checkpoint(tmp / "random", create_model("faceresnet_t"),
                                    arch="faceresnet_t", arch_kwargs={},
                                    classes=["Angry", "Bored", "Focused", "Neutral"]))  # fmt: skip
        note = " (no bundled model: random faceresnet_t)"
    analyzer = Analyzer.load(model)
    client = TestClient(create_app(WebConfig(model=model, results=str(tmp)), analyzer=analyzer))
    photo = demo_image_path().read_bytes()
    image = cv2.imdecode(np.frombuffer(photo, np.uint8), cv2.IMREAD_COLOR)
    crops = crop_faces(image, [d.box for d in analyzer.detector.detect(image)])
    webcam = cv2.resize(image, (640, 480))
    webcam_jpeg = cv2.imencode(".jpg", webcam)[1].tobytes()
    video = demo_video(tmp / "lesson.mp4").read_bytes()

    def post(path: str, name: str, data: bytes, **form) -> None:
        response = client.post(path, files={"file": (name, data)}, data=form)
        assert response.status_code == 200, response.text[:300]

    rows = [
        ("API: analyze_frame, demo photo (19 faces)", lambda: analyzer.analyze_frame(image)),
        ("web: POST /analyze, demo photo", lambda: post("/analyze", "demo.jpg", photo)),
        ("web: POST /analyze, demo photo, blur",
         lambda: post("/analyze", "d.jpg", photo, blur="true")),
        ("web: POST /analyze, demo photo, aggregate only",
         lambda: post("/analyze", "d.jpg", photo, aggregate_only="true")),
        ("API: analyze_frame, 640×480 webcam frame", lambda: analyzer.analyze_frame(webcam)),
        ("web: POST /api/analyze, 640×480 webcam frame",
         lambda: post("/api/analyze", "cam.jpg", webcam_jpeg)),
        ("web: POST /analyze, 10 s 640×400 video at 2 fps (20 frames)",
         lambda: post("/analyze", "lesson.mp4", video)),
        ("web: GET /analyze (page)", lambda: client.get("/analyze")),
        ("API again (order check), demo photo", lambda: analyzer.analyze_frame(image)),
        ("API in a worker thread, demo photo", lambda: in_thread(analyzer.analyze_frame, image)),
        ("API: classify the demo photo's crops (main thread)",
         lambda: analyzer.classifier.predict_proba(crops)),
        ("API: classify the demo photo's crops (worker thread)",
         lambda: in_thread(analyzer.classifier.predict, crops)),
    ]  # fmt: skip
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
          f"{torch.get_num_threads()} torch threads, model {model or 'bundled'}{note}")  # fmt: skip
    print("\n| request | median wall s | median CPU s |\n|---|---|---|")
    for name, fn in rows:
        wall, cpu = timed(fn, args.repeats)
        print(f"| {name} | {wall:.3f} | {cpu:.3f} |")


if __name__ == "__main__":
    main()
