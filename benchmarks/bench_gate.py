"""Choosing the face-quality gate's thresholds on measurements (issue 31, part 2).

(a) The bundled classifier on the held-out FER+ **test** faces (labelled; four-state accuracy:
    the best of the four states against the label) under what classroom footage does to a
    face: downscaling to 8–40 px and back to 48 (as ``crop_face`` upscales a small face),
    Gaussian blur, JPEG at quality 20–60, lower contrast, a detector's wobble (small shifts,
    rotations, rescalings), and a random mix of them. For each condition: the quality features
    a 48×48 crop gives (the face's size before upscaling, its
    :func:`~aiducation.inference.quality.sharpness`) and the accuracy; thresholds where the
    accuracy falls more than 5 points below clean; a risk–coverage curve on the mix. Head pose
    is not in a FER+ crop's metadata: it is estimated by running YuNet on each clean test face
    upscaled ×3 and padded (found for ~90 % of them), which also gives a detector score.
(b) The real media (photos, and the two clips at 2 frames/s) through YuNet with landmarks: the
    share of faces each rule drops and why, for the FER+-derived and the chosen thresholds,
    with contact sheets of the faces dropped (look at them).
(c) The gate's own cost per face (quality of a 48×48 crop + landmarks, and ``check``).

    .venv/bin/python benchmarks/bench_gate.py --data /tmp/prepared --out /tmp/bench_gate

Writes ``conditions.csv``, ``risk_coverage.csv``/``.png``, ``media_faces.csv``,
``dropped_chosen.png``, ``dropped_derived.png``, ``all_faces.png`` and ``summary.json``
under ``--out`` and prints the Markdown tables of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import time
from dataclasses import asdict, replace
from pathlib import Path

import cv2
import matplotlib
import numpy as np
import pandas as pd
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from aiducation.data.dataset import load_prepared
from aiducation.inference.classifier import FaceClassifier
from aiducation.inference.detectors import Detection, create_detector
from aiducation.inference.images import read_image
from aiducation.inference.preprocess import CROP_SIZE, crop_faces
from aiducation.inference.quality import (
    FaceQuality,
    QualityGate,
    assess_faces,
    face_quality,
    sharpness,
)
from aiducation.inference.video import iter_frames, open_video, video_fps
from aiducation.tables import markdown_table

HERE = Path(__file__).resolve().parent
DEFAULT_MEDIA = HERE.parent.parent / "shared" / "data" / "media"
SIZES = (8, 10, 12, 14, 16, 18, 20, 24, 28, 32, 40)
BLURS = (0.5, 0.75, 1.0, 1.5, 2.0, 3.0)  # Gaussian sigma in pixels of the 48×48 crop
JPEGS = (20, 30, 40, 60)
CONTRASTS = (0.5, 0.3, 0.2, 0.1)  # deviations from the face's mean grey level scaled by this
DROP = 0.05  # accuracy may fall this far below clean before a feature value counts as bad
SHARPNESS_GRID = (0, 10, 20, 25, 30, 40, 60, 100, 150, 200, 300)


# --- degradations of (N, 48, 48) uint8 faces -------------------------------------------------


def downscale(faces: np.ndarray, side: int, jpeg_quality: int | None = None) -> np.ndarray:
    """Each face shrunk to ``side`` px (area), JPEG-compressed at that size when
    ``jpeg_quality`` is given, and brought back to 48 px (linear, as ``crop_face`` does)."""
    out = np.empty_like(faces)
    for i, face in enumerate(faces):
        small = cv2.resize(face, (side, side), interpolation=cv2.INTER_AREA)
        if jpeg_quality is not None:
            small = jpeg_one(small, jpeg_quality)
        out[i] = cv2.resize(small, (CROP_SIZE, CROP_SIZE), interpolation=cv2.INTER_LINEAR)
    return out


def jpeg_one(face: np.ndarray, quality: int) -> np.ndarray:
    _, data = cv2.imencode(".jpg", face, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)


def blur(faces: np.ndarray, sigma: float) -> np.ndarray:
    return np.stack([cv2.GaussianBlur(f, (0, 0), sigma) for f in faces])


def contrast(faces: np.ndarray, factor: float) -> np.ndarray:
    """Each face's deviations from its own mean grey level scaled by ``factor``."""
    f = faces.astype(np.float32)
    mean = f.mean(axis=(1, 2), keepdims=True)
    return np.clip(mean + (f - mean) * factor, 0, 255).round().astype(np.uint8)


