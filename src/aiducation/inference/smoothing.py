"""One student over time: smoothing a track's per-frame class probabilities (an HMM).

A student's state is a hidden Markov chain over the model's outputs (the learning states and
"Other"): it stays put for ``dwell_seconds`` on average and then moves to any other state
alike (a continuous-time chain: between two analysed frames ``dt`` seconds apart it switches
with probability ``(K−1)/K · (1 − exp(−K·dt / ((K−1)·dwell_seconds)))``), so the parameters
are in **seconds**, an answer holds at any ``--fps``, and a long gap in a track lets the answer
start afresh. Each frame's classifier probabilities are the evidence, raised to ``evidence`` (< 1
tempers an over-confident classifier). :func:`smooth_track` gives each frame's posterior from
the whole track (forward–backward, for recorded video); :class:`CausalSmoother` gives it from
the frames so far (forward filtering, for a live camera). The smoothed probabilities are then
answered exactly like a single frame's (:class:`aiducation.models.answers.AnswerScheme`).
"""

from __future__ import annotations

from array import array
from collections import defaultdict
from dataclasses import dataclass, field, replace

import numpy as np

from aiducation.defaults import DWELL_SECONDS, LIVE_DWELL_SECONDS, SMOOTHING_EVIDENCE
from aiducation.inference.results import FrameResult
from aiducation.models.answers import UNCERTAIN, AnswerScheme

SMOOTHING_METHODS = ("hmm", "none")


@dataclass(frozen=True)
class SmoothingConfig:
    """Parameters of the per-track HMM (chosen on measurements: docs/analyze.md)."""

    method: str = "hmm"  # "hmm" or "none" (each frame on its own)
    dwell_seconds: float = DWELL_SECONDS  # mean time a student stays in one state
    evidence: float = SMOOTHING_EVIDENCE  # exponent on each frame's probabilities
    live_dwell_seconds: float = LIVE_DWELL_SECONDS  # the same, for a live camera (causal)

    def __post_init__(self) -> None:
        if self.method not in SMOOTHING_METHODS:
            raise ValueError(f"smoothing {self.method!r}: expected one of hmm, none")
        if min(self.dwell_seconds, self.evidence, self.live_dwell_seconds) <= 0:
            raise ValueError("smoothing: dwell_seconds and evidence must be positive")

    def live(self) -> SmoothingConfig:
        """The parameters of causal filtering (a live camera)."""
        return replace(self, dwell_seconds=self.live_dwell_seconds)

    def transition(self, dt: float, k: int) -> np.ndarray:
        """``(k, k)`` probabilities of being in state j ``dt`` seconds after state i: a
        continuous-time chain leaving each state after ``dwell_seconds`` on average for any
        other alike, so steps compose exactly and a long gap tends to "anything" (1/k each)."""
        if k == 1:
            return np.ones((1, 1))
        rate = k / ((k - 1) * self.dwell_seconds)
        switch = (k - 1) / k * (1.0 - np.exp(-rate * max(float(dt), 0.0)))
        matrix = np.full((k, k), switch / (k - 1))
        np.fill_diagonal(matrix, 1.0 - switch)
        return matrix

    def evidence_of(self, probs: np.ndarray) -> np.ndarray:
        return np.maximum(np.asarray(probs, np.float64), 1e-12) ** self.evidence


def _normalise(v: np.ndarray) -> np.ndarray:
    return v / v.sum(axis=-1, keepdims=True)


def split_other(smooth, probs: np.ndarray) -> np.ndarray:
    """Smooth in-scheme vs "Other" (the last column) and the learning states as two chains,
    then join them: ``P(state) = P(state | in) · P(in)``. One chain over all outputs lets the
    single steady "Other" column outweigh the in-scheme probability that the four states
    share by turns (measured: it answers Other twice as often and loses accuracy)."""
    probs = np.asarray(probs, np.float64)
    inside = smooth(np.column_stack([1.0 - probs[:, -1], probs[:, -1]]))
    states = smooth(_normalise(np.maximum(probs[:, :-1], 1e-12)))
    return np.column_stack([states * inside[:, :1], inside[:, 1:]])


def smooth_track(
    probs: np.ndarray, times: np.ndarray, config: SmoothingConfig, other: bool = False
) -> np.ndarray:
    """Posterior ``(T, K)`` of each frame's state given the whole track (forward–backward).

    ``probs`` ``(T, K)``: the classifier's per-frame probabilities; ``times`` ``(T,)`` in seconds,
    non-decreasing; ``other``: the last column is "Other" (smoothed apart: :func:`split_other`).
    With ``method="none"`` the probabilities come back unchanged.
    """
    probs = np.asarray(probs, np.float64)
    if config.method == "none" or len(probs) < 2:
        return probs.copy()
    if other:
        return split_other(lambda p: smooth_track(p, times, config), probs)
    n, k = probs.shape
    gaps = np.diff(np.asarray(times, np.float64))
    evidence = config.evidence_of(probs)
    forward = np.empty((n, k))
    forward[0] = _normalise(evidence[0])
    for t in range(1, n):
        forward[t] = _normalise((forward[t - 1] @ config.transition(gaps[t - 1], k)) * evidence[t])
    backward = np.ones((n, k))
    for t in range(n - 2, -1, -1):
        backward[t] = _normalise(
            config.transition(gaps[t], k) @ (evidence[t + 1] * backward[t + 1])
        )
    return _normalise(forward * backward)


