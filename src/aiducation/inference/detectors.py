"""Face detectors behind one small interface, chosen by name from a registry.

A detector takes a BGR (or grayscale) ``uint8`` image and returns :class:`Detection` boxes in
that image's pixel coordinates. ``yunet`` (OpenCV's ``FaceDetectorYN`` with the bundled ONNX
file) is the default; ``haar`` (OpenCV's frontal-face Haar cascade) is a lighter, less accurate
alternative. Register more with :func:`register_detector`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from aiducation.defaults import DEFAULT_DETECTOR

YUNET_FILE = "face_detection_yunet_2023mar.onnx"
YUNET_MIN_SIDE = 64  # YuNet returns garbage boxes (inf, 1e30) for inputs of 32 px or less


Point = tuple[float, float]

# The order of YuNet's five landmarks (OpenCV FaceDetectorYN): the person's right eye (on the
# left of a frontal face in the picture), left eye, nose tip, right and left mouth corners.
LANDMARK_NAMES = ("right_eye", "left_eye", "nose_tip", "right_mouth", "left_mouth")


@dataclass(frozen=True)
class Detection:
    """A face box ``(x, y, w, h)`` in pixels and the detector's confidence.

    ``landmarks``: the five points of :data:`LANDMARK_NAMES` as ``(x, y)`` in the same image's
    pixels (YuNet), or ``None`` for a detector without landmarks (Haar).
    """

    box: tuple[float, float, float, float]
    score: float
    landmarks: tuple[Point, ...] | None = None


class FaceDetector(Protocol):
    def detect(self, image: np.ndarray) -> list[Detection]: ...


_DETECTORS: dict[str, Callable[..., FaceDetector]] = {}


def register_detector(name: str) -> Callable:
    """Decorator: register a detector class (or factory) under ``name``."""

    def wrap(factory: Callable[..., FaceDetector]) -> Callable[..., FaceDetector]:
        _DETECTORS[name] = factory
        return factory

    return wrap


def list_detectors() -> list[str]:
    return sorted(_DETECTORS)


def create_detector(name: str = DEFAULT_DETECTOR, **kwargs) -> FaceDetector:
    """Build the detector registered as ``name``; unknown names raise ``ValueError``."""
    if name not in _DETECTORS:
        raise ValueError(f"unknown detector {name!r}; known: {', '.join(list_detectors())}")
    return _DETECTORS[name](**kwargs)


def yunet_model_path() -> Path:
    """The YuNet ONNX file shipped as package data (see assets/detectors/NOTICE)."""
    return Path(str(resources.files("aiducation") / "assets" / "detectors" / YUNET_FILE))


def valid_detections(
    detections: list[Detection], width: int, height: int, min_side: float = 1.0
) -> list[Detection]:
    """Boxes with finite values, clipped to the ``width``×``height`` image; drops the rest.

    A box (or score) that is NaN or infinite, or less than ``min_side`` pixels wide or high
    once clipped, is dropped, so downstream cropping and drawing only see usable boxes.
    Landmarks are kept as they are (a point may lie outside the picture), or become ``None``
    when any of them is not finite.
    """
    kept = []
    for detection in detections:
        x, y, w, h = detection.box
        if not all(math.isfinite(v) for v in (x, y, w, h, detection.score)):
            continue
        x0, y0 = min(max(x, 0.0), width), min(max(y, 0.0), height)
        x1, y1 = min(max(x + w, 0.0), width), min(max(y + h, 0.0), height)
        if x1 - x0 >= min_side and y1 - y0 >= min_side:
            points = detection.landmarks
            if points is not None and not all(math.isfinite(v) for p in points for v in p):
                points = None
            kept.append(replace(detection, box=(x0, y0, x1 - x0, y1 - y0), landmarks=points))
    return kept


def _to_bgr(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return image


def _downscale(image: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """Shrink ``image`` so its longer side is at most ``max_side``; return it and the factor."""
    scale = min(1.0, max_side / max(image.shape[:2])) if max_side else 1.0
    if scale == 1.0:
        return image, 1.0
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), scale


@dataclass(frozen=True)
class FaceShapeCheck:
    """Sanity filter for weak YuNet detections, using the box and its five landmarks.

    A detection scoring at least ``confident`` is kept. A weaker one must look like a face:
    a box at least ``min_aspect`` as wide as high, or eyes at least ``min_eye_distance`` of
    the box width apart. Tuned on the real media (docs/benchmarks.md): it removes the hand
    that YuNet finds in the demo photo (score 0.67, aspect 0.67, eyes 0.32) and keeps all 52
    photo faces and all 294 faces of the annotated video frames, including half-visible faces
    at the frame edge (narrow boxes, eyes 0.41–0.52 apart) and profiles (scores ≥ 0.85).
    """

    confident: float = 0.75
    min_aspect: float = 0.70
    min_eye_distance: float = 0.34

    def plausible(self, row: np.ndarray) -> bool:
        """``row``: one YuNet output row (x, y, w, h, 5 landmarks (x, y), score)."""
        w, h, score = float(row[2]), float(row[3]), float(row[14])
        if score >= self.confident:
            return True
        if not (w > 0 and h > 0):
            return False
        eyes = math.hypot(float(row[6] - row[4]), float(row[7] - row[5])) / w
        return w / h >= self.min_aspect or eyes >= self.min_eye_distance


@register_detector("yunet")
class YuNetDetector:
    """OpenCV YuNet (CNN, ~9 ms per 640×480 frame on 2 cores; 195/197 faces on real photos),
    with a :class:`FaceShapeCheck` on weak detections (``shape_check=None`` turns it off)."""

    def __init__(
        self,
        score_threshold: float = 0.6,
        nms_threshold: float = 0.3,
        max_side: int = 1280,
        model_path: str | Path | None = None,
        shape_check: FaceShapeCheck | None = FaceShapeCheck(),
    ) -> None:
        self.shape_check = shape_check
        path = Path(model_path) if model_path else yunet_model_path()
        if not path.is_file():
            raise FileNotFoundError(f"YuNet model not found at {path}")
        self.max_side = max_side
        self._net = cv2.FaceDetectorYN.create(
            str(path), "", (320, 320), score_threshold, nms_threshold, 5000
        )
        self._size: tuple[int, int] = (320, 320)

    def detect(self, image: np.ndarray) -> list[Detection]:
        small, scale = _downscale(_to_bgr(image), self.max_side)
        height, width = small.shape[:2]
        if min(height, width) < YUNET_MIN_SIDE:  # pad tiny images (below/right): no garbage
            small = cv2.copyMakeBorder(
                small, 0, max(0, YUNET_MIN_SIDE - height), 0, max(0, YUNET_MIN_SIDE - width),
                cv2.BORDER_CONSTANT, value=(0, 0, 0),
            )  # fmt: skip
        size = (small.shape[1], small.shape[0])
        if size != self._size:
            self._net.setInputSize(size)
            self._size = size
        _, faces = self._net.detect(small)
        if faces is None:
            return []
        found = [
            Detection(
                box=tuple(float(v) / scale for v in face[:4]),
                score=float(face[14]),
                landmarks=tuple(
                    (float(face[i]) / scale, float(face[i + 1]) / scale) for i in range(4, 14, 2)
                ),
            )
            for face in faces
            if self.shape_check is None or self.shape_check.plausible(face)
        ]
        return valid_detections(found, image.shape[1], image.shape[0])


@register_detector("haar")
class HaarDetector:
    """OpenCV's frontal-face Haar cascade (no extra files; misses many non-frontal faces)."""

    def __init__(
        self,
        scale_factor: float = 1.1,
        min_neighbors: int = 5,
        min_size: int = 20,
        max_side: int = 1280,
        cascade: str = "haarcascade_frontalface_default.xml",
    ) -> None:
        self._cascade = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / cascade))
        if self._cascade.empty():
            raise FileNotFoundError(f"OpenCV Haar cascade {cascade} not found")
        self.scale_factor, self.min_neighbors = scale_factor, min_neighbors
        self.min_size, self.max_side = min_size, max_side

    def detect(self, image: np.ndarray) -> list[Detection]:
        gray = image if image.ndim == 2 else cv2.cvtColor(_to_bgr(image), cv2.COLOR_BGR2GRAY)
        small, scale = _downscale(gray, self.max_side)
        boxes, _, weights = self._cascade.detectMultiScale3(
            small,
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors,
            minSize=(self.min_size, self.min_size),
            outputRejectLevels=True,
        )
        return [
            Detection(box=tuple(float(v) / scale for v in box), score=float(weight))
            for box, weight in zip(boxes, np.ravel(weights), strict=True)
        ]