def wobble(faces: np.ndarray, rng: np.random.Generator, shift=3.0, angle=8.0, scale=0.08):
    """A detector's frame-to-frame wobble: shift (px of the 48 crop), rotation (°) and
    rescaling drawn uniformly within ± the given amounts, edges repeated."""
    out = np.empty_like(faces)
    centre = (CROP_SIZE / 2 - 0.5, CROP_SIZE / 2 - 0.5)
    for i, face in enumerate(faces):
        m = cv2.getRotationMatrix2D(
            centre, rng.uniform(-angle, angle), 1 + rng.uniform(-scale, scale)
        )
        m[:, 2] += rng.uniform(-shift, shift, 2)
        out[i] = cv2.warpAffine(
            face, m, (CROP_SIZE, CROP_SIZE), flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )  # fmt: skip
    return out


def realistic_mix(faces: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Each face once, degraded as a classroom frame might: wobble always; a size drawn
    log-uniformly in 10–96 px (≥ 48: no downscale); at that size a Gaussian blur (σ 0.5–2.5
    px of a 48 px face) for 30 % of faces, JPEG quality 20–60 for 50 %; lower contrast
    (×0.2–1) for 30 %. Returns the faces and their sizes (the square crop's side)."""
    out = np.empty_like(faces)
    sizes = np.exp(rng.uniform(math.log(10), math.log(96), len(faces))).round().astype(int)
    wobbled = wobble(faces, rng)
    for i, face in enumerate(wobbled):
        if rng.random() < 0.3:
            face = contrast(face[None], rng.uniform(0.2, 1.0))[0]
        side = int(min(sizes[i], CROP_SIZE))
        small = cv2.resize(face, (side, side), interpolation=cv2.INTER_AREA)
        if rng.random() < 0.3:
            small = cv2.GaussianBlur(small, (0, 0), rng.uniform(0.5, 2.5) * side / CROP_SIZE)
        if rng.random() < 0.5:
            small = jpeg_one(small, int(rng.integers(20, 61)))
        out[i] = cv2.resize(small, (CROP_SIZE, CROP_SIZE), interpolation=cv2.INTER_LINEAR)
    return out, sizes


# --- (a) FER+ test faces --------------------------------------------------------------------


def predict(classifier: FaceClassifier, faces: np.ndarray, labels: np.ndarray):
    """Per face: whether the best of the four states is the label; and the probabilities."""
    probs = classifier.predict_proba(faces)
    return probs[:, :4].argmax(axis=1) == labels, probs


def conditions(faces: np.ndarray, rng: np.random.Generator) -> dict[str, tuple[np.ndarray, int]]:
    """Degraded copies of ``faces`` by name, with the face size (px) before upscaling."""
    out: dict[str, tuple[np.ndarray, int]] = {"clean": (faces, CROP_SIZE)}
    for side in SIZES:
        out[f"downscale {side} px"] = (downscale(faces, side), side)
    for sigma in BLURS:
        out[f"blur σ {sigma}"] = (blur(faces, sigma), CROP_SIZE)
    for q in JPEGS:
        out[f"JPEG q{q}"] = (np.stack([jpeg_one(f, q) for f in faces]), CROP_SIZE)
    for factor in CONTRASTS:
        out[f"contrast ×{factor}"] = (contrast(faces, factor), CROP_SIZE)
    out["wobble ±3 px ±8° ±8 %"] = (wobble(faces, rng), CROP_SIZE)
    for side in (32, 24):
        out[f"downscale {side} px + JPEG q40"] = (downscale(faces, side, 40), side)
    return out


def condition_table(classifier, faces, labels, rng) -> pd.DataFrame:
    """One row per degradation: size before upscaling, sharpness quartiles, accuracy."""
    rows = []
    for name, (degraded, side) in conditions(faces, rng).items():
        correct, _ = predict(classifier, degraded, labels)
        q25, q50, q75 = np.percentile([sharpness(f) for f in degraded], [25, 50, 75])
        rows.append({
            "condition": name, "size px": side, "sharpness q25": round(q25),
            "sharpness median": round(q50), "sharpness q75": round(q75),
            "accuracy": round(float(correct.mean()), 4),
        })  # fmt: skip
    table = pd.DataFrame(rows)
    table["vs clean (points)"] = ((table["accuracy"] - table["accuracy"].iloc[0]) * 100).round(1)
    return table


def crossing(table: pd.DataFrame, pattern: str, column: str, clean: float) -> float:
    """The value of ``column`` (size or sharpness: larger is milder) at which the conditions
    matching ``pattern`` fall more than DROP below the ``clean`` accuracy, linearly
    interpolated between the last condition above and the first below (starting from clean)."""
    series = table[table["condition"].str.fullmatch(pattern)].sort_values(column, ascending=False)
    value, acc = float(table[column].iloc[0]), clean
    for v, a in zip(series[column].astype(float), series["accuracy"].astype(float), strict=True):
        if a < clean - DROP:
            return value + (acc - (clean - DROP)) / (acc - a) * (v - value)
        value, acc = v, a
    return value


def yunet_on_crops(faces: np.ndarray, factor: int = 3) -> list[Detection | None]:
    """YuNet on each 48×48 face upscaled ``factor``× (cubic) and padded by 48 px (edges
    repeated); the best detection in 48×48-crop coordinates, or None."""
    detector = create_detector("yunet")
    found: list[Detection | None] = []
    side, pad = CROP_SIZE * factor, 48
    for face in faces:
        big = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC)
        big = cv2.copyMakeBorder(big, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        detections = detector.detect(big)
        if not detections:
            found.append(None)
            continue
        best = max(detections, key=lambda d: d.score)
        points = tuple(((x - pad) / factor, (y - pad) / factor) for x, y in best.landmarks)
        x, y, w, h = best.box
        box = ((x - pad) / factor, (y - pad) / factor, w / factor, h / factor)
        found.append(replace(best, box=box, landmarks=points))
    return found


def binned(values: np.ndarray, correct: np.ndarray, edges: list[float], name: str) -> pd.DataFrame:
    rows = []
    for lo, hi in itertools.pairwise(edges):
        inside = (values >= lo) & (values < hi)
        rows.append({
            name: f"{lo:g}–{hi:g}", "faces": int(inside.sum()),
            "accuracy": round(float(correct[inside].mean()), 4) if inside.any() else None,
        })  # fmt: skip
    return pd.DataFrame(rows)


def risk_coverage(key: np.ndarray, correct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coverage and accuracy of the kept faces when faces are kept in order of ``key``
    (larger first)."""
    order = np.argsort(-key, kind="stable")
    kept = np.arange(1, len(order) + 1)
    return kept / len(order), np.cumsum(correct[order]) / kept


def gate_point(gate: QualityGate, qualities: list[FaceQuality], correct: np.ndarray) -> dict:
    keep = np.array([gate.check(q) is None for q in qualities])
    return {
        "coverage": round(float(keep.mean()), 4),
        "accuracy kept": round(float(correct[keep].mean()), 4),
        "accuracy dropped": round(float(correct[~keep].mean()), 4) if (~keep).any() else None,
    }


# --- (b) real media -------------------------------------------------------------------------


def media_frames(media: Path, fps: float):
    """``(source, frame index, BGR frame)`` of every photo and of the clips at ``fps``."""
    for path in sorted(media.rglob("*")):
        if path.suffix.lower() in {".jpg", ".jpeg", ".png"}:
            yield path.relative_to(media).as_posix(), 0, read_image(path)
        elif path.suffix.lower() == ".mp4":
            capture = open_video(path)
            rate = video_fps(capture)
            for index, _, frame in iter_frames(capture, step=max(1, round(rate / fps)), fps=rate):
                yield path.name, index, frame
            capture.release()


def media_faces(classifier: FaceClassifier, media: Path, fps: float):
    """One row per YuNet face of the real media (quality, answer), its quality and a colour
    thumbnail."""
    detector = create_detector("yunet")
    rows, qualities, thumbs = [], [], []
    for source, index, frame in media_frames(media, fps):
        detections = detector.detect(frame)
        crops = crop_faces(frame, [d.box for d in detections])
        found = assess_faces(frame, detections, crops)
        probs = classifier.predict_proba(crops) if len(crops) else np.zeros((0, 5))
        for d, c, q, p in zip(detections, crops, found, probs, strict=True):
            x, y, w, h = d.box
            rows.append({
                "source": source, "frame": index, "x": round(x), "y": round(y),
                "w": round(w), "h": round(h), **asdict(q), "in_scheme": float(1 - p[-1]),
                "best_state": classifier.classes[int(p[:4].argmax())],
            })  # fmt: skip
            qualities.append(q)
            thumbs.append(thumbnail(frame, d, c))
    return pd.DataFrame(rows), qualities, thumbs


def thumbnail(frame: np.ndarray, detection: Detection, crop: np.ndarray, side: int = 112):
    """The face's squared box grown by 15 % per side, ``side`` px, landmarks drawn green, and
    beside it the 48×48 crop the classifier sees, enlarged."""
    x, y, w, h = detection.box
    half = max(w, h) * 0.65
    x0, y0, n = round(x + w / 2 - half), round(y + h / 2 - half), max(1, round(2 * half))
    padded = cv2.copyMakeBorder(frame, n, n, n, n, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    patch = cv2.resize(padded[y0 + n : y0 + 2 * n, x0 + n : x0 + 2 * n], (side, side))
    for px, py in detection.landmarks or ():
        centre = (round((px - x0) * side / n), round((py - y0) * side / n))
        cv2.circle(patch, centre, 2, (0, 255, 0), -1)
    seen = cv2.resize(crop, (side, side), interpolation=cv2.INTER_NEAREST)
    return np.hstack([patch, cv2.cvtColor(seen, cv2.COLOR_GRAY2BGR)])


def contact_sheet(thumbs: list[np.ndarray], labels: list[list[str]], columns: int = 8):
    """Equal-sized thumbnails in a grid, each with up to three lines of text below it."""
    height, width = thumbs[0].shape[:2] if thumbs else (112, 112)
    cell = height + 40
    rows = max(1, math.ceil(len(thumbs) / columns))
    sheet = np.full((rows * cell, columns * width, 3), 255, np.uint8)
    for i, (thumb, lines) in enumerate(zip(thumbs, labels, strict=True)):
        r, c = divmod(i, columns)
        sheet[r * cell : r * cell + height, c * width : (c + 1) * width] = thumb
        for j, line in enumerate(lines[:3]):
            cv2.putText(sheet, line, (c * width + 2, r * cell + height + 11 + 12 * j),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 0, 0), 1, cv2.LINE_AA)  # fmt: skip
    return sheet


def face_lines(row: pd.Series, reason: str | None) -> list[str]:
    return [
        f"{reason or 'kept'} | {row.source.split('/')[-1][:16]} f{row.frame}",
        f"size {row['size']:.0f} sharp {row.sharpness:.0f} score {row.score:.2f}",
        f"yaw {row.yaw:.0f} pitch {row.pitch:.0f} roll {row.roll:.0f}",
    ]


def media_table(table: pd.DataFrame, reasons: list[str | None]) -> pd.DataFrame:
    frame = table.assign(reason=[r or "kept" for r in reasons])
    frame["medium"] = frame["source"].str.split("/").str[0].str.replace(r"\.\w+$", "", regex=True)
    counts = pd.crosstab(frame["medium"], frame["reason"], margins=True, margins_name="all")
    counts = counts.reindex(
        columns=["kept", "too small", "blurred", "turned away", "unsure", "all"]
    )
    counts = counts.fillna(0).astype(int)
    counts["dropped %"] = (100 * (1 - counts["kept"] / counts["all"])).round(1)
    return counts.rename_axis("medium").reset_index()


# --- (c) cost -------------------------------------------------------------------------------


def per_face_cost(repeats: int = 30) -> dict:
    """On the demo photo resized to 640×480 (19 faces): the whole pipeline's time per frame
    (``Analyzer.analyze_frame``: detect, crop, classify; median of ``repeats``) and the gate's
    (quality of every face from its detection and crop, then ``check``)."""
    from aiducation.inference.api import Analyzer
    from aiducation.inference.pipeline import demo_image_path

    frame = cv2.resize(read_image(demo_image_path()), (640, 480), interpolation=cv2.INTER_AREA)
    analyzer = Analyzer.load()
    detections = analyzer.detector.detect(frame)
    crops = crop_faces(frame, [d.box for d in detections])
    gate = QualityGate()
    pipeline, quality, check = [], [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        analyzer.analyze_frame(frame)
        t1 = time.perf_counter()
        qualities = [face_quality(d, c) for d, c in zip(detections, crops, strict=True)]
        t2 = time.perf_counter()
        for q in qualities:
            gate.check(q, 0.9)
        t3 = time.perf_counter()
        pipeline.append(t1 - t0)
        quality.append(t2 - t1)
        check.append(t3 - t2)
    n = len(detections)
    return {
        "faces": n,
        "pipeline ms/frame": round(1e3 * float(np.median(pipeline)), 2),
        "pipeline frames/s": round(1 / float(np.median(pipeline)), 1),
        "quality µs/face": round(1e6 * float(np.median(quality)) / n, 1),
        "check µs/face": round(1e6 * float(np.median(check)) / n, 2),
        "gate share of the frame %": round(
            100 * float(np.median(quality) + np.median(check)) / float(np.median(pipeline)), 2
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("/tmp/prepared"))
    parser.add_argument("--media", type=Path, default=DEFAULT_MEDIA)
    parser.add_argument("--out", type=Path, default=Path("/tmp/bench_gate"))
    parser.add_argument("--fps", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    classifier = FaceClassifier.load()
    started = time.perf_counter()
    summary: dict = {"chosen_gate": asdict(QualityGate())}

    # (b) first: the real media give the boxes' aspect ratio that turns a FER+ crop side into
    # the gate's "shorter side of the box"
    table, media_q, thumbs = media_faces(classifier, args.media, args.fps)
    table.to_csv(args.out / "media_faces.csv", index=False)
    aspect = float((table["w"] / table["h"]).median())
    summary["media_faces"] = len(table)
    summary["box_aspect_median"] = round(aspect, 3)

    # (a) FER+ test faces
    dataset = load_prepared(args.data)
    test = dataset.split_indices("test")
    faces, labels = np.ascontiguousarray(dataset.images[test]), dataset.labels[test]
    cond = condition_table(classifier, faces, labels, rng)
    cond.to_csv(args.out / "conditions.csv", index=False)
    clean = float(cond["accuracy"].iloc[0])
    summary |= {"fer_faces": len(faces), "fer_clean_accuracy": clean}
    print(f"\n### FER+ test, {len(faces)} labelled faces, clean accuracy {clean:.4f}\n")
    print(markdown_table(cond))

    size_crop = crossing(cond, r"downscale \d+ px", "size px", clean)
    derived = {
        "size (crop side px)": size_crop,
        "size (box shorter side px)": size_crop * aspect,
        "sharpness, downscale series": crossing(
            cond, r"downscale \d+ px", "sharpness median", clean
        ),
        "sharpness, blur series": crossing(cond, r"blur σ [\d.]+", "sharpness median", clean),
        "sharpness, contrast series": crossing(
            cond, r"contrast ×[\d.]+", "sharpness median", clean
        ),
    }
    derived = {k: round(v, 1) for k, v in derived.items()}
    summary["derived_5_points"] = derived
    print("\nWhere accuracy falls 5 points below clean:", json.dumps(derived, ensure_ascii=False))
    clean_sharp = np.array([sharpness(f) for f in faces])
    summary["fer_clean_sharpness_pct_1_5_50"] = np.percentile(clean_sharp, [1, 5, 50]).round(1)
    summary["fer_clean_sharpness_pct_1_5_50"] = summary["fer_clean_sharpness_pct_1_5_50"].tolist()

    # pose and detector score from YuNet on the clean faces
    found = yunet_on_crops(faces)
    correct, clean_probs = predict(classifier, faces, labels)
    has = np.array([d is not None for d in found])
    fer_q = [face_quality(d, f) for d, f in zip(found, faces, strict=True) if d is not None]
    yaw = np.array([q.yaw for q in fer_q])
    pitch = np.array([q.pitch for q in fer_q])
    score = np.array([q.score for q in fer_q])
    summary["fer_yunet_found"] = int(has.sum())
    summary["fer_yaw_share_beyond"] = {
        t: round(float((np.abs(yaw) > t).mean()), 4) for t in (30, 40, 45, 50, 60)
    }
    summary["fer_abs_pitch_pct_50_90_99_100"] = np.percentile(np.abs(pitch), [50, 90, 99, 100])
    summary["fer_abs_pitch_pct_50_90_99_100"] = (
        summary["fer_abs_pitch_pct_50_90_99_100"].round(1).tolist()
    )
    print(
        f"\nYuNet found {has.sum()} of {len(faces)} upscaled clean test faces (accuracy "
        f"{correct[has].mean():.4f}; the others {correct[~has].mean():.4f})"
    )
    for name, values, edges in (
        ("|yaw| °", np.abs(yaw), [0, 10, 20, 30, 40, 50, 60, 90.1]),
        ("|pitch| °", np.abs(pitch), [0, 10, 20, 30, 90.1]),
        ("detector score", score, [0.6, 0.7, 0.8, 0.9, 1.01]),
    ):
        print()
        print(markdown_table(binned(values, correct[has], edges, name)))

    # in-scheme probability on the clean faces ("unsure")
    in_scheme = 1 - clean_probs[:, -1]
    rows = []
    for t in (0.0, 0.48, 0.6, 0.7, 0.8, 0.9):
        keep = in_scheme >= t
        rows.append({"min in-scheme": t, "coverage": round(float(keep.mean()), 4),
                     "accuracy kept": round(float(correct[keep].mean()), 4)})  # fmt: skip
    print("\nClean labelled faces by in-scheme probability\n")
    print(markdown_table(pd.DataFrame(rows)))
    cov, acc = risk_coverage(clean_probs[:, :4].max(axis=1), correct)
    print("\nClean faces kept by classifier confidence: accuracy at coverage 0.9/0.8/0.5:",
          [round(float(acc[int(c * len(acc)) - 1]), 4) for c in (0.9, 0.8, 0.5)])  # fmt: skip

    # the chosen gate on the clean faces: pose where YuNet found the face, else none
    clean_q = [
        face_quality(d, f) if d is not None else FaceQuality(0.9, CROP_SIZE * aspect, 1e3)
        for d, f in zip(found, faces, strict=True)
    ]
    clean_q = [replace(q, size=CROP_SIZE * aspect) for q in clean_q]  # the upscaled box's size
    summary["clean_chosen_gate"] = gate_point(QualityGate(), clean_q, correct)
    reasons = pd.Series([QualityGate().check(q) or "kept" for q in clean_q])
    summary["clean_chosen_gate"]["reasons"] = reasons.value_counts().to_dict()
    for reason in ("turned away", "unsure"):
        summary["clean_chosen_gate"][f"accuracy {reason}"] = round(
            float(correct[(reasons == reason).to_numpy()].mean()), 4
        )
    print("\nChosen gate on the clean test faces (pose from YuNet where found):",
          summary["clean_chosen_gate"])  # fmt: skip

    # the realistic mix: risk–coverage
    mixed, sizes = realistic_mix(faces, rng)
    mix_correct, mix_probs = predict(classifier, mixed, labels)
    mix_sharp = np.array([sharpness(f) for f in mixed])
    mix_q = [
        FaceQuality(score=0.9, size=float(s * aspect), sharpness=float(h))
        for s, h in zip(sizes, mix_sharp, strict=True)
    ]
    summary["mix_accuracy"] = round(float(mix_correct.mean()), 4)
    gates = {
        "no gate": QualityGate(None, None, None, None, None, None),
        "FER+ 5-point size + sharpness": QualityGate(
            min_size=derived["size (box shorter side px)"],
            min_sharpness=derived["sharpness, blur series"],
        ),
        "chosen (defaults)": QualityGate(),
        "chosen size only": replace(QualityGate(), min_sharpness=None),
        "chosen sharpness only": replace(QualityGate(), min_size=None),
    }
    rows = []
    for name, g in gates.items():
        dropped = sum(g.check(q) is not None for q in media_q)
        rows.append({"gate": name, **gate_point(g, mix_q, mix_correct), "media dropped": dropped})
    for t in SHARPNESS_GRID[1:]:
        g = replace(QualityGate(), min_sharpness=float(t))
        blurred = sum(g.check(q) == "blurred" for q in media_q)
        rows.append({"gate": f"chosen, sharpness ≥ {t}", **gate_point(g, mix_q, mix_correct),
                     "media dropped": sum(g.check(q) is not None for q in media_q),
                     "media blurred": blurred})  # fmt: skip
    points = pd.DataFrame(rows)
    points["media blurred"] = points["media blurred"].astype("Int64")
    print(f"\nRealistic mix ({len(faces)} faces, accuracy {mix_correct.mean():.4f})\n")
    print(markdown_table(points))
    summary["mix_gates"] = json.loads(points.to_json(orient="records", force_ascii=False))

    confidence = mix_probs[:, :4].max(axis=1)
    curves = {
        "classifier confidence": risk_coverage(confidence, mix_correct),
        "sharpness": risk_coverage(mix_sharp, mix_correct),
        "size": risk_coverage(sizes + 1e-3 * mix_sharp / mix_sharp.max(), mix_correct),
    }
    grid = np.linspace(0.05, 1.0, 20)
    rc = pd.DataFrame({"coverage": grid.round(2)})
    for name, (_, acc) in curves.items():
        rc[name] = [round(float(acc[min(len(acc), round(g * len(acc))) - 1]), 4) for g in grid]
    rc.to_csv(args.out / "risk_coverage.csv", index=False)
    print("\nRisk–coverage on the mix (accuracy of the kept faces, kept best first by …)\n")
    print(markdown_table(rc.iloc[::2]))
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, (cov, acc) in curves.items():
        ax.plot(cov, acc, label=f"ordered by {name}")
    for _, row in points.iloc[:3].iterrows():
        ax.scatter(row["coverage"], row["accuracy kept"], zorder=3)
        ax.annotate(row["gate"], (row["coverage"], row["accuracy kept"]), fontsize=7)
    ax.set_xlabel("coverage (share of faces answered)")
    ax.set_ylabel("four-state accuracy of answered faces")
    ax.set_title("FER+ test faces, realistic degradation mix")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(args.out / "risk_coverage.png", dpi=120)

    # (b) the real media under both gates
    for name in ("FER+ 5-point size + sharpness", "chosen (defaults)"):
        reasons = [gates[name].check(q) for q in media_q]
        print(f"\nReal media, YuNet faces, gate: {name}\n")
        print(markdown_table(media_table(table, reasons)))
        dropped = [i for i, r in enumerate(reasons) if r]
        stem = "dropped_derived" if name.startswith("FER") else "dropped_chosen"
        if dropped:
            sheet = contact_sheet(
                [thumbs[i] for i in dropped],
                [face_lines(table.iloc[i], reasons[i]) for i in dropped],
                columns=5,
            )
            cv2.imwrite(str(args.out / f"{stem}.png"), sheet)
        summary[f"media_{stem}"] = len(dropped)
    order = np.argsort(table["sharpness"].to_numpy())
    reasons = [QualityGate().check(q) for q in media_q]
    sheet = contact_sheet(
        [thumbs[i] for i in order], [face_lines(table.iloc[i], reasons[i]) for i in order], 6
    )
    cv2.imwrite(str(args.out / "all_faces.png"), sheet)
    frontal = table[(table["yaw"].abs() <= 20) & (table["pitch"].abs() <= 20)]
    summary["media_frontal_yaw_pitch_median"] = [
        round(float(frontal["yaw"].median()), 1),
        round(float(frontal["pitch"].median()), 1),
    ]

    # (c) cost
    cost = per_face_cost()
    summary["cost"] = cost
    print("\nCost per face:", cost)
    summary["seconds"] = round(time.perf_counter() - started)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    print(json.dumps(summary, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