@dataclass
class CausalSmoother:
    """Forward filtering per track, frame by frame (a live camera cannot wait for the future):
    ``update(track, time, probs)`` returns that track's posterior given its frames so far."""

    config: SmoothingConfig = field(default_factory=SmoothingConfig)
    state: dict[object, tuple[float, np.ndarray]] = field(default_factory=dict)

    @staticmethod
    def chain_keys(track: int, other: bool) -> dict[str, object]:
        """Where :attr:`state` keeps each chain of ``track``, by chain name: ``states``, and
        ``in/out`` when the last output is "Other"."""
        if other:
            return {"states": (track, "states"), "in/out": (track, "in/out")}
        return {"states": track}

    def chains(self, track: int, other: bool) -> tuple[float, dict[str, np.ndarray]]:
        """``track``'s last time and posterior of each chain (to carry elsewhere)."""
        held = {name: self.state[key] for name, key in self.chain_keys(track, other).items()}
        return max(time for time, _ in held.values()), {n: p for n, (_, p) in held.items()}

    def resume(self, track: int, time: float, chains: dict[str, np.ndarray], other: bool):
        """Continue ``track`` from posteriors carried from an earlier :meth:`chains`."""
        for name, key in self.chain_keys(track, other).items():
            self.state[key] = (float(time), np.asarray(chains[name], np.float64))

    def update(self, track: int, time: float, probs: np.ndarray, other: bool = False):
        """``other``: the last column is "Other" (two chains, as :func:`smooth_track`)."""
        if self.config.method == "none":
            return np.asarray(probs, np.float64)
        if other:  # two chains, joined as in split_other
            keys = self.chain_keys(track, other)
            probs = np.asarray(probs, np.float64)
            inside = self.update(keys["in/out"], time, np.array([1 - probs[-1], probs[-1]]))
            states = self.update(keys["states"], time, _normalise(np.maximum(probs[:-1], 1e-12)))
            return np.append(states * inside[0], inside[1])
        evidence = self.config.evidence_of(probs)
        previous = self.state.get(track)
        if previous is None:
            posterior = _normalise(evidence)
        else:
            last_time, last = previous
            step = self.config.transition(time - last_time, len(evidence))
            posterior = _normalise((last @ step) * evidence)
        self.state[track] = (float(time), posterior)
        return posterior


def answer_scheme(classifier) -> AnswerScheme:
    """How a :class:`~aiducation.inference.classifier.FaceClassifier`'s faces' ``probabilities``
    (over the states it answers) become answers."""
    answer = classifier.answer
    return AnswerScheme(answer.states, answer.threshold if answer.answers_other else None)


def answered(face, probs: np.ndarray, answer: AnswerScheme):
    """``face`` answered from (smoothed) ``probs``; its own answer kept as ``frame_state``.
    A face the quality gate refused stays "Uncertain"."""
    if face.state == UNCERTAIN:
        return replace(face, frame_state=face.state)
    decision = answer.decide(probs[None, :])
    best = int(decision.best[0])
    return replace(
        face,
        state=decision.shown[best],
        confidence=round(float(decision.probabilities[0, best]), 4),
        frame_state=face.state,
    )


def smooth_frames(
    frames: list[FrameResult], answer: AnswerScheme, config: SmoothingConfig
) -> list[FrameResult]:
    """``frames`` with each track's answers smoothed over the whole track (forward–backward)."""
    if config.method == "none":
        return frames
    smoothed = list(frames)
    smooth_frames_in_place(smoothed, answer, config)
    return smoothed


def smooth_frames_in_place(
    frames: list[FrameResult], answer: AnswerScheme, config: SmoothingConfig
) -> None:
    """:func:`smooth_frames` that replaces each frame of the list ``frames`` by its smoothed
    one, in order: a long video's frames before smoothing are freed as the smoothed ones are
    made (when nothing else holds them), instead of both existing at once. Each track's
    evidence is gathered first (a few numbers a face), then smoothed whole."""
    if config.method == "none":
        return
    evidence: dict[int, array] = defaultdict(lambda: array("d"))
    times: dict[int, array] = defaultdict(lambda: array("d"))
    for i, frame in enumerate(frames):
        for face in frame.faces:
            evidence[face.face_id].extend(_evidence(face, answer).tolist())
            times[face.face_id].append(frame.time if frame.time is not None else i)
    k, posteriors = len(answer.states), {}
    for track in list(evidence):  # each track's evidence is dropped once it is smoothed
        probs, when = np.array(evidence.pop(track)).reshape(-1, k), np.array(times.pop(track))
        posteriors[track] = iter(smooth_track(probs, when, config, answer.answers_other))
    for i, frame in enumerate(frames):
        faces = [answered(face, next(posteriors[face.face_id]), answer) for face in frame.faces]
        frames[i] = replace(frame, faces=faces)


def _evidence(face, answer: AnswerScheme) -> np.ndarray:
    """A face's probabilities over the answer states; none at all (uniform) for a face the
    quality gate refused: its neighbours in time carry the track across it."""
    if face.state == UNCERTAIN:
        return np.full(len(answer.states), 1.0 / len(answer.states))
    return np.array([face.probabilities[c] for c in answer.states])


def smooth_live(result: FrameResult, smoother: CausalSmoother, answer: AnswerScheme):
    """``result`` answered from each track's frames so far (a live camera)."""
    time = result.time if result.time is not None else float(result.frame)
    faces = [
        answered(face, smoother.update(
            face.face_id, time, _evidence(face, answer), answer.answers_other
        ), answer)
        for face in result.faces
    ]  # fmt: skip
    return replace(result, faces=faces)
