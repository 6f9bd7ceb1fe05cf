"""Python API: ``analyze_image`` and ``analyze_video`` (detect → crop → classify → track).

>>> from aiducation.inference import analyze_image
>>> result = analyze_image("class.jpg")          # bundled model, YuNet detector
>>> [(f.face_id, f.state, f.confidence) for f in result.faces]

Build an :class:`Analyzer` once to reuse the loaded model and detector across many calls.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from aiducation.errors import InputError
from aiducation.inference.classifier import FaceClassifier
from aiducation.inference.detectors import (
    DEFAULT_DETECTOR,
    FaceDetector,
    create_detector,
    valid_detections,
)
from aiducation.inference.images import read_image
from aiducation.inference.preprocess import DEFAULT_MARGIN, crop_faces
from aiducation.inference.quality import QualityGate, assess_faces
from aiducation.inference.rejoin import rejoin_tracks
from aiducation.inference.results import (
    FrameResult,
    SharedNumbers,
    VideoResult,
    faces_from_probabilities,
)
from aiducation.inference.smoothing import (
    SmoothingConfig,
    answer_scheme,
    smooth_frames_in_place,
)
from aiducation.inference.tracking import FaceTracker, Tracker
from aiducation.inference.video import frame_step, iter_frames, open_video, video_fps

FrameCallback = Callable[[np.ndarray, FrameResult, np.ndarray], None]


@dataclass
class Analyzer:
    """A face detector and a face classifier; ``margin`` grows each box before cropping."""

    detector: FaceDetector
    classifier: FaceClassifier
    margin: float = DEFAULT_MARGIN
    gate: QualityGate | None = None  # faces it refuses are "Uncertain" (None: answer every face)

    @classmethod
    def load(
        cls,
        checkpoint: str | Path | None = None,
        detector: str = DEFAULT_DETECTOR,
        margin: float = DEFAULT_MARGIN,
        scheme: str = "other",
        device: str = "auto",
        gate: QualityGate | None = QualityGate(),  # noqa: B008 (frozen: one shared default)
        **detector_kwargs,
    ) -> Analyzer:
        """Model from a checkpoint or run folder (``None``: bundled) and a registered detector;
        ``scheme`` "other" (default) or "seed4", ``device`` where the model runs (see
        :meth:`FaceClassifier.load`); ``gate`` answers faces too small, blurred or turned away
        "Uncertain" (:class:`QualityGate`, thresholds measured: docs/benchmarks.md)."""
        try:
            face_detector = create_detector(detector, **detector_kwargs)
        except ValueError as exc:
            raise InputError(f"detector: {exc}") from exc
        classifier = FaceClassifier.load(checkpoint, scheme=scheme, device=device)
        return cls(face_detector, classifier, margin, gate)

    @property
    def classes(self) -> list[str]:
        """The states a face can be given (see :attr:`FaceClassifier.states`)."""
        return self.classifier.states

    def analyze_frame(
        self,
        image: np.ndarray,
        source: str = "<array>",
        frame: int = 0,
        time: float | None = None,
        tracker: Tracker | None = None,
        numbers: SharedNumbers | None = None,
    ) -> tuple[FrameResult, np.ndarray]:
        """Result for one BGR frame plus the ``(N, 48, 48)`` crops that were classified.

        Detector boxes are validated first (finite, clipped to the image, empty ones dropped).
        ``numbers``: the faces share their numbers with the other frames of a video.
        """
        height, width = image.shape[:2]
        detections = valid_detections(self.detector.detect(image), width, height)
        boxes = [d.box for d in detections]
        crops = crop_faces(image, boxes, self.margin)
        probabilities, expressions = self.classifier.predict_with_expression(crops)
        scores = [d.score for d in detections]
        ids = tracker.update(boxes, scores, image) if tracker is not None else None
        faces = faces_from_probabilities(
            boxes,
            scores,
            probabilities,
            self.classifier.classes,
            ids,
            expressions=expressions,
            other_threshold=self.classifier.other_threshold,
            qualities=assess_faces(image, detections, crops),
            gate=self.gate,
            numbers=numbers,
        )
        return FrameResult(source, width, height, faces, frame, time), crops


def _analyzer(analyzer: Analyzer | None, checkpoint, detector: str, model=None) -> Analyzer:
    if model is not None:  # the spelling before 0.2; kept until 0.3
        warnings.warn("model= is now checkpoint=", DeprecationWarning, stacklevel=3)
        checkpoint = checkpoint if checkpoint is not None else model
    return analyzer if analyzer is not None else Analyzer.load(checkpoint, detector)


def analyze_image(
    image: str | Path | np.ndarray,
    *,
    checkpoint: str | Path | None = None,
    detector: str = DEFAULT_DETECTOR,
    analyzer: Analyzer | None = None,
    model: str | Path | None = None,
) -> FrameResult:
    """Faces, states and probabilities in one image (a path or a BGR array).

    No face is a valid result (``faces == []``). ``analyzer`` overrides
    ``checkpoint``/``detector`` (``model``: the old spelling of ``checkpoint``).
    """
    analyzer = _analyzer(analyzer, checkpoint, detector, model)
    if isinstance(image, np.ndarray):
        if image.size == 0:
            raise InputError("image array is empty")
        return analyzer.analyze_frame(image)[0]
    return analyzer.analyze_frame(read_image(image), source=str(image))[0]


def analyze_video(
    path: str | Path,
    *,
    every: int = 1,
    fps: float | None = None,
    checkpoint: str | Path | None = None,
    detector: str = DEFAULT_DETECTOR,
    analyzer: Analyzer | None = None,
    tracker: Tracker | None = None,
    on_frame: FrameCallback | None = None,
    model: str | Path | None = None,
    smoothing: SmoothingConfig | None = None,
) -> VideoResult:
    """Analyse every ``every``-th frame (or about ``fps`` frames/s) of a video file.

    Faces are tracked with a :class:`FaceTracker` (ByteTrack, new tracks after shot cuts),
    so ``face_id`` follows one person.
    ``on_frame(frame, result, crops)`` is called per analysed frame (e.g. to write video), with
    the frame's own answers. The returned frames carry re-joined tracks (a person's broken
    track gets one id: :func:`~aiducation.inference.rejoin.rejoin_tracks`) and each track's
    answers smoothed over the whole track (``smoothing``, default :class:`SmoothingConfig`;
    ``frame_state`` keeps each frame's own answer). A file that opens but yields no frame
    raises :class:`InputError`.
    """
    analyzer = _analyzer(analyzer, checkpoint, detector, model)
    capture = open_video(path)
    try:
        rate = video_fps(capture)
        result = analyze_stream(
            capture, str(path), rate, frame_step(rate, every, fps), analyzer, tracker, on_frame
        )
    finally:
        capture.release()
    settle_frames(result.frames, result.shots, analyzer, smoothing or SmoothingConfig())
    return result


def settle_frames(
    frames: list[FrameResult], shots: list[int], analyzer: Analyzer, smoothing: SmoothingConfig
) -> None:
    """A recording's frames (the list ``frames``, changed in place) with one id per person
    (broken tracks re-joined within a shot) and each track's answers smoothed over the whole
    track. A long video's frames are replaced one by one: the frames before settling are
    freed as the settled ones are made when the caller holds no other reference to them."""
    frames[:] = rejoin_tracks(frames, shots=shots).frames
    smooth_frames_in_place(frames, answer_scheme(analyzer.classifier), smoothing)


def analyze_stream(
    capture: cv2.VideoCapture,
    source: str,
    rate: float,
    step: int,
    analyzer: Analyzer,
    tracker: Tracker | None = None,
    on_frame: FrameCallback | None = None,
    live: bool = False,
    max_frames: int | None = None,
) -> VideoResult:
    """Analyse frames from an open capture until it ends, ``max_frames``, or (live) Ctrl-C;
    :class:`InputError` when not one frame could be decoded."""
    tracker = tracker if tracker is not None else FaceTracker(fps=rate / step)
    result = VideoResult(source=source, fps=rate)
    numbers = SharedNumbers()  # a long video keeps every frame's faces: they share numbers
    try:
        for index, time, frame in iter_frames(capture, step, rate, live):
            frame_result, crops = analyzer.analyze_frame(
                frame, source, index, time, tracker, numbers
            )
            result.frames.append(frame_result)
            result.shots.append(getattr(tracker, "shots", 0))
            if on_frame is not None:
                on_frame(frame, frame_result, crops)
            if max_frames is not None and len(result.frames) >= max_frames:
                break
    except KeyboardInterrupt:  # a live stream ends with Ctrl-C; keep what was analysed
        if not live:
            raise
    if not result.frames:
        raise InputError(f"{source}: no frame could be decoded (corrupt or empty video)")
    return result
