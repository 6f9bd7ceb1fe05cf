"""Thread-count defaults, measured: each task in a fresh process with 1 and 2 threads,
alternated back to back, so that a busy machine affects both counts alike.

Tasks: ``analyze`` of a real clip (whole command: detection, classification, tracking,
annotated video), training steps of the default model (random 48×48 batches of 64), and the
web app's analysis of the demo photo in a worker thread (as ``serve`` runs it) and in the
main thread. Reports the median wall seconds per task and thread count, and the load average.

    .venv/bin/python benchmarks/bench_threads.py [--repeats 2] [--media ../shared/data/media]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CHILD = r"""
import json, sys, threading, time
import cv2, numpy as np, torch
task, threads, arg = sys.argv[1], int(sys.argv[2]), sys.argv[3]
torch.set_num_threads(threads); cv2.setNumThreads(threads)
if task == "train":
    from aiducation.models import DEFAULT_MODEL, create_model
    model = create_model(DEFAULT_MODEL).to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    x = torch.rand(64, 1, 48, 48).to(memory_format=torch.channels_last)
    y = torch.randint(0, 4, (64,))
    def step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x)[:, :4], y).backward()
        opt.step()
    step(); start = time.perf_counter()
    for _ in range(int(arg)): step()
    print(json.dumps((time.perf_counter() - start) / int(arg)))
else:
    from aiducation.inference.api import Analyzer
    from aiducation.inference.runner import demo_image_path
    from aiducation.inference.images import read_image
    analyzer, image = Analyzer.load(), read_image(demo_image_path())
    def work(out):
        analyzer.analyze_frame(image); start = time.perf_counter()
        for _ in range(int(arg)): analyzer.analyze_frame(image)
        out.append((time.perf_counter() - start) / int(arg))
    out = []
    if task == "web-worker":
        t = threading.Thread(target=work, args=(out,)); t.start(); t.join()
    else:
        work(out)
    print(json.dumps(out[0]))
"""


def run_child(task: str, threads: int, arg: str) -> float:
    done = subprocess.run([sys.executable, "-c", CHILD, task, str(threads), arg],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_analyze(video: Path, threads: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        command = [str(Path(sys.executable).with_name("aiducation")), "analyze", str(video),
                   "--out", f"{tmp}/out", "--no-progress", "--threads", str(threads)]  # fmt: skip
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", default=str(HERE.parent.parent / "shared" / "data" / "media"))
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--video", default="walking_pause_3faces.mp4")
    args = parser.parse_args()
    tasks = {
        f"analyze {args.video} (whole command, s)": lambda n: run_analyze(
            Path(args.media) / args.video, n
        ),
        "train step, faceresnet_s, batch 64 (s)": lambda n: run_child("train", n, "8"),
        "web: demo photo in a worker thread (s)": lambda n: run_child("web-worker", n, "10"),
        "API: demo photo in the main thread (s)": lambda n: run_child("web-main", n, "10"),
    }
    load = [os.getloadavg()[0]]
    rows = []
    for name, task in tasks.items():
        times: dict[int, list[float]] = {1: [], 2: []}
        for _ in range(args.repeats):
            for threads in (1, 2):
                times[threads].append(task(threads))
        one, two = (float(np.median(times[n])) for n in (1, 2))
        rows.append({"task": name, "1 thread": round(one, 3), "2 threads": round(two, 3),
                     "2 / 1": round(two / one, 2), "runs": times})  # fmt: skip
        print(rows[-1], flush=True)
        load.append(os.getloadavg()[0])
    print(f"load average during the runs: {min(load):.2f}–{max(load):.2f}")


if __name__ == "__main__":
    main()
