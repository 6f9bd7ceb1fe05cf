"""Peer comparison: the `fer` package (PyPI, Keras emotion CNN + Haar/MTCNN) on the same media.

Runs in a separate environment that has `fer` (it needs TensorFlow, so it is kept out of the
project's venv); prints one JSON line. Self-contained: it must not import aiducation.

    /tmp/fer_venv/bin/python benchmarks/bench_peer_fer.py --media ../shared/data/media
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent


def truth(media: Path) -> dict[Path, list[tuple]]:
    root = ET.parse(media / "pascal_voc_dlib" / "testing.xml").getroot()
    out = {
        media / "pascal_voc_dlib" / im.get("file"): [
            tuple(float(b.get(k)) for k in ("left", "top", "width", "height"))
            for b in im.iter("box")
        ]
        for im in root.iter("image")
    }
    with open(HERE / "media_faces.csv") as handle:
        for row in csv.DictReader(handle):
            out.setdefault(media / row["file"], []).append(
                tuple(float(row[k]) for k in ("x", "y", "w", "h"))
            )
    return out


def matched(pred: list, gt: list, threshold: float = 0.3) -> int:
    pairs = []
    for i, (px, py, pw, ph) in enumerate(pred):
        for j, (gx, gy, gw, gh) in enumerate(gt):
            iw = max(0.0, min(px + pw, gx + gw) - max(px, gx))
            ih = max(0.0, min(py + ph, gy + gh) - max(py, gy))
            union = pw * ph + gw * gh - iw * ih
            pairs.append((iw * ih / union if union else 0.0, i, j))
    used_p, used_g = set(), set()
    for iou, i, j in sorted(pairs, reverse=True):
        if iou >= threshold and i not in used_p and j not in used_g:
            used_p.add(i)
            used_g.add(j)
    return len(used_g)


def median_time(fn, repeats: int) -> tuple[float, object, float]:
    """Median wall seconds, the last result, and median CPU seconds (all threads)."""
    out = fn()
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return float(np.median(walls)), out, float(np.median(cpus))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--media", required=True)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import fer
    import tensorflow as tf
    from fer.fer import FER

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    cv2.setNumThreads(args.threads)
    media = Path(args.media)
    gt = truth(media)
    frame = cv2.resize(cv2.imread(str(media / "group_photo_3rows_19faces.jpg")), (640, 480))
    results = {"peer": f"fer {fer.__version__}", "tensorflow": tf.__version__, "variants": []}
    for min_face in (50, 20):  # 50 is fer's default
        detector = FER(mtcnn=False, min_face_size=min_face)
        faces = found = false_pos = 0
        ms, cpu_ms = [], []
        for path, boxes in gt.items():
            image = cv2.imread(str(path))
            seconds, out, cpu = median_time(lambda d=detector, im=image: d.detect_emotions(im), 2)
            hit = matched([tuple(f["box"]) for f in out], boxes)
            faces, found, false_pos = faces + len(boxes), found + hit, false_pos + len(out) - hit
            ms.append(seconds * 1000)
            cpu_ms.append(cpu * 1000)
        seconds, out, cpu = median_time(lambda d=detector: d.detect_emotions(frame), args.repeats)
        boxes = [tuple(f["box"]) for f in out] or [(0, 0, 48, 48)]
        crops_s, _, crops_cpu = median_time(
            lambda d=detector, b=boxes: d.detect_emotions(frame, face_rectangles=b * 10), 3
        )
        results["variants"].append(
            {
                "detector": f"fer Haar (min_face_size={min_face})",
                "faces": faces,
                "found": found,
                "recall": round(found / faces, 3),
                "false_positives": false_pos,
                "ms_per_image": round(float(np.mean(ms)), 1),
                "cpu_ms_per_image": round(float(np.mean(cpu_ms)), 1),
                "pipeline_faces_640x480": len(out),
                "pipeline_ms_640x480": round(seconds * 1000, 1),
                "pipeline_cpu_ms_640x480": round(cpu * 1000, 1),
                "classification_faces_per_s": round(len(boxes) * 10 / crops_s),
                "classification_faces_per_cpu_s": round(len(boxes) * 10 / crops_cpu),
            }
        )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
