"""Speed and detection benchmarks of ``aiducation analyze`` (results for docs/benchmarks.md).

1. Detector comparison on the real media with ground truth (dlib's testing.xml boxes for the
   five PASCAL VOC photos + boxes checked by eye in benchmarks/media_faces.csv): recall,
   false positives, ms per image and ms per 640×480 frame.
2. Classification throughput: 48×48 crops per second in batches.
3. Full pipeline (detect → crop → classify) on a 640×480 frame holding ~20 faces, in frames/s.
4. Optionally a peer library (``--peer-python``: a Python with the ``fer`` package installed,
   run through benchmarks/bench_peer_fer.py) on the same images.

    .venv/bin/python benchmarks/bench_analyze.py --out benchmarks/results/analyze \
        [--model RUN_OR_CHECKPOINT] [--peer-python /tmp/fer_venv/bin/python]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import torch
from _evaluation import DetectionCounts, match_boxes, read_dlib_boxes

from aiducation.atomic import write_json, write_text
from aiducation.inference.api import Analyzer, read_image
from aiducation.inference.classifier import FaceClassifier, fuse_for_inference
from aiducation.inference.detectors import create_detector
from aiducation.inference.outputs import write_table
from aiducation.models import DEFAULT_MODEL, create_model
from aiducation.tables import markdown_table

HERE = Path(__file__).resolve().parent
DEFAULT_MEDIA = HERE.parent.parent / "shared" / "data" / "media"
FRAME_SIZE = (640, 480)
DETECTORS = {  # label → (registry name, kwargs)
    "yunet@0.6 + shape check (default)": ("yunet", {"score_threshold": 0.6}),
    "yunet@0.6, no shape check": ("yunet", {"score_threshold": 0.6, "shape_check": None}),
    "yunet@0.7, no shape check": ("yunet", {"score_threshold": 0.7, "shape_check": None}),
    "yunet@0.9": ("yunet", {"score_threshold": 0.9}),
    "haar": ("haar", {}),
}


@dataclass
class BenchConfig:
    media: str = str(DEFAULT_MEDIA)
    model: str | None = None  # None: the bundled model if present, else random-weight `arch`
    arch: str = DEFAULT_MODEL  # architecture timed when there is no checkpoint (speed only)
    threads: int = 2  # torch and OpenCV threads
    repeats: int = 5  # timing repeats per image (best-of / mean reported below)
    batch_size: int = 128  # classification batch (the classifier default)
    n_crops: int = 4096  # crops classified for the throughput number
    iou_threshold: float = 0.3  # detection ↔ ground-truth match


def ground_truth(media: Path) -> dict[Path, list[tuple]]:
    """Image path → true face boxes (x, y, w, h)."""
    truth = {
        media / "pascal_voc_dlib" / name: boxes
        for name, boxes in read_dlib_boxes(media / "pascal_voc_dlib" / "testing.xml").items()
    }
    for name, rows in pd.read_csv(HERE / "media_faces.csv").groupby("file"):
        truth[media / name] = [tuple(r) for r in rows[["x", "y", "w", "h"]].to_numpy(float)]
    return truth


@dataclass
class Timing:
    """Median wall-clock and CPU (all threads) seconds of one call."""

    wall: float
    cpu: float


def timed(fn, repeats: int) -> tuple[Timing, object]:
    """Median timing of ``repeats`` calls (after one warm-up) and the last result.

    CPU time is reported beside wall time because benchmarks often share the machine:
    on a quiet machine the wall time lies between CPU time / threads and CPU time.
    """
    out = fn()
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return Timing(float(np.median(walls)), float(np.median(cpus))), out


def test_frame(media: Path) -> np.ndarray:
    """The 19-face group photo resized to 640×480 (about 20 faces in one VGA frame)."""
    return cv2.resize(read_image(media / "group_photo_3rows_19faces.jpg"), FRAME_SIZE)


def compare_detectors(config: BenchConfig, truth: dict, frame: np.ndarray) -> list[dict]:
    rows = []
    for label, (name, kwargs) in DETECTORS.items():
        detector = create_detector(name, **kwargs)
        total, timings = DetectionCounts(0, 0, 0), []
        for path, boxes in truth.items():
            image = read_image(path)
            timing, found = timed(lambda d=detector, im=image: d.detect(im), config.repeats)
            total += match_boxes([d.box for d in found], boxes, config.iou_threshold)
            timings.append(timing)
        vga, _ = timed(lambda d=detector: d.detect(frame), config.repeats)
        rows.append(
            {
                "detector": label,
                "images": len(truth),
                "faces": total.faces,
                "found": total.true_positives,
                "recall": round(total.true_positives / total.faces, 3),
                "false_positives": total.false_positives,
                "ms_per_image": round(1000 * float(np.mean([t.wall for t in timings])), 1),
                "cpu_ms_per_image": round(1000 * float(np.mean([t.cpu for t in timings])), 1),
                "ms_per_640x480": round(vga.wall * 1000, 1),
                "cpu_ms_per_640x480": round(vga.cpu * 1000, 1),
            }
        )
        print(rows[-1], flush=True)
    return rows


def classifier(config: BenchConfig) -> tuple[FaceClassifier, str]:
    if config.model is not None or _bundled_exists():
        loaded = FaceClassifier.load(config.model, config.batch_size)
        return loaded, str(config.model or "bundled")
    model = fuse_for_inference(create_model(config.arch).eval())
    classes = ["Angry", "Bored", "Focused", "Neutral"]
    return FaceClassifier(model, classes, config.batch_size), f"{config.arch} (random weights)"


def _bundled_exists() -> bool:
    from aiducation.models.checkpoint import bundled_model_dir

    return (bundled_model_dir() / "model.json").is_file()


def classification_speed(config: BenchConfig, clf: FaceClassifier) -> dict:
    crops = np.random.default_rng(0).integers(0, 256, (config.n_crops, 48, 48), dtype=np.uint8)
    big, _ = timed(lambda: clf.predict_proba(crops), max(1, config.repeats // 2))
    small, _ = timed(lambda: clf.predict_proba(crops[:20]), config.repeats * 4)
    return {
        "crops": config.n_crops,
        "batch_size": config.batch_size,
        "crops_per_s": round(config.n_crops / big.wall),
        "crops_per_cpu_s": round(config.n_crops / big.cpu),
        "ms_per_batch_of_20": round(small.wall * 1000, 2),
        "cpu_ms_per_batch_of_20": round(small.cpu * 1000, 2),
    }


def pipeline_speed(config: BenchConfig, clf: FaceClassifier, frame: np.ndarray) -> dict:
    analyzer = Analyzer(create_detector("yunet"), clf)
    timing, (result, _) = timed(lambda: analyzer.analyze_frame(frame), config.repeats * 4)
    return {
        "detector": "yunet@0.6",
        "frame": f"{FRAME_SIZE[0]}x{FRAME_SIZE[1]}",
        "faces": len(result.faces),
        "ms_per_frame": round(timing.wall * 1000, 1),
        "cpu_ms_per_frame": round(timing.cpu * 1000, 1),
        "frames_per_s": round(1 / timing.wall, 1),
        "frames_per_cpu_s": round(1 / timing.cpu, 1),
    }


def run_peer(python: str, config: BenchConfig) -> dict:
    """Run bench_peer_fer.py with another interpreter; its JSON result, or the failure."""
    command = [python, str(HERE / "bench_peer_fer.py"), "--media", config.media]
    command += ["--repeats", str(config.repeats), "--threads", str(config.threads)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=1200)
    if done.returncode != 0:
        return {"peer": "fer", "error": done.stderr.strip().splitlines()[-5:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(HERE / "results" / "analyze"))
    parser.add_argument("--media", default=BenchConfig.media)
    parser.add_argument("--model")
    parser.add_argument("--arch", default=DEFAULT_MODEL, help="timed if no --model/bundled")
    parser.add_argument("--skip-detectors", action="store_true")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--peer-python", help="Python interpreter with the `fer` package")
    args = parser.parse_args()
    config = BenchConfig(args.media, args.model, args.arch, args.threads, args.repeats)
    torch.set_num_threads(config.threads)
    cv2.setNumThreads(config.threads)
    media = Path(config.media)
    if not (media / "pascal_voc_dlib" / "testing.xml").is_file():
        sys.exit(f"media not found at {media}")
    truth, frame = ground_truth(media), test_frame(media)
    clf, model_name = classifier(config)
    results = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {platform.processor() or ''} cpus={_cpus()}".strip(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "opencv": cv2.__version__,
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "load_average_at_start": os.getloadavg()[0],
        "model": model_name,
        "config": asdict(config),
        "detectors": [] if args.skip_detectors else compare_detectors(config, truth, frame),
        "classification": classification_speed(config, clf),
        "pipeline": pipeline_speed(config, clf, frame),
    }
    print(results["classification"], results["pipeline"], flush=True)
    if args.peer_python:
        results["peer"] = run_peer(args.peer_python, config)
        print(results["peer"], flush=True)
    out = Path(args.out)
    if results["detectors"]:
        write_table(out / "detectors.csv", results["detectors"])
        write_text(out / "detectors.md", markdown_table(pd.DataFrame(results["detectors"])))
    results["load_average_at_end"] = os.getloadavg()[0]
    write_json(out / "results.json", results)
    print(f"written to {out}/")


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


if __name__ == "__main__":
    main()
