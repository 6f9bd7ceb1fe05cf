"""The webcam view's faces over time, with nothing kept on the server between frames.

Each request of the webcam view carries the previous answer's ``tracks``: the
:class:`~aiducation.inference.tracking.IoUTracker`'s boxes and, per track, the causal posterior
of :class:`~aiducation.inference.smoothing.CausalSmoother` at the time the face was last seen,
with ``time``, the seconds since the webcam started by the page's clock (when the frame was
taken, not when it reached the server: a frame that waited for another analysis keeps its
time). Here the frame's faces are matched to the tracks, each face's answer is smoothed with
its track's frames so far (``state``; ``frame_state`` is the frame's own answer), and the
updated tracks go back to the page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from aiducation.errors import InputError
from aiducation.inference.results import FaceResult, FrameResult, summarize
from aiducation.inference.smoothing import (
    CausalSmoother,
    SmoothingConfig,
    answer_scheme,
    smooth_live,
)
from aiducation.inference.tracking import IoUTracker, TrackPosterior
from aiducation.models.answers import AnswerScheme


def parse_time(text: str | None) -> float | None:
    """The ``time`` form field: seconds (a finite number ≥ 0) since the webcam started."""
    if text is None:
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds >= 0):
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise InputError(
            f"time: expected the seconds since the webcam started (a number ≥ 0), got {shown!r}"
        )
    return seconds


def chain_sizes(answer: AnswerScheme) -> dict[str, int]:
    """The chains of a carried posterior and their sizes: the learning states, and for a model
    that answers "Other" the in-scheme/Other chain (as :class:`CausalSmoother` keeps them)."""
    if answer.answers_other:
        return {"states": len(answer.states) - 1, "in/out": 2}
    return {"states": len(answer.states)}


@dataclass
class Webcam:
    """One webcam frame's tracker (from the client's state), smoother and clock."""

    tracker: IoUTracker
    answer: AnswerScheme
    smoothing: SmoothingConfig  # the live (causal) parameters
    time: float | None  # seconds since the webcam started; None: tracked, not smoothed

    @classmethod
    def start(
        cls, tracks: object, analyzer, smoothing: SmoothingConfig, time: float | None
    ) -> Webcam:
        """The client's ``tracks`` (parsed JSON) for ``analyzer``'s answers; ``InputError``
        names a bad field, or a ``time`` before a track's last frame."""
        answer = answer_scheme(analyzer.classifier)
        sizes = None if smoothing.method == "none" else chain_sizes(answer)
        try:
            tracker = IoUTracker.from_state(tracks, posterior_sizes=sizes)
        except ValueError as exc:
            raise InputError(str(exc)) from None
        if time is not None:
            for track, posterior in tracker.posteriors.items():
                if time < posterior.time:
                    raise InputError(
                        f"time: {time:g} s is before track {track}'s last frame at "
                        f"{posterior.time:g} s; send the seconds since the webcam started, "
                        "growing from frame to frame"
                    )
        return cls(tracker, answer, smoothing, time)

    @property
    def smoothed(self) -> bool:
        return self.time is not None and self.smoothing.method != "none"

    def follow(self, payload: dict) -> None:
        """Give each face of ``payload`` (the JSON of a photo) its ``track_id`` and, when
        smoothed, its track's answer so far; the summary then counts the smoothed answers, and
        ``payload["tracks"]`` is the state for the next frame."""
        records = payload["faces"]
        ids = self.tracker.update([(f["x"], f["y"], f["w"], f["h"]) for f in records])
        for record, track in zip(records, ids, strict=True):
            record["track_id"] = track
        if self.smoothed:
            self._smooth(payload, records, ids)
        payload["tracks"] = self.tracker.to_state()

    def _smooth(self, payload: dict, records: list[dict], ids: list[int]) -> None:
        smoother, other = CausalSmoother(self.smoothing), self.answer.answers_other
        for track, posterior in self.tracker.posteriors.items():
            smoother.resume(track, posterior.time, posterior.chains, other)
        frame = FrameResult(
            payload["source"], 0, 0,
            [_face(record, track, self.answer) for record, track in zip(records, ids, strict=True)],
            time=self.time,
        )  # fmt: skip
        frame = smooth_live(frame, smoother, self.answer)
        for record, face in zip(records, frame.faces, strict=True):
            record.update(state=face.state, frame_state=face.frame_state,
                          confidence=face.confidence)  # fmt: skip
        for track in ids:
            self.tracker.posteriors[track] = TrackPosterior(*smoother.chains(track, other))
        summary = summarize([frame], payload["classes"])
        summary["sources"] = payload["summary"].get("sources", 1)
        for row in summary["per_frame"]:
            row["source"] = payload["source"]
        payload["summary"] = payload["summary"] | summary


def _face(record: dict, track: int, answer: AnswerScheme) -> FaceResult:
    """A face of the JSON answer, as the smoother reads it (its own answer and probabilities)."""
    return FaceResult(
        face_id=track,
        box=(record["x"], record["y"], record["w"], record["h"]),
        detector_score=record["detector_score"],
        state=record["state"],
        confidence=record["confidence"],
        probabilities={c: float(record.get(f"p_{c}", 0.0)) for c in answer.states},
        expression=record.get("expression"),
        in_scheme=record.get("in_scheme"),
        reason=record.get("reason"),
    )
