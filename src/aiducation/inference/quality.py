"""Face quality and the gate that decides when a face should not be answered (issue 31).

A face gets a :class:`FaceQuality` from what the pipeline already has: the detector's score,
the box's size, the sharpness of the 48×48 crop the classifier sees, and a head pose estimated
from the detector's five landmarks (YuNet; ``None`` for detectors without landmarks). A
:class:`QualityGate` turns it, with the classifier's in-scheme probability, into the reason the
face should be answered "Uncertain" — ``"too small"``, ``"blurred"``, ``"turned away"`` or
``"unsure"`` — or ``None`` when the face may be answered. The default thresholds were chosen on
measurements (``benchmarks/bench_gate.py``, docs/benchmarks.md, "Face-quality gate").

Everything here is a pure function of its inputs; one face costs a few microseconds (a
Laplacian of 48×48 pixels and some trigonometry).

Computing the quality of the faces of one frame::

    detections = detector.detect(frame)
    crops = crop_faces(frame, [d.box for d in detections])      # what the classifier sees
    qualities = [face_quality(d, crop) for d, crop in zip(detections, crops)]
    reasons = [gate.check(q, in_scheme) for q, in_scheme in zip(qualities, in_schemes)]

or ``assess_faces(frame, detections)`` for the first three lines.

**Head pose** is a rough geometric estimate, not a fitted 3D model: the landmarks are first
turned so that the eyes are level (that angle is the roll), then

* yaw = atan(f · d / b), with f the nose tip's horizontal offset from the eye midpoint divided
  by the (observed) distance between the eyes, d the distance between the eyes and b how far
  the nose tip stands in front of them;
* pitch = atan((a − r·c) / (b − r·e)), with r the nose tip's height between the eye line (0)
  and the mouth line (1), a and c how far the nose tip and the mouth line are below the eyes,
  and e how far the mouth stands in front of the eyes.

Both are exact for a rigid head seen from far away (orthographic projection) turned about one
axis; a, b, c, d and e are taken from MediaPipe's canonical face model
(``mediapipe/modules/face_geometry/data/canonical_face_model.obj``, cm: eye centre = the
midpoint of eyelid vertices 159 and 145, nose tip vertex 1, mouth corner vertex 61, and their
mirror images). Real heads differ from that model, YuNet's points are not MediaPipe's, several
turns combine (yaw 30° with pitch 15° reads as yaw 35°), and YuNet places the landmarks of a
profile poorly: the angles were not checked against measured head poses, so read them as
rough (expect 10° or more of error) and beyond ~45° only as "far turned". On frontal faces of
real photos they give a median yaw of 0° and pitch of −3°. Signs:
yaw > 0 when the nose points to the right of the picture, pitch > 0 when the face looks up,
roll > 0 when the face is turned clockwise in the picture (the person's left eye lower).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from aiducation.inference.detectors import Detection
from aiducation.inference.preprocess import CROP_SIZE, crop_faces

# MediaPipe canonical face model (cm), see the module docstring.
EYE_DISTANCE = 6.354  # d: between the eye centres
NOSE_DEPTH = 3.650  # b: nose tip in front of the eye centres
NOSE_DROP = 3.756  # a: nose tip below the eye line
MOUTH_DROP = 6.972  # c: mouth line below the eye line
MOUTH_DEPTH = 0.458  # e: mouth corners in front of the eye centres

REASONS = ("too small", "blurred", "too dark", "turned away", "unsure")


@dataclass(frozen=True)
class FaceQuality:
    """What can be known about one face before trusting its answer.

    ``score``: the detector's confidence. ``size``: the box's shorter side in pixels of the
    analysed picture. ``sharpness``: :func:`sharpness` and ``contrast``: :func:`contrast` of the
    48×48 crop. ``yaw``, ``pitch``,
    ``roll``: degrees from :func:`head_pose`, ``None`` without landmarks.
    """

    score: float
    size: float
    sharpness: float
    yaw: float | None = None
    pitch: float | None = None
    roll: float | None = None
    contrast: float | None = None  # :func:`contrast` of the 48×48 crop


def contrast(crop: np.ndarray) -> float:
    """Standard deviation of the grey levels of a face crop (0–255). Clean FER+ test faces
    spread 23 or more (1st percentile); darkened ones below 10 are classified at chance, while
    noise keeps their :func:`sharpness` high (docs/benchmarks.md, "Contrast")."""
    if crop.ndim == 3:
        crop = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    return float(np.asarray(crop, np.float32).std())


def sharpness(crop: np.ndarray) -> float:
    """Variance of the Laplacian (3×3 kernel ``[0 1 0; 1 -4 1; 0 1 0]``) of a grayscale face
    crop, computed at 48×48 pixels (a crop of another size is first resized to 48×48 with area
    interpolation), so the value does not depend on how large the face was in the picture —
    only on how much fine detail survived into the crop the classifier sees. A face that was
    small and upscaled, blurred, out of focus or dark (low contrast) scores low. FER+ faces
    score 1,400–2,800 (quartiles), faces of real photos and videos a few to ~2,500; FER+ faces
    brought below ~25 are classified at chance."""
    if crop.ndim == 3:
        crop = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    if crop.shape[:2] != (CROP_SIZE, CROP_SIZE):
        crop = cv2.resize(crop, (CROP_SIZE, CROP_SIZE), interpolation=cv2.INTER_AREA)
    laplacian = cv2.Laplacian(crop, cv2.CV_32F, ksize=1)
    return float(cv2.meanStdDev(laplacian)[1][0, 0] ** 2)


def head_pose(
    landmarks: Sequence[tuple[float, float]],
) -> tuple[float, float, float]:
    """``(yaw, pitch, roll)`` in degrees from YuNet's five landmarks (right eye, left eye, nose
    tip, right and left mouth corners, in picture pixels); see the module docstring for the
    formulas, the reference model and the signs."""
    points = np.asarray(landmarks, np.float64).reshape(5, 2)
    right_eye, left_eye = points[0], points[1]
    dx, dy = left_eye - right_eye
    roll = math.atan2(dy, dx)
    cos, sin = math.cos(roll), math.sin(roll)
    # level the eyes: turn every point by -roll about the eye midpoint
    centred = points - (right_eye + left_eye) / 2
    x = centred[:, 0] * cos + centred[:, 1] * sin
    y = -centred[:, 0] * sin + centred[:, 1] * cos
    eyes = math.hypot(dx, dy)
    offset = x[2]  # nose tip from the eye midpoint, along the eye line
    if eyes > 1e-9:
        yaw = math.atan(offset / eyes * EYE_DISTANCE / NOSE_DEPTH)
    else:
        yaw = math.copysign(math.pi / 2, offset) if offset else 0.0
    mouth = (y[3] + y[4]) / 2  # the eye line is y = 0
    if abs(mouth) > 1e-9:
        r = y[2] / mouth
        pitch = math.atan2(NOSE_DROP - r * MOUTH_DROP, NOSE_DEPTH - r * MOUTH_DEPTH)
    else:
        pitch = 0.0
    return math.degrees(yaw), math.degrees(pitch), math.degrees(roll)


def face_quality(detection: Detection, crop: np.ndarray) -> FaceQuality:
    """The quality of one detected face; ``crop``: its grayscale crop as the classifier gets it
    (``preprocess.crop_face`` of the frame and ``detection.box``, 48×48)."""
    _, _, w, h = detection.box
    yaw = pitch = roll = None
    if detection.landmarks is not None:
        yaw, pitch, roll = head_pose(detection.landmarks)
    return FaceQuality(
        score=float(detection.score),
        size=float(min(w, h)),
        sharpness=sharpness(crop),
        yaw=yaw,
        pitch=pitch,
        roll=roll,
        contrast=contrast(crop),
    )


def assess_faces(
    image: np.ndarray, detections: Sequence[Detection], crops: np.ndarray | None = None
) -> list[FaceQuality]:
    """:func:`face_quality` of each detection in ``image`` (BGR or gray); ``crops``: their
    48×48 crops when already made (``crop_faces(image, boxes)``), else they are made here."""
    if crops is None:
        crops = crop_faces(image, [d.box for d in detections])
    return [face_quality(d, c) for d, c in zip(detections, crops, strict=True)]


@dataclass(frozen=True)
class QualityGate:
    """Thresholds below which a face is answered "Uncertain" instead of a state.

    ``min_size``: the box's shorter side (px). ``min_sharpness``: :func:`sharpness` of the
    crop. ``max_yaw``, ``max_pitch``: degrees either way (not checked without landmarks).
    ``min_score``: the detector's confidence. ``min_in_scheme``: the in-scheme probability
    (off by default: a low one already gives "Other", and on FER+ it hardly tells right
    four-state answers from wrong ones). ``None`` turns a rule off.

    The defaults (docs/benchmarks.md, "Face-quality gate"): 22 px is where the bundled model
    loses 5 accuracy points on FER+ test faces shrunk and upscaled again (a 29 px square crop;
    YuNet boxes are 0.76 as wide as high). 25 is the sharpness at which FER+ faces that were
    blurred, shrunk or lost contrast are classified at chance; the sharpness where they lose 5
    points (~230-300) would drop 90 % of the frontal faces of a real soft video, so it is not
    used. Yaw 45°: the faces beyond it in the real media are profiles, and only 1.3 % of FER+
    faces are turned that far (their accuracy is unmeasured). Pitch 30°: beyond every FER+ test
    face (max 25°). Score 0.7: every true face of the real media below it fails another rule;
    it adds only a face-like figurine. Contrast 10 ("too dark"): FER+ test faces darkened below
    it are read at chance (noise keeps their sharpness above 25); no clean test face is below.
    """

    min_size: float | None = 22.0
    min_sharpness: float | None = 25.0
    max_yaw: float | None = 45.0
    max_pitch: float | None = 30.0
    min_score: float | None = 0.7
    min_in_scheme: float | None = None
    min_contrast: float | None = 10.0  # grey-level spread: darker faces are read at chance

    def check(self, quality: FaceQuality, in_scheme: float | None = None) -> str | None:
        """The first reason of :data:`REASONS` that applies, or ``None`` (answer the face).
        A weak detection or a low in-scheme probability gives ``"unsure"``; "blurred" means
        too little detail in the crop (out of focus, moving); "too dark" too little spread of
        grey levels."""
        if _below(quality.size, self.min_size):
            return "too small"
        if _below(quality.sharpness, self.min_sharpness):
            return "blurred"
        if _below(quality.contrast, self.min_contrast):
            return "too dark"
        if _beyond(quality.yaw, self.max_yaw) or _beyond(quality.pitch, self.max_pitch):
            return "turned away"
        if _below(quality.score, self.min_score) or _below(in_scheme, self.min_in_scheme):
            return "unsure"
        return None


def _below(value: float | None, limit: float | None) -> bool:
    return value is not None and limit is not None and value < limit


def _beyond(angle: float | None, limit: float | None) -> bool:
    return angle is not None and limit is not None and abs(angle) > limit
