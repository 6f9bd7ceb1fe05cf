"""Face quality and the gate (issue 31): size, sharpness, head pose from five landmarks, the
reasons a face is not answered, and YuNet's landmarks on real faces."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from aiducation.inference.api import read_image
from aiducation.inference.detectors import Detection, create_detector, valid_detections
from aiducation.inference.pipeline import demo_image_path
from aiducation.inference.preprocess import crop_faces
from aiducation.inference.quality import (
    REASONS,
    FaceQuality,
    QualityGate,
    assess_faces,
    face_quality,
    head_pose,
    sharpness,
)

# Five points of MediaPipe's canonical face (cm; x right, y up, z towards the camera): the eye
# centres, nose tip and mouth corners that quality.py's constants come from.
FACE_3D = np.array([
    [-3.177, 2.629, 3.826], [3.177, 2.629, 3.826], [0.0, -1.127, 7.476],
    [-2.456, -4.343, 4.284], [2.456, -4.343, 4.284],
])  # fmt: skip


def landmarks(yaw: float = 0, pitch: float = 0, roll: float = 0, scale: float = 5.0):
    """The five points of a head turned by yaw (nose to the picture's right > 0), pitch (up >
    0) and roll (clockwise > 0), seen from far away, in picture pixels (y down)."""
    y, p, r = map(math.radians, (yaw, pitch, roll))
    turn = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    nod = np.array([[1, 0, 0], [0, math.cos(p), math.sin(p)], [0, -math.sin(p), math.cos(p)]])
    points = FACE_3D @ (turn @ nod).T
    x, down = points[:, 0], -points[:, 1]
    c, s = math.cos(r), math.sin(r)
    return tuple(
        (100 + scale * (a * c - b * s), 100 + scale * (a * s + b * c))
        for a, b in zip(x, down, strict=True)
    )


def synthetic_face(side: int = 200, seed: int = 0) -> tuple[np.ndarray, tuple]:
    """A grey picture with a drawn face (sharp edges, skin texture) filling a ``side`` px box
    at (50, 50); returns the BGR picture and the box."""
    rng = np.random.default_rng(seed)
    image = np.full((side + 100, side + 100), 90, np.uint8)
    cx, cy, s = 50 + side // 2, 50 + side // 2, side / 200
    cv2.ellipse(image, (cx, cy), (int(80 * s), int(100 * s)), 0, 0, 360, 170, -1)
    for dx in (-35, 35):
        cv2.ellipse(image, (cx + int(dx * s), cy - int(25 * s)), (int(16 * s), int(8 * s)),
                    0, 0, 360, 240, -1)  # fmt: skip
        cv2.circle(image, (cx + int(dx * s), cy - int(25 * s)), int(6 * s), 30, -1)
        cv2.line(image, (cx + int((dx - 18) * s), cy - int(45 * s)),
                 (cx + int((dx + 18) * s), cy - int(48 * s)), 40, max(1, int(4 * s)))  # fmt: skip
    cv2.line(image, (cx, cy - int(15 * s)), (cx - int(8 * s), cy + int(20 * s)), 110, 2)
    cv2.ellipse(image, (cx, cy + int(50 * s)), (int(30 * s), int(10 * s)), 0, 0, 180, 60,
                max(1, int(4 * s)))  # fmt: skip
    noise = rng.normal(0, 12, image.shape)
    image = np.clip(image + noise, 0, 255).astype(np.uint8)
    box = (50.0 + 20 * s, 50.0, 160.0 * s, 200.0 * s)
    return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), box


def quality_of(image: np.ndarray, box: tuple, points=None, score: float = 0.92) -> FaceQuality:
    return assess_faces(image, [Detection(box, score, points)])[0]


FRONTAL = landmarks()


def test_frontal_sharp_large_face_passes() -> None:
    image, box = synthetic_face()
    quality = quality_of(image, box, FRONTAL)
    assert quality.size == pytest.approx(160)
    assert quality.sharpness > 100
    assert abs(quality.yaw) < 1 and abs(quality.pitch) < 1 and abs(quality.roll) < 1
    assert QualityGate().check(quality, in_scheme=0.9) is None


def test_tiny_face_is_too_small() -> None:
    image, _ = synthetic_face()
    small = cv2.resize(image, None, fx=0.07, fy=0.07, interpolation=cv2.INTER_AREA)
    quality = quality_of(small, (5.0, 3.5, 11.2, 14.0), FRONTAL)
    assert quality.size == pytest.approx(11.2)
    assert QualityGate().check(quality) == "too small"


def test_blurred_face_is_blurred() -> None:
    image, box = synthetic_face()
    sharp = quality_of(image, box, FRONTAL)
    blurred = quality_of(cv2.GaussianBlur(image, (0, 0), 10), box, FRONTAL)
    assert blurred.size == sharp.size
    assert blurred.sharpness < QualityGate().min_sharpness < sharp.sharpness
    assert QualityGate().check(blurred) == "blurred"


def test_sharpness_does_not_depend_on_face_size() -> None:
    """Measured on the 48×48 crop: the same drawn face at 2× and 4× the crop size agrees."""
    big, box_big = synthetic_face(192)
    bigger, box_bigger = synthetic_face(384)
    a, b = quality_of(big, box_big).sharpness, quality_of(bigger, box_bigger).sharpness
    assert a == pytest.approx(b, rel=0.35)
    crop = crop_faces(big, [box_big])[0]
    assert sharpness(crop) == pytest.approx(a)
    larger_crop = crop_faces(big, [box_big], size=96)[0]  # resized to 48×48 first
    assert sharpness(larger_crop) == pytest.approx(a, rel=0.2)


def test_turned_head_is_turned_away() -> None:
    image, box = synthetic_face()
    eyes_y, mouth_y = 80.0, 130.0
    nose_far_right = ((80.0, eyes_y), (120.0, eyes_y), (135.0, 105.0), (85.0, mouth_y),
                      (115.0, mouth_y))  # fmt: skip
    quality = quality_of(image, box, nose_far_right)
    assert quality.yaw > 45
    assert QualityGate().check(quality) == "turned away"
    assert QualityGate(max_yaw=None, max_pitch=None).check(quality) is None


@pytest.mark.parametrize("yaw", [-60, -30, -10, 10, 30, 60])
def test_yaw_sign_and_magnitude(yaw: float) -> None:
    estimated, pitch, roll = head_pose(landmarks(yaw=yaw))
    assert estimated == pytest.approx(yaw, abs=1)
    assert abs(pitch) < 1 and abs(roll) < 1


@pytest.mark.parametrize(("pitch", "roll"), [(20, 0), (-25, 0), (0, 15), (-15, -20)])
def test_pitch_and_roll(pitch: float, roll: float) -> None:
    yaw, estimated_pitch, estimated_roll = head_pose(landmarks(pitch=pitch, roll=roll))
    assert estimated_pitch == pytest.approx(pitch, abs=1)
    assert estimated_roll == pytest.approx(roll, abs=1)
    assert abs(yaw) < 1


def test_combined_pose_is_rough_but_right_in_sign() -> None:
    yaw, pitch, roll = head_pose(landmarks(yaw=30, pitch=15, roll=10))
    assert 20 < yaw < 45 and 10 < pitch < 20 and roll == pytest.approx(10, abs=1)
    yaw, pitch, _ = head_pose(landmarks(yaw=-40, pitch=-15, scale=0.4))  # a small face
    assert -55 < yaw < -30 and -20 < pitch < -10


def test_degenerate_landmarks_do_not_fail() -> None:
    same = ((10.0, 10.0),) * 5
    assert head_pose(same) == (0.0, 0.0, 0.0)
    profile = ((10.0, 10.0), (10.0, 10.0), (20.0, 15.0), (12.0, 20.0), (12.0, 20.0))
    assert head_pose(profile)[0] == pytest.approx(90)


def test_other_reasons_and_rules_that_are_off() -> None:
    good = FaceQuality(score=0.95, size=60, sharpness=500, yaw=0, pitch=0, roll=0)
    gate = QualityGate(min_score=0.8, min_in_scheme=0.6)
    assert gate.check(good, in_scheme=0.9) is None
    assert gate.check(FaceQuality(0.7, 60, 500), in_scheme=0.9) == "unsure"
    assert gate.check(good, in_scheme=0.5) == "unsure"
    assert gate.check(good) is None  # no in-scheme probability given: not checked
    looking_down = FaceQuality(0.95, 60, 500, yaw=0, pitch=-40, roll=0)
    assert gate.check(looking_down) == "turned away"
    no_pose = FaceQuality(0.95, 60, 500)  # a detector without landmarks (Haar)
    assert gate.check(no_pose) is None
    off = QualityGate(None, None, None, None, None, None, None)
    assert off.check(FaceQuality(0.1, 1, 0, yaw=90, pitch=90), in_scheme=0.0) is None
    assert set(REASONS) == {"too small", "blurred", "too dark", "turned away", "unsure"}


def test_face_quality_uses_the_boxes_shorter_side_and_haar_has_no_pose() -> None:
    crop = np.full((48, 48), 128, np.uint8)
    quality = face_quality(Detection((0, 0, 30, 40), 0.5), crop)
    assert (quality.size, quality.sharpness, quality.yaw, quality.pitch) == (30, 0, None, None)
    image = read_image(demo_image_path())
    assert all(d.landmarks is None for d in create_detector("haar").detect(image))


def test_valid_detections_keep_landmarks_and_drop_non_finite_ones() -> None:
    points = ((1.0, 2.0),) * 5
    kept = valid_detections(
        [Detection((-5, 0, 20, 10), 0.9, points), Detection((0, 0, 9, 9), 0.8, ((np.nan, 1),) * 5)],
        100,
        100,
    )
    assert kept == [Detection((0.0, 0.0, 15.0, 10.0), 0.9, points), Detection((0, 0, 9, 9), 0.8)]


def _inside(point, box, slack: float = 0.0) -> bool:
    x, y, w, h = box
    return x - slack <= point[0] <= x + w + slack and y - slack <= point[1] <= y + h + slack


def test_yunet_landmarks_lie_inside_each_box_of_the_demo_photo() -> None:
    image = read_image(demo_image_path())
    found = create_detector("yunet").detect(image)
    assert len(found) >= 17
    for detection in found:
        assert detection.landmarks is not None and len(detection.landmarks) == 5
        assert all(_inside(p, detection.box) for p in detection.landmarks)
        (rx, ry), (lx, ly), nose, (mrx, mry), (mlx, mly) = detection.landmarks
        assert rx < lx and mrx < mlx  # the person's right eye is on the picture's left
        assert max(ry, ly) < nose[1] < min(mry, mly)  # eyes above the nose, above the mouth
    gate = QualityGate()
    reasons = [gate.check(q) for q in assess_faces(image, found)]
    assert reasons.count(None) >= 17  # the 19 frontal faces of the demo photo are answered


def test_yunet_landmarks_are_in_picture_pixels_after_its_downscale() -> None:
    image = read_image(demo_image_path())  # 1024 px wide
    detector = create_detector("yunet")
    found = detector.detect(image)
    twice = cv2.resize(image, None, fx=2, fy=2, interpolation=cv2.INTER_LINEAR)  # > max_side
    matched = 0
    for detection in detector.detect(twice):
        x, y, side = detection.box[0] / 2, detection.box[1] / 2, detection.box[2]
        match = min(found, key=lambda d: abs(d.box[0] - x) + abs(d.box[1] - y))
        if abs(match.box[0] - x) + abs(match.box[1] - y) > 6:
            continue
        matched += 1
        for (x2, y2), (x1, y1) in zip(detection.landmarks, match.landmarks, strict=True):
            slack = 0.08 * side  # YuNet's own jitter between the two scales
            assert x2 == pytest.approx(2 * x1, abs=slack) and y2 == pytest.approx(2 * y1, abs=slack)
    assert matched >= 15
