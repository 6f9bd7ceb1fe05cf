"""Re-joining broken tracks (issue 31 §5): student counts and IDF1 before and after.

Long clips built from the real media, written to ``--tmp`` with ``cv2.VideoWriter``:

- ``photo60``: the bundled demo photo (19 people) resized to 640×480 and shifted by a random
  whole-pixel offset in ±2 px every frame, 60 s at 25 frames/s (true count 19). Ground truth:
  the 19 hand-made boxes of benchmarks/media_faces.csv, scaled and shifted the same way;
- ``photo60 hidden``: the same with four faces covered by a grey patch for 5, 10, 20 and 40 s
  (from 10 s on): a student who looks away, longer than the tracker waits (4 s);
- ``walk147``: ../shared/data/media/walking_pause_3faces.mp4 (3 people, 41 frames, 3.3 s)
  looped to 147 s (true count 3), and the same with the ±2 px jitter. Ground truth:
  benchmarks/face_tracks.csv repeated for every loop (and shifted);

and the real clips as they are (walking, and Hamilton with its three shot cuts) at ``fps=2``
and at every frame, scored on benchmarks/face_tracks.csv.

Each clip is analysed once with :func:`aiducation.inference.api.analyze_video` (its frames
carry smoothed answers), recording after each analysed frame the tracker's shot number
(``FaceTracker.shots``) and an appearance descriptor of each face's 48×48 crop. Then for each
setting of :class:`RejoinConfig`: students (``summarize_students``, default rules), track ids,
IDF1 and ID switches (motmetrics at IoU ≥ 0.5, as benchmarks/bench_tracking.py) and *wrong
joins* (pieces of two true people given one id; a track is the person its boxes overlap most
often), before and after re-joining. The default run shows the defaults, the defaults without
shot numbers (what the shot cuts prevent) and how well appearance would separate people;
``--grid`` sweeps gap × distance × size ratio.

    .venv/bin/python benchmarks/bench_rejoin.py [--grid] [--out runs/bench_rejoin]
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import math
import shlex
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import torch
from _evaluation import read_track_truth, shell, track_scores

from aiducation.atomic import write_text
from aiducation.inference.api import Analyzer, analyze_video
from aiducation.inference.pipeline import demo_image_path
from aiducation.inference.rejoin import RejoinConfig, rejoin_tracks
from aiducation.inference.results import FrameResult
from aiducation.inference.students import summarize_students
from aiducation.inference.tracking import FaceTracker, iou_matrix
from aiducation.inference.video import frame_step, open_video, video_fps
from aiducation.tables import markdown_table

HERE = Path(__file__).resolve().parent
MEDIA = HERE.parent.parent / "shared" / "data" / "media"
WALKING = "walking_pause_3faces.mp4"
HAMILTON = "speaker_and_audience_hamilton.mp4"
PHOTO_SIZE = (640, 480)
PHOTO_GT = "group_photo_3rows_19faces.jpg"  # the demo photo's boxes in media_faces.csv


# ----------------------------------------------------------------------------- the long clips


def jitter_offsets(n: int, pixels: int, seed: int) -> np.ndarray:
    """``(n, 2)`` whole-pixel offsets in ±``pixels`` (zeros when ``pixels`` is 0)."""
    if pixels <= 0:
        return np.zeros((n, 2), int)
    return np.random.default_rng(seed).integers(-pixels, pixels + 1, (n, 2))


def shifted(image: np.ndarray, offset: np.ndarray) -> np.ndarray:
    matrix = np.float32([[1, 0, offset[0]], [0, 1, offset[1]]])
    size = (image.shape[1], image.shape[0])
    return cv2.warpAffine(image, matrix, size, borderMode=cv2.BORDER_REPLICATE)


def write_video(path: Path, frames, fps: float, size: tuple[int, int]) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    if not writer.isOpened():
        raise SystemExit(f"cannot write {path}")
    try:
        for frame in frames:
            writer.write(frame)
    finally:
        writer.release()


HIDDEN = {2: (10.0, 15.0), 7: (10.0, 20.0), 12: (10.0, 30.0), 16: (10.0, 50.0)}  # face: s


def photo_clip(out: Path, seconds: float, fps: float, jitter: int, seed: int,
               hidden: dict[int, tuple[float, float]] | None = None) -> pd.DataFrame:  # fmt: skip
    """The demo photo at 640×480, jittered, as a video; its ground truth. ``hidden``: face
    (row of media_faces.csv) → (from, to) seconds during which a grey patch covers it."""
    photo = cv2.imread(str(demo_image_path()))
    height, width = photo.shape[:2]
    image = cv2.resize(photo, PHOTO_SIZE, interpolation=cv2.INTER_AREA)
    boxes = pd.read_csv(HERE / "media_faces.csv")
    boxes = boxes[boxes["file"] == PHOTO_GT].reset_index(drop=True)
    sx, sy = PHOTO_SIZE[0] / width, PHOTO_SIZE[1] / height
    scaled = [(b.x * sx, b.y * sy, b.w * sx, b.h * sy) for b in boxes.itertuples()]
    hidden = hidden or {}
    n = round(seconds * fps)
    offsets = jitter_offsets(n, jitter, seed)

    def covered(f: int) -> list[int]:
        return [k for k, (t0, t1) in hidden.items() if t0 <= f / fps < t1]

    def picture(f: int) -> np.ndarray:
        shown = image.copy()
        for k in covered(f):
            x, y, w, h = scaled[k]
            corner = (int(x - w * 0.2), int(y - h * 0.2))
            far = (math.ceil(x + w * 1.2), math.ceil(y + h * 1.2))
            cv2.rectangle(shown, corner, far, (128, 128, 128), -1)
        return shifted(shown, offsets[f])

    write_video(out, (picture(f) for f in range(n)), fps, PHOTO_SIZE)
    rows = [
        {"clip": out.name, "frame": f, "face": f"p{k}", "x": x + dx, "y": y + dy, "w": w, "h": h,
         "ignore": 0}
        for f, (dx, dy) in enumerate(offsets)
        for k, (x, y, w, h) in enumerate(scaled)
        if k not in covered(f)
    ]  # fmt: skip
    return pd.DataFrame(rows)


def looped_clip(source: Path, truth: pd.DataFrame, out: Path, seconds: float, jitter: int,
                seed: int):  # fmt: skip
    """``source`` looped to ``seconds`` (and jittered), as a video; its ground truth."""
    capture = open_video(source)
    fps = video_fps(capture)
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    n = round(seconds * fps)
    offsets = jitter_offsets(n, jitter, seed)
    size = (frames[0].shape[1], frames[0].shape[0])
    write_video(out, (shifted(frames[i % len(frames)], offsets[i]) for i in range(n)), fps, size)
    by_frame = {f: rows for f, rows in truth.groupby("frame")}
    parts = []
    for i in range(n):
        rows = by_frame.get(i % len(frames))
        if rows is not None:
            rows = rows.assign(clip=out.name, frame=i, x=rows["x"] + offsets[i][0],
                               y=rows["y"] + offsets[i][1])  # fmt: skip
            parts.append(rows)
    return pd.concat(parts, ignore_index=True)


# ------------------------------------------------------------------------------ the analysis


@dataclass
class Analysed:
    """One clip analysed once: frames (smoothed answers), shot per frame, appearance."""

    name: str
    frames: list[FrameResult]
    shots: list[int]
    appearance: dict[int, np.ndarray]  # track → mean descriptor of its crops
    truth: pd.DataFrame | None
    true_count: int | None
    seconds: float  # analysis time


def analyse(analyzer: Analyzer, path: Path, name: str, truth, true_count, **sampling) -> Analysed:
    capture = open_video(path)
    rate = video_fps(capture)
    capture.release()
    step = frame_step(rate, sampling.get("every", 1), sampling.get("fps"))
    tracker = FaceTracker(fps=rate / step)
    shots: list[int] = []
    looks: dict[int, list[np.ndarray]] = defaultdict(list)

    def each(frame, result, crops) -> None:
        shots.append(tracker.shots)
        for face, vector in zip(result.faces, descriptors(crops), strict=True):
            looks[face.face_id].append(vector)

    start = time.perf_counter()
    video = analyze_video(path, analyzer=analyzer, tracker=tracker, on_frame=each, **sampling)
    seconds = time.perf_counter() - start
    appearance = {track: np.mean(v, axis=0) for track, v in looks.items()}
    return Analysed(name, video.frames, shots, appearance, truth, true_count, seconds)


def descriptors(crops: np.ndarray, side: int = 12) -> np.ndarray:
    """Appearance of ``(N, 48, 48)`` crops: each shrunk to ``side`` pixels a side, mean removed,
    length 1 (so brightness and contrast do not count)."""
    small = np.array(
        [
            cv2.resize(c.astype(np.float32), (side, side), interpolation=cv2.INTER_AREA).ravel()
            for c in crops
        ]
    ).reshape(len(crops), side * side)
    small -= small.mean(axis=1, keepdims=True)
    return small / np.maximum(np.linalg.norm(small, axis=1, keepdims=True), 1e-6)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-9))


def appearance_separation(clip: Analysed, config: RejoinConfig) -> dict:
    """Cosine similarity of mean crop descriptors: pieces the re-joining gives one id (except
    wrong joins) vs tracks seen in one frame (always two people). Appearance would help only if
    the first were clearly higher."""
    joined = rejoin_tracks(clip.frames, config, shots=clip.shots)
    identity = true_identity(clip.frames, clip.truth) if clip.truth is not None else {}
    same = [
        cosine(clip.appearance[old], clip.appearance[new])
        for old, new in joined.merged.items()
        if not (old in identity and new in identity and identity[old] != identity[new])
    ]
    seen: dict[int, set[int]] = defaultdict(set)
    for frame in clip.frames:
        for face in frame.faces:
            seen[face.face_id].add(frame.frame)
    tracks = sorted(seen)
    apart = [
        cosine(clip.appearance[a], clip.appearance[b])
        for n, a in enumerate(tracks)
        for b in tracks[n + 1 :]
        if seen[a] & seen[b]
    ]

    def q(values, p):
        return round(float(np.percentile(values, p)), 2) if values else None

    return {"clip": clip.name, "joined pieces": len(same), "one person: min": q(same, 0),
            "median": q(same, 50), "pairs seen together": len(apart), "two people: median":
            q(apart, 50), "95th pct": q(apart, 95), "max": q(apart, 100)}  # fmt: skip


def hypotheses(frames: list[FrameResult]) -> dict:
    return {f.frame: [(face.face_id, face.box) for face in f.faces] for f in frames}


def true_identity(frames: list[FrameResult], truth: pd.DataFrame) -> dict[int, str]:
    """Each track → the true person its boxes overlap most often (IoU ≥ 0.5)."""
    votes: dict[int, Counter] = defaultdict(Counter)
    by_frame = {f: rows for f, rows in truth[truth["ignore"] == 0].groupby("frame")}
    for frame in frames:
        rows = by_frame.get(frame.frame)
        if rows is None or not frame.faces:
            continue
        iou = iou_matrix(np.array([f.box for f in frame.faces], float),
                         rows[["x", "y", "w", "h"]].to_numpy(float))  # fmt: skip
        for i, face in enumerate(frame.faces):
            j = int(iou[i].argmax())
            if iou[i, j] >= 0.5:
                votes[face.face_id][rows["face"].iloc[j]] += 1
    return {track: counts.most_common(1)[0][0] for track, counts in votes.items()}


def wrong_joins(mapping: dict[int, int], identity: dict[int, str]) -> int:
    """Pieces joined to a piece of another true person (tracks without one not counted)."""
    people: dict[int, set[str]] = defaultdict(set)
    for old, new in mapping.items():
        if old in identity:
            people[new].add(identity[old])
    return sum(len(p) - 1 for p in people.values())


def score(clip: Analysed, classes: list[str], config: RejoinConfig | None, shots=True) -> dict:
    """Counts and IDF1 of a clip without (``config`` None) or with re-joining."""
    frames, mapping = clip.frames, {}
    if config is not None:
        joined = rejoin_tracks(clip.frames, config, shots=clip.shots if shots else None)
        frames, mapping = joined.frames, joined.mapping
    row = {
        "students": len(summarize_students(frames, classes)),
        "true": clip.true_count,
        "tracks": len({f.face_id for frame in frames for f in frame.faces}),
    }
    if clip.truth is not None:
        scores = track_scores(clip.truth, hypotheses(frames))
        row |= {"IDF1": round(scores.idf1, 4), "ID switches": scores.id_switches}
        row["wrong joins"] = wrong_joins(mapping, true_identity(clip.frames, clip.truth))
    return row


def settings(grid: bool) -> dict[str, tuple[RejoinConfig, bool]]:
    """Name → (config, with shot numbers)."""
    chosen = {
        "defaults": (RejoinConfig(), True),
        "defaults, no shot numbers": (RejoinConfig(), False),
    }
    if not grid:
        return chosen
    swept = {}
    for gap, distance, ratio in itertools.product(
        (2.0, 5.0, 10.0, 20.0, 30.0, 60.0), (0.75, 1.0, 1.25, 1.5, 2.0), (0.4, 0.5, 0.6, 0.7)
    ):
        config = RejoinConfig(max_gap_seconds=gap, max_distance=distance, min_size_ratio=ratio)
        swept[f"gap {gap:g} s, distance {distance:g}, size ratio {ratio:g}"] = (config, True)
    return chosen | swept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, default=MEDIA)
    parser.add_argument("--tmp", type=Path, default=Path("/tmp/aiducation_bench_rejoin"))
    parser.add_argument("--grid", action="store_true", help="sweep gap × distance × size ratio")
    parser.add_argument("--out", type=Path, help="write the tables here (Markdown, CSV)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    environment = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(shlex.quote(a) for a in [".venv/bin/python", *sys.argv]),
        "machine": shell("lscpu | head -15"),
        "uptime_before": shell("uptime"),
    }
    args.tmp.mkdir(parents=True, exist_ok=True)
    truth = read_track_truth(HERE / "face_tracks.csv")
    walking = truth[truth["clip"] == WALKING]
    hamilton = truth[truth["clip"] == HAMILTON]
    tmp = args.tmp
    built = [  # (file, name, ground truth, true count)
        ("photo60.mp4", "photo 19 people, 60 s ±2 px",
         photo_clip(tmp / "photo60.mp4", 60, 25.0, 2, 0), 19),
        ("photo60_hidden.mp4", "photo, 4 faces hidden 5/10/20/40 s",
         photo_clip(tmp / "photo60_hidden.mp4", 60, 25.0, 2, 0, HIDDEN), 19),
        ("walk147.mp4", "walking looped 147 s",
         looped_clip(args.media / WALKING, walking, tmp / "walk147.mp4", 147, 0, 0), 3),
        ("walk147j.mp4", "walking looped 147 s ±2 px",
         looped_clip(args.media / WALKING, walking, tmp / "walk147j.mp4", 147, 2, 1), 3),
    ]  # fmt: skip
    analyzer = Analyzer.load()
    clips = [analyse(analyzer, tmp / file, f"{name}, 2 fps", gt, count, fps=2)
             for file, name, gt, count in built]  # fmt: skip
    for sampling, label in (({"fps": 2}, "2 fps"), ({}, "every frame")):
        clips += [
            analyse(analyzer, args.media / WALKING, f"walking (real), {label}", walking, 3,
                    **sampling),
            analyse(analyzer, args.media / HAMILTON, f"Hamilton (real, 3 cuts), {label}",
                    hamilton, None, **sampling),
        ]  # fmt: skip
    for clip in clips:
        print(f"analysed {clip.name}: {len(clip.frames)} frames in {clip.seconds:.1f} s, "
              f"{max(clip.shots) + 1} shot(s)", flush=True)  # fmt: skip
    rows = []
    for clip in clips:
        rows.append({"clip": clip.name, "setting": "before", **score(clip, analyzer.classes, None)})
    for name, (config, shots) in settings(args.grid).items():
        start = time.perf_counter()
        for clip in clips:
            row = score(clip, analyzer.classes, config, shots)
            rows.append({"clip": clip.name, "setting": name, **row})
        print(f"{name}: {time.perf_counter() - start:.2f} s", flush=True)
    looks = pd.DataFrame([appearance_separation(clip, RejoinConfig()) for clip in clips])
    table = pd.DataFrame(rows).astype({"true": "Int64"})
    environment["uptime_after"] = shell("uptime")
    for key, value in environment.items():
        print(f"{key}: {value}")
    order = {clip.name: n for n, clip in enumerate(clips)}
    shown = table.sort_values("clip", key=lambda c: c.map(order), kind="stable")
    print(markdown_table(shown))
    print(markdown_table(looks))
    if args.grid:
        print(markdown_table(grid_summary(table)))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.out / "rejoin.csv", index=False)
        write_text(args.out / "rejoin.md", markdown_table(shown))
        write_text(args.out / "appearance.md", markdown_table(looks))
        write_text(args.out / "environment.txt",
                   "\n".join(f"{k}: {v}" for k, v in environment.items()) + "\n")  # fmt: skip


def grid_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per setting: clips at their true count, wrong joins, mean IDF1 (clips with truth)."""
    rows = []
    for setting, part in table.groupby("setting", sort=False):
        counted = part.dropna(subset=["true"])
        rows.append({
            "setting": setting,
            "true counts": f"{int((counted['students'] == counted['true']).sum())}/{len(counted)}",
            "wrong joins": int(part["wrong joins"].sum()),
            "mean IDF1": round(float(part["IDF1"].mean()), 4),
            "min IDF1": round(float(part["IDF1"].min()), 4),
        })  # fmt: skip
    return pd.DataFrame(rows)


if __name__ == "__main__":
    main()
