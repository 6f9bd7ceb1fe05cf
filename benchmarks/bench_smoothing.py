"""Per-track smoothing (issue 31): choose ``dwell_seconds`` and ``evidence`` on measurements.

1. **Accuracy over time on held-out faces.** FER+ *test* faces (never val/train) become short
   synthetic tracks as a tracker would deliver them: views of one face, each warped (shift,
   rotation, rescale), shrunk to the size faces have in classroom footage (24–40 px), blurred,
   JPEG-compressed and scaled back to 48×48, as the pipeline does with a small detector crop.
   The jitter drifts in time (Ornstein–Uhlenbeck, correlation time ``--jitter-tau`` seconds),
   so one scene sampled at 1, 2 or 5 frames/s gives the same views at the same times and
   neighbouring views look alike, as in video. *Constant* tracks show one face for 4–8 s
   (8–16 views at 2 frames/s); *switch* tracks a face of one state for 10 s, then a face of
   another state for 10 s; *episode* tracks a face of one state, from 10 s to 15 s a face of
   another, then the first again until 20 s. Every view is classified by the bundled model
   (scheme ``other``: its AnswerScheme with its threshold).
2. **Flicker on real footage.** Every clip in ``--media`` (``*.mp4``) analysed with
   ``analyze_video`` at ``fps=2`` and at every frame; per track, the share of consecutive
   analysed frames whose answer changes: the per-frame answers vs the smoothed ones.

Smoothers, each over the grid of ``dwell_seconds`` × ``evidence``: ``hmm``
(:func:`aiducation.inference.smoothing.smooth_track`, forward–backward, on the model's K
outputs), ``causal`` (:class:`~aiducation.inference.smoothing.CausalSmoother`, for a live
camera), and ``hmm+io`` / ``causal+io``: the same core run as two chains, in-scheme vs Other and
the learning states (see :func:`smoothed`).

The rules, per smoother: (a) it does not lower accuracy: its per-frame accuracy minus that of
the per-frame answers (same views) is ≥ 0 on all tracks and on the tracks with a change; (b)
it shows a real change: ≥ 90 % of the *clear* switches (the per-frame answers show the new
state in at least half of its views) show the new state within 5 s; both at 1, 2 and 5
frames/s (an answer must hold at any ``--fps``; the choice on 2 frames/s alone is reported
too); then (c) the lowest mean flicker over the real clips (both samplings); ties: higher
accuracy.

    .venv/bin/python benchmarks/bench_smoothing.py --data /tmp/prepared \\
        --media ../shared/data/media --out runs/bench_smoothing
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import os
import platform
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import torch
from _evaluation import flicker, shell

from aiducation.atomic import write_json, write_text
from aiducation.csvfiles import write_csv
from aiducation.data.dataset import load_prepared
from aiducation.inference.api import Analyzer, analyze_video
from aiducation.inference.smoothing import CausalSmoother, SmoothingConfig, smooth_track
from aiducation.models.answers import AnswerScheme, restrict_to_scheme
from aiducation.tables import markdown_table

DWELLS = (2.0, 5.0, 10.0, 20.0, 40.0, 80.0)
EVIDENCES = (0.5, 0.75, 1.0)
RATES = (2.0, 1.0, 5.0)  # analysed frames per second; the first is the one the choice is made on
GRID_HZ = 10  # the jitter is drawn on a 0.1 s grid: every time i / rate of RATES lies on it
SWITCH_AT = 10.0  # switch tracks: face A for 10 s, then face B for 10 s
SWITCH_LENGTH = 20.0
EPISODE = (10.0, 15.0)  # episode tracks: face A, face B from 10 s to 15 s, face A again to 20 s
CONSTANT_SECONDS = (4, 8)  # constant tracks last 4–8 s (8–16 views at 2 frames/s)
MAX_DELAY = 5.0  # a real change must show within this many seconds ...
SHOWN_SHARE = 0.9  # ... for at least this share of the clear switches
CLEAR_SHARE = 0.5  # a switch is clear when the per-frame answers give the new state this often


# --------------------------------------------------------------------------- the environment


def environment() -> dict:
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(shlex.quote(a) for a in [".venv/bin/python", *sys.argv]),
        "machine": shell("lscpu | head -15"),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "opencv": cv2.__version__,
        "commit": shell("git rev-parse --short HEAD"),
        "uptime_before": shell("uptime"),
    }


# ------------------------------------------------------------------- synthetic tracks (FER+ test)


@dataclass(frozen=True)
class Jitter:
    """How far a view may wander from the face (bounds) and how much (stationary sd)."""

    shift_px: tuple[float, float] = (1.5, 3.0)  # sd, bound
    rotation_deg: tuple[float, float] = (2.5, 5.0)
    scale: tuple[float, float] = (0.04, 0.1)  # around 1
    size_px: tuple[int, int] = (24, 40)  # face size in the footage, per track
    size_drift_px: tuple[float, float] = (1.5, 3.0)
    blur_sigma: tuple[float, float] = (0.0, 0.6)  # per-track base, uniform
    blur_drift: tuple[float, float] = (0.15, 0.3)
    jpeg_quality: tuple[int, int] = (75, 95)  # per track, uniform


def ou_path(rng: np.random.Generator, n: int, sd: float, bound: float, tau: float) -> np.ndarray:
    """A stationary Ornstein–Uhlenbeck path on the 0.1 s grid, clipped to ±bound."""
    a = np.exp(-1.0 / (GRID_HZ * tau))
    noise = rng.normal(0.0, sd * np.sqrt(1 - a * a), n)
    path = np.empty(n)
    path[0] = rng.normal(0.0, sd)
    for i in range(1, n):
        path[i] = a * path[i - 1] + noise[i]
    return np.clip(path, -bound, bound)


@dataclass
class Track:
    """One synthetic track: faces (dataset rows), their labels, when B starts, the jitter path."""

    kind: str  # "constant", "switch" or "episode"
    faces: tuple[int, ...]
    labels: tuple[int, ...]
    seconds: float
    switch_at: float | None  # face B from here ...
    back_at: float | None  # ... until here (None: to the end)
    path: dict[str, np.ndarray]  # per 0.1 s grid step
    quality: int

    def grid(self, rate: float) -> np.ndarray:
        """Grid steps of the views analysed at ``rate`` frames/s (times i / rate)."""
        n = round(self.seconds * rate)
        return np.round(np.arange(n) * GRID_HZ / rate).astype(int)

    def face_at(self, step: int) -> int:
        """Index into ``faces`` shown at a grid step."""
        if self.switch_at is None or step < round(self.switch_at * GRID_HZ):
            return 0
        return int(self.back_at is None or step < round(self.back_at * GRID_HZ))


def make_track(rng, kind, faces, labels, seconds, change, jitter: Jitter, tau: float) -> Track:
    n = round(seconds * GRID_HZ) + 1
    size0 = rng.uniform(*jitter.size_px)
    blur0 = rng.uniform(*jitter.blur_sigma)
    path = {
        "dx": ou_path(rng, n, *jitter.shift_px, tau),
        "dy": ou_path(rng, n, *jitter.shift_px, tau),
        "angle": ou_path(rng, n, *jitter.rotation_deg, tau),
        "scale": 1.0 + ou_path(rng, n, *jitter.scale, tau),
        "size": np.clip(size0 + ou_path(rng, n, *jitter.size_drift_px, tau), *jitter.size_px),
        "blur": np.clip(blur0 + ou_path(rng, n, *jitter.blur_drift, tau), 0.0, 1.2),
    }
    quality = int(rng.integers(jitter.jpeg_quality[0], jitter.jpeg_quality[1] + 1))
    switch_at, back_at = change
    return Track(kind, tuple(faces), tuple(labels), seconds, switch_at, back_at, path, quality)


def degrade(face: np.ndarray, track: Track, step: int) -> np.ndarray:
    """The 48×48 crop the pipeline would classify for this view (see the module docstring)."""
    p = {k: float(v[step]) for k, v in track.path.items()}
    matrix = cv2.getRotationMatrix2D((23.5, 23.5), p["angle"], p["scale"])
    matrix[:, 2] += (p["dx"], p["dy"])
    warped = cv2.warpAffine(
        face, matrix, (48, 48), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
    )
    size = round(p["size"])
    small = cv2.resize(warped, (size, size), interpolation=cv2.INTER_AREA)
    if p["blur"] > 0.05:
        small = cv2.GaussianBlur(small, (0, 0), p["blur"])
    ok, encoded = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, track.quality])
    small = cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE) if ok else small
    return cv2.resize(small, (48, 48), interpolation=cv2.INTER_LINEAR)  # as preprocess.py


def build_tracks(labels, n_constant: int, n_switch: int, n_episode: int, seed: int, tau: float):
    """Constant tracks on ``n_constant`` test faces; switch and episode tracks on random pairs
    of faces of two different states (the pair of states drawn uniformly)."""
    rng = np.random.default_rng(seed)
    jitter = Jitter()
    order = rng.permutation(len(labels))
    tracks = []
    for i in order[:n_constant]:
        seconds = float(rng.integers(CONSTANT_SECONDS[0], CONSTANT_SECONDS[1] + 1))
        tracks.append(
            make_track(rng, "constant", [i], [labels[i]], seconds, (None, None), jitter, tau)
        )
    by_state = {s: np.flatnonzero(labels == s) for s in np.unique(labels)}
    states = sorted(by_state)
    changes = [("switch", (SWITCH_AT, None))] * n_switch + [("episode", EPISODE)] * n_episode
    for kind, change in changes:
        a, b = rng.choice(states, 2, replace=False)
        faces = [int(rng.choice(by_state[a])), int(rng.choice(by_state[b]))]
        tracks.append(make_track(rng, kind, faces, [a, b], SWITCH_LENGTH, change, jitter, tau))
    return tracks


def render_and_classify(tracks, images, classifier, rates) -> tuple[list[np.ndarray], int]:
    """Per track, ``(grid steps, K)`` probabilities for every grid step any rate needs (rates
    share their common times, so a time has one view whatever the rate)."""
    steps = [np.unique(np.concatenate([t.grid(r) for r in rates])) for t in tracks]
    views = np.stack(
        [
            degrade(images[t.faces[t.face_at(s)]], t, s)
            for t, track_steps in zip(tracks, steps, strict=True)
            for s in track_steps
        ]
    )
    probs = classifier.predict_proba(views).astype(np.float64)
    out, start = [], 0
    for t, track_steps in zip(tracks, steps, strict=True):
        table = np.full((round(t.seconds * GRID_HZ) + 1, probs.shape[1]), np.nan)
        table[track_steps] = probs[start : start + len(track_steps)]
        out.append(table)
        start += len(track_steps)
    return out, len(views)


METHODS = ("hmm", "hmm+io", "causal", "causal+io")


def settings() -> list[tuple[str, SmoothingConfig]]:
    """``(method, config)``: per-frame, then each smoother over the grid. ``hmm``/``causal``
    are the core as it is (one chain over the K outputs, Other included); ``+io`` smooths
    in-scheme vs Other and the learning states as two chains (same parameters) and answers the
    product, so that Other's one consistent column does not outvote states that share the
    in-scheme mass (measured here as an alternative; see the report)."""
    grid = [SmoothingConfig("hmm", d, e) for d, e in itertools.product(DWELLS, EVIDENCES)]
    return [("none", SmoothingConfig("none")), *((m, c) for m in METHODS for c in grid)]


def smoothed(method: str, config: SmoothingConfig, probs: np.ndarray, times: np.ndarray):
    """The ``(T, K)`` smoothed probabilities of one track (``K``: Other last)."""
    if method.endswith("+io"):
        base = method.removesuffix("+io")
        inside = np.column_stack([1.0 - probs[:, -1], probs[:, -1]])
        io = smoothed(base, config, inside, times)
        states = smoothed(base, config, restrict_to_scheme(probs, probs.shape[1] - 1), times)
        return np.column_stack([states * io[:, :1], io[:, 1:]])
    if method == "causal":
        smoother = CausalSmoother(config)
        return np.stack([smoother.update(0, t, p) for t, p in zip(times, probs, strict=True)])
    return smooth_track(probs, times, config)


@dataclass(frozen=True)
class HeldSmoothing(SmoothingConfig):
    """A causal smoother's settings plus a hysteresis on its answer (``bench_live_hold.py``;
    measured, not in the package: every ``live_hold`` > 1 lowered accuracy)."""

    live_hold: float = 1.0  # a new answer needs this × the shown one's probability

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.live_hold < 1:
            raise ValueError(f"smoothing: live_hold must be at least 1, got {self.live_hold}")


def held_answer(answer: AnswerScheme, probs: np.ndarray, shown: int | None, hold: float) -> int:
    """The answer (index into ``answer.classes``) for ``probs`` when ``shown`` is the answer on
    screen: a causal filter's posterior wavers around a boundary, so the shown answer's
    probability counts ``hold`` times (hysteresis) and another answer must beat it by that
    factor. ``hold`` 1 or nothing shown: the plain answer."""
    probs = np.asarray(probs, np.float64)
    if shown is not None and hold != 1.0:
        probs = probs.copy()
        probs[shown] *= hold
        probs /= probs.sum()
    return int(answer.decide(probs[None, :]).best[0])


def decided(method: str, config: SmoothingConfig, probs, times, scheme: AnswerScheme):
    """The ``(T,)`` answers (indices into the scheme's states) of one track: the smoothed
    probabilities answered frame by frame, and for a causal smoother with a
    :class:`HeldSmoothing` ``live_hold`` > 1 each answer held against the one shown before."""
    smooth = smoothed(method, config, probs, times)
    hold = config.live_hold if isinstance(config, HeldSmoothing) else 1.0
    if not method.startswith("causal") or hold == 1.0:
        return scheme.decide(smooth).best
    shown: int | None = None
    answers = []
    for row in smooth:
        shown = held_answer(scheme, row, shown, hold)
        answers.append(shown)
    return np.array(answers)


def evaluate_synthetic(tracks, tables, scheme: AnswerScheme, rates, grid) -> pd.DataFrame:
    """One row per rate and ``(method, config)`` of ``grid``."""
    other = len(scheme.states) - 1 if scheme.answers_other else -1
    rows = []
    for rate in rates:
        per_track = []
        for track, table in zip(tracks, tables, strict=True):
            steps = track.grid(rate)
            times = steps / GRID_HZ
            truth = np.array([track.labels[track.face_at(s)] for s in steps])
            per_track.append((track, table[steps], times, truth))
        raw = {id(t): scheme.decide(p).best for t, p, _, _ in per_track}
        for method, config in grid:
            acc = {"constant": [], "switch": [], "episode": []}
            said_other, kept_correct, changes, pairs = [], [], 0, 0
            gains = {"constant": [], "change": []}  # per track: (right − right per frame, frames)
            delays = {"switch": [], "episode": []}
            clear = {"switch": [], "episode": []}
            for track, probs, times, truth in per_track:
                answer = decided(method, config, probs, times, scheme)
                correct = answer == truth
                acc[track.kind].append(correct)
                gain = int(correct.sum()) - int(np.sum(raw[id(track)] == truth))
                gains["constant" if track.kind == "constant" else "change"].append(
                    (gain, len(truth))
                )
                said_other.append(answer == other)
                kept_correct.append(correct[answer != other])
                if track.kind == "constant":
                    changes += int(np.sum(answer[1:] != answer[:-1]))
                    pairs += len(answer) - 1
                    continue
                during = (times >= track.switch_at) & (truth == track.labels[1])
                shown = np.flatnonzero(during & (answer == track.labels[1]))
                delay = times[shown[0]] - track.switch_at if len(shown) else np.inf
                delays[track.kind].append(delay)
                clear[track.kind].append(np.mean(raw[id(track)][during] == track.labels[1]))
            clear = {k: np.array(v) >= CLEAR_SHARE for k, v in clear.items()}
            delays = {k: np.array(v) for k, v in delays.items()}
            clear_delays = delays["switch"][clear["switch"]]
            constant, switch = np.concatenate(acc["constant"]), np.concatenate(acc["switch"])
            episode = np.concatenate(acc["episode"]) if acc["episode"] else np.array([])
            rows.append(
                {
                    "rate": rate,
                    "method": method,
                    "dwell_seconds": config.dwell_seconds if method != "none" else np.nan,
                    "evidence": config.evidence if method != "none" else np.nan,
                    "acc_constant": constant.mean(),
                    "acc_switch": switch.mean(),
                    "acc_episode": episode.mean() if len(episode) else np.nan,
                    "acc_all": np.concatenate([constant, switch, episode]).mean(),
                    **paired_gain(gains["constant"] + gains["change"], "all"),
                    **paired_gain(gains["change"], "change"),
                    "share_other": np.concatenate(said_other).mean(),
                    "acc_not_other": np.concatenate(kept_correct).mean(),
                    "flicker_constant": changes / max(pairs, 1),
                    "switches": len(delays["switch"]),
                    "clear_switches": len(clear_delays),
                    "clear_median_delay_s": _median(clear_delays),
                    "clear_p90_delay_s": _quantile(clear_delays, 0.9),
                    "clear_shown_within_5s": np.mean(clear_delays <= MAX_DELAY),
                    "all_shown_within_5s": np.mean(delays["switch"] <= MAX_DELAY),
                    "all_never_shown": np.mean(np.isinf(delays["switch"])),
                    "clear_episodes": int(clear["episode"].sum()),
                    "clear_episodes_shown": np.mean(
                        np.isfinite(delays["episode"][clear["episode"]])
                    ),
                }
            )
    return pd.DataFrame(rows)


def paired_gain(gains: list[tuple[int, int]], name: str) -> dict[str, float]:
    """Accuracy gain over the per-frame answers (same views) and its standard error, tracks
    as the units (a ratio estimator: one face's views are not independent)."""
    diff, frames = np.array(gains, np.float64).T
    gain = diff.sum() / frames.sum()
    se = np.sqrt(np.sum((diff - gain * frames) ** 2)) / frames.sum()
    return {f"gain_{name}": gain, f"gain_{name}_se": se}


def _median(values: np.ndarray) -> float:
    return _quantile(values, 0.5)


def _quantile(values: np.ndarray, q: float) -> float:
    """Quantile counting never-shown switches as infinitely late (``inf`` when they decide it)."""
    if len(values) == 0:
        return np.nan
    return float(np.quantile(np.sort(values), q, method="higher"))


# ------------------------------------------------------------------------- flicker on real clips


def real_tracks(media: Path, analyzer: Analyzer) -> dict[tuple[str, str], list]:
    """Per (clip, sampling): a list of ``(times (T,), probabilities (T, K))`` per track, the
    probabilities in the order of the answer's classes (FaceResult.probabilities is a dict)."""
    classes = analyzer.classifier.answer.classes
    out = {}
    for clip in sorted(media.glob("*.mp4")):
        for sampling, kwargs in (("fps 2", {"fps": 2}), ("every frame", {"every": 1})):
            result = analyze_video(clip, analyzer=analyzer, **kwargs)
            per_track: dict[int, list] = {}
            for frame in result.frames:
                for face in frame.faces:
                    row = np.array([face.probabilities.get(c, 0.0) for c in classes])
                    per_track.setdefault(face.face_id, []).append((frame.time, row, face))
            tracks = []
            for items in per_track.values():
                times = np.array([t for t, _, _ in items], np.float64)
                probs = np.stack([p for _, p, _ in items])
                probs /= probs.sum(axis=1, keepdims=True)
                own = [f.frame_state or f.state for _, _, f in items]
                tracks.append((times, probs, own))
            out[(clip.name, sampling)] = (tracks, len(result.frames), result.fps)
    return out


def evaluate_flicker(clips, scheme: AnswerScheme, grid=None) -> tuple[pd.DataFrame, int]:
    rows, disagree = [], 0
    states = scheme.states
    for (clip, sampling), (tracks, frames, fps) in clips.items():
        for method, config in grid or settings():
            changes = pairs = 0
            per_track = []
            for times, probs, own in tracks:
                answers = [states[i] for i in decided(method, config, probs, times, scheme)]
                if method == "none":
                    disagree += sum(a != b for a, b in zip(answers, own, strict=True))
                n = len(answers) - 1
                if n > 0:
                    per_track.append(flicker(answers))
                    changes += sum(a != b for a, b in itertools.pairwise(answers))
                    pairs += n
            rows.append(
                {
                    "clip": clip,
                    "sampling": sampling,
                    "analysed_fps": round(fps, 3),
                    "frames": frames,
                    "tracks": len(tracks),
                    "pairs": pairs,
                    "method": method,
                    "dwell_seconds": config.dwell_seconds if method != "none" else np.nan,
                    "evidence": config.evidence if method != "none" else np.nan,
                    "changes": changes,
                    "flicker": changes / pairs if pairs else np.nan,
                    "worst_track_flicker": max(per_track) if per_track else np.nan,
                }
            )
    return pd.DataFrame(rows), disagree


# ------------------------------------------------------------------------------------ the choice


def verdict(keeps: pd.Series, shows: pd.Series) -> np.ndarray:
    return np.where(keeps & shows, "yes", np.where(keeps, "no: change", "no: accuracy"))


def choose(synthetic: pd.DataFrame, flick: pd.DataFrame, method: str) -> dict:
    """The setting of ``method`` meeting the accuracy and change rules with the lowest mean
    flicker on the real clips: ``chosen`` with the rules met at every rate, ``chosen_2fps``
    with the rules met at :data:`RATES`\\[0] only."""
    rows = synthetic[synthetic["method"] == method].copy()
    rows["keeps_accuracy"] = (rows["gain_all"] >= 0) & (rows["gain_change"] >= 0)
    rows["shows_change"] = rows["clear_shown_within_5s"] >= SHOWN_SHARE
    key = ["dwell_seconds", "evidence"]
    every_rate = rows.groupby(key)[["keeps_accuracy", "shows_change"]].all()
    every_rate.columns = ["keeps_accuracy_all_rates", "shows_change_all_rates"]
    cand = rows[rows["rate"] == RATES[0]].join(every_rate, on=key)
    flicker_of = flick[flick["method"] == method].groupby(key)["flicker"]
    cand = cand.join(flicker_of.mean().rename("mean_real_flicker"), on=key)
    cand = cand.join(flicker_of.max().rename("max_real_flicker"), on=key)
    cand["meets_rules"] = verdict(cand["keeps_accuracy"], cand["shows_change"])
    cand["meets_rules_all_rates"] = verdict(
        cand["keeps_accuracy_all_rates"], cand["shows_change_all_rates"]
    )
    choice = {"method": method, "candidates": cand}
    for name, column in (("chosen", "meets_rules_all_rates"), ("chosen_2fps", "meets_rules")):
        ok = cand[cand[column] == "yes"]
        order = ["mean_real_flicker", "acc_all"]
        choice[name] = None if ok.empty else ok.sort_values(order, ascending=[True, False]).iloc[0]
    return choice


def setting_rows(synthetic, flick, method, dwell, evidence) -> tuple[pd.DataFrame, pd.DataFrame]:
    def pick(frame):
        if method == "none":
            return frame[frame["method"] == "none"]
        return frame[
            (frame["method"] == method)
            & (frame["dwell_seconds"] == dwell)
            & (frame["evidence"] == evidence)
        ]

    return pick(synthetic), pick(flick)


# --------------------------------------------------------------------------------- the report


GRID_COLUMNS = [
    "method", "dwell_seconds", "evidence", "acc_constant", "acc_switch", "acc_episode",
    "acc_all", "gain_all", "gain_all_se", "gain_change", "gain_change_se", "share_other",
    "acc_not_other", "clear_shown_within_5s", "clear_p90_delay_s",
    "clear_episodes_shown", "mean_real_flicker", "max_real_flicker", "meets_rules",
    "meets_rules_all_rates",
]  # fmt: skip
RATE_COLUMNS = [
    "rate", "method", "dwell_seconds", "evidence", "acc_constant", "acc_switch", "acc_episode",
    "gain_all", "gain_change", "share_other", "acc_not_other", "flicker_constant", "clear_switches",
    "clear_median_delay_s", "clear_p90_delay_s", "clear_shown_within_5s", "all_never_shown",
    "clear_episodes", "clear_episodes_shown",
]  # fmt: skip


def chosen_key(choice: dict, name: str = "chosen") -> tuple[str, float, float] | None:
    best = choice[name]
    if best is None:
        return None
    return choice["method"], best["dwell_seconds"], best["evidence"]


def grid_table(choices: list[dict], base: pd.Series, flick: pd.DataFrame) -> pd.DataFrame:
    """Every setting at the choice rate with the rules it meets (the per-frame row first)."""
    none = flick[flick["method"] == "none"]["flicker"]
    first = {**base.to_dict(), "mean_real_flicker": none.mean(), "max_real_flicker": none.max()}
    first |= {"meets_rules": "(per frame)", "meets_rules_all_rates": "(per frame)"}
    rows = [pd.DataFrame([first]), *(choice["candidates"] for choice in choices)]
    return pd.concat(rows, ignore_index=True)[GRID_COLUMNS]


def clip_table(flick: pd.DataFrame, keys: list[tuple[str, float, float]]) -> pd.DataFrame:
    """Flicker per clip and sampling: per frame vs each chosen setting."""
    base = flick[flick["method"] == "none"]
    table = base[["clip", "sampling", "tracks", "pairs"]].copy()
    table["per frame"] = base["flicker"].to_numpy()
    for method, dwell, evidence in keys:
        rows = flick[
            (flick["method"] == method)
            & (flick["dwell_seconds"] == dwell)
            & (flick["evidence"] == evidence)
        ]
        table[f"{method} {dwell:g} s, {evidence:g}"] = rows["flicker"].to_numpy()
    return table


def report(env, args, counts, synthetic, flick, choices, disagree, seconds) -> str:
    keys = list(
        dict.fromkeys(
            k for c in choices for n in ("chosen", "chosen_2fps") if (k := chosen_key(c, n))
        )
    )
    base = synthetic[(synthetic["rate"] == RATES[0]) & (synthetic["method"] == "none")].iloc[0]
    rates = [synthetic[synthetic["method"] == "none"]]
    for method, dwell, evidence in keys:
        rates.append(
            synthetic[
                (synthetic["method"] == method)
                & (synthetic["dwell_seconds"] == dwell)
                & (synthetic["evidence"] == evidence)
            ]
        )
    lines = [
        "# Smoothing benchmark (issue 31)",
        "",
        f"{env['date']}; commit {env['commit']}; Python {env['python']}, torch {env['torch']}, "
        f"OpenCV {env['opencv']}; {args.threads} torch thread(s); {seconds:.0f} s in all.",
        "",
        f"Command: `{env['command']}`",
        "",
        f"Load before: `{env['uptime_before']}`",
        f"Load after: `{env['uptime_after']}`",
        "",
        "```",
        env["machine"],
        "```",
        "",
        f"Synthetic tracks: {counts['constant']} constant tracks on as many FER+ test faces "
        f"(of {counts['test_faces']} labelled test faces, seed {args.seed}), "
        f"{counts['switch']} switch tracks, {counts['episode']} episode tracks; "
        f"{counts['views']:,} views classified; five-way answers right on the clean "
        f"(undegraded) constant-track faces {counts['clean_accuracy']:.4f}, on the degraded "
        f"views of all tracks {counts['degraded_accuracy']:.4f} at {RATES[0]:g} frames/s. "
        "Per-frame answers of the real clips recomputed from the probabilities: "
        f"{disagree} disagree with the pipeline's own (rounding at the threshold).",
        "",
        "## Chosen",
        "",
    ]
    for choice in choices:
        for name, rule in (("chosen", "at every rate"), ("chosen_2fps", f"at {RATES[0]:g}/s")):
            best = choice[name]
            if best is None:
                lines.append(f"- {choice['method']}, rules {rule}: no setting meets them.")
                continue
            lines.append(
                f"- {choice['method']}, rules {rule}: **dwell_seconds "
                f"{best['dwell_seconds']:g}, evidence {best['evidence']:g}** — accuracy at "
                f"{RATES[0]:g}/s {best['acc_all']:.4f} (per frame {base['acc_all']:.4f}), "
                f"clear switches shown within {MAX_DELAY:g} s "
                f"{best['clear_shown_within_5s']:.3f}, clear 5 s episodes shown "
                f"{best['clear_episodes_shown']:.3f}, mean real flicker "
                f"{best['mean_real_flicker']:.3f}"
            )
    lines += [
        "",
        f"## Every setting at {RATES[0]:g} frames/s",
        "",
        markdown_table(grid_table(choices, base, flick), 3),
        "## The chosen settings at every rate",
        "",
        markdown_table(pd.concat(rates)[RATE_COLUMNS], 3),
        "## Flicker per clip",
        "",
        markdown_table(clip_table(flick, keys), 3),
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("/tmp/prepared"))
    parser.add_argument("--media", type=Path, default=Path("../shared/data/media"))
    parser.add_argument("--out", type=Path, default=Path("runs/bench_smoothing"))
    parser.add_argument("--faces", type=int, default=800, help="constant tracks (test faces)")
    parser.add_argument("--switches", type=int, default=400, help="switch tracks")
    parser.add_argument("--episodes", type=int, default=200, help="5 s episode tracks")
    parser.add_argument("--jitter-tau", type=float, default=1.0, help="jitter correlation, s")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    env = environment()
    start = time.perf_counter()

    analyzer = Analyzer.load(device="cpu")  # bundled model, scheme "other", YuNet
    classifier = analyzer.classifier
    scheme = classifier.answer
    dataset = load_prepared(args.data)
    test = dataset.split_indices("test")
    images, labels = dataset.images[test], dataset.labels[test]
    assert list(dataset.classes) == scheme.states[: len(dataset.classes)], "class order"

    tracks = build_tracks(
        labels, args.faces, args.switches, args.episodes, args.seed, args.jitter_tau
    )
    tables, n_views = render_and_classify(tracks, images, classifier, RATES)
    used = sorted({f for t in tracks if t.kind == "constant" for f in t.faces})
    clean = scheme.decide(classifier.predict_proba(images[used])).best == labels[used]
    print(f"classified {n_views:,} views in {time.perf_counter() - start:.0f} s", flush=True)
    synthetic = evaluate_synthetic(tracks, tables, scheme, RATES, settings())
    print(f"synthetic grid done at {time.perf_counter() - start:.0f} s", flush=True)
    clips = real_tracks(args.media, analyzer)
    flick, disagree = evaluate_flicker(clips, scheme)
    print(f"real clips done at {time.perf_counter() - start:.0f} s", flush=True)
    choices = [choose(synthetic, flick, m) for m in METHODS]
    env["uptime_after"] = shell("uptime")
    seconds = time.perf_counter() - start
    base = synthetic[(synthetic["rate"] == RATES[0]) & (synthetic["method"] == "none")].iloc[0]
    counts = {
        "constant": args.faces,
        "switch": args.switches,
        "episode": args.episodes,
        "test_faces": len(test),
        "views": n_views,
        "clean_accuracy": float(clean.mean()),
        "degraded_accuracy": float(base["acc_all"]),
    }
    text = report(env, args, counts, synthetic, flick, choices, disagree, seconds)
    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(synthetic, args.out / "synthetic.csv", index=False)
    write_csv(flick, args.out / "flicker.csv", index=False)
    for choice in choices:
        write_csv(
            choice["candidates"], args.out / f"candidates_{choice['method']}.csv", index=False
        )
    chosen = {}
    for choice, name in itertools.product(choices, ("chosen", "chosen_2fps")):
        best = choice[name]
        label = choice["method"] + ("" if name == "chosen" else f" (rules at {RATES[0]:g}/s)")
        if best is None:
            chosen[label] = None
            continue
        syn, fl = setting_rows(
            synthetic, flick, choice["method"], best["dwell_seconds"], best["evidence"]
        )
        chosen[label] = {
            "dwell_seconds": float(best["dwell_seconds"]),
            "evidence": float(best["evidence"]),
            "synthetic": syn.to_dict(orient="records"),
            "flicker": fl.to_dict(orient="records"),
        }
    write_json(
        args.out / "chosen.json",
        {
            "rules": {
                "rates": f"every rate of {RATES} (and, as a second choice, {RATES[0]} only)",
                "accuracy": "smoothed - per-frame accuracy >= 0 on all tracks and on the tracks "
                "with a change (switch + episode)",
                "change": f">= {SHOWN_SHARE} of clear switches shown within {MAX_DELAY} s",
                "then": "lowest mean flicker over the real clips at fps 2 and every frame",
            },
            "chosen": chosen,
            "baseline": {
                "synthetic": synthetic[synthetic["method"] == "none"].to_dict(orient="records"),
                "flicker": flick[flick["method"] == "none"].to_dict(orient="records"),
            },
            "counts": counts,
            "environment": env,
        },
    )
    write_text(args.out / "results.md", text)
    print(text)
    print(f"wrote {args.out} ({os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
