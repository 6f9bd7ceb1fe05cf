"""Detector registry and the two bundled detectors on blank and real images."""

import numpy as np
import pytest
from tests.stubs import GarbageYuNet

from aiducation.inference import detectors
from aiducation.inference.api import read_image
from aiducation.inference.detectors import (
    Detection,
    create_detector,
    list_detectors,
    register_detector,
    yunet_model_path,
)
from aiducation.inference.runner import demo_image_path


def test_registry_lists_bundled_detectors_and_rejects_unknown_names() -> None:
    assert {"yunet", "haar"} <= set(list_detectors())
    with pytest.raises(ValueError, match=r"unknown detector 'mtcnn'.*haar.*yunet"):
        create_detector("mtcnn")


def test_registering_a_detector_makes_it_creatable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(detectors, "_DETECTORS", dict(detectors._DETECTORS))

    @register_detector("fixed_test_box")
    class Fixed:
        def detect(self, image):
            return [Detection((1, 2, 3, 4), 0.5)]

    assert create_detector("fixed_test_box").detect(None)[0].box == (1, 2, 3, 4)
    assert "fixed_test_box" in list_detectors()


def test_yunet_file_is_bundled_with_its_notice() -> None:
    assert yunet_model_path().stat().st_size == 232_589
    notice = (yunet_model_path().parent / "NOTICE.md").read_text()
    assert "Apache" in notice and "8f2383e4dd3cfbb4" in notice


@pytest.mark.parametrize("name", ["yunet", "haar"])
@pytest.mark.parametrize("shape", [(240, 320, 3), (240, 320), (2000, 3000, 3)])
def test_blank_images_have_no_faces(name: str, shape: tuple) -> None:
    assert create_detector(name).detect(np.full(shape, 127, np.uint8)) == []


@pytest.mark.parametrize("name", ["yunet", "haar"])
def test_faces_found_in_bundled_demo_photo(name: str) -> None:
    image = read_image(demo_image_path())  # 19 frontal faces
    found = create_detector(name).detect(image)
    minimum = 17 if name == "yunet" else 10
    assert minimum <= len(found) <= 22
    for det in found:
        x, y, w, h = det.box
        assert 0 <= x + w / 2 <= image.shape[1] and 0 <= y + h / 2 <= image.shape[0]
        assert 15 < w < 150


def test_yunet_boxes_scale_back_when_the_image_is_downscaled() -> None:
    image = read_image(demo_image_path())
    full = create_detector("yunet", max_side=2000).detect(image)
    small = create_detector("yunet", max_side=800).detect(image)
    assert abs(len(full) - len(small)) <= 2
    mean_w = np.mean([d.box[2] for d in full])
    assert np.mean([d.box[2] for d in small]) == pytest.approx(mean_w, rel=0.15)


def test_valid_detections_drop_non_finite_and_empty_boxes_and_clip_the_rest() -> None:
    boxes = [
        Detection((-np.inf, -6.2e26, np.inf, 0.0), 1.0),  # YuNet on a 1×1 picture
        Detection((np.nan, 0, 10, 10), 0.9),
        Detection((0, 0, 10, 10), np.nan),
        Detection((5, 5, -3, 10), 0.9),  # negative width
        Detection((500, 500, 20, 20), 0.9),  # entirely outside a 100×80 image
        Detection((-1e30, -1e30, 1e28, 1e28), 0.9),  # huge, still left of the image
        Detection((-10, 70, 30, 40), 0.8),  # partly outside: clipped
        Detection((10, 10, 20, 20), 0.7),
    ]
    kept = detectors.valid_detections(boxes, width=100, height=80)
    assert kept == [Detection((0.0, 70.0, 20.0, 10.0), 0.8), Detection((10, 10, 20, 20), 0.7)]


def test_yunet_never_returns_infinite_or_outside_boxes(monkeypatch: pytest.MonkeyPatch) -> None:
    detector = create_detector("yunet")
    monkeypatch.setattr(detector, "_net", GarbageYuNet())
    assert detector.detect(np.full((1, 1, 3), 128, np.uint8)) == []


@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (16, 16), (31, 200), (200, 8), (32, 32)])
def test_yunet_pads_tiny_images_instead_of_returning_garbage(shape: tuple) -> None:
    """YuNet returns boxes like (-inf, -6e26, inf, 0) for inputs of 32 px or less."""
    image = np.random.default_rng(sum(shape)).integers(0, 255, (*shape, 3), dtype=np.uint8)
    for _ in range(3):
        for det in create_detector("yunet").detect(image):
            x, y, w, h = det.box
            assert x >= 0 and x + w <= shape[1] and y >= 0 and y + h <= shape[0]


def _yunet_row(w: float, h: float, eye_gap: float, score: float) -> np.ndarray:
    row = np.zeros(15, np.float32)
    row[:4] = [10, 10, w, h]
    row[4:8] = [10 + w / 2 - eye_gap / 2, 30, 10 + w / 2 + eye_gap / 2, 30]  # right, left eye
    row[14] = score
    return row


@pytest.mark.parametrize(
    ("w", "h", "eye_gap", "score", "kept"),
    [
        (26, 39, 8.3, 0.67, False),  # the hand in the demo photo: narrow, eyes close, weak
        (26, 39, 8.3, 0.80, True),  # the same shape with a confident score
        (43, 70, 21, 0.62, True),  # half-visible face at the frame edge: narrow, eyes apart
        (40, 48, 12, 0.65, True),  # a weak but face-shaped box
    ],
)
def test_shape_check_drops_weak_odd_shaped_detections(w, h, eye_gap, score, kept) -> None:
    assert detectors.FaceShapeCheck().plausible(_yunet_row(w, h, eye_gap, score)) is kept


def test_demo_photo_gives_19_faces_without_the_hand() -> None:
    image = read_image(demo_image_path())
    assert len(create_detector("yunet").detect(image)) == 19
    assert len(create_detector("yunet", shape_check=None).detect(image)) == 20


@pytest.mark.parametrize("shape", [(2, 6000, 3), (6000, 2, 3)])
def test_a_very_narrow_picture_is_detected_without_error(shape: tuple) -> None:
    """Downscaling must never make a side 0 (OpenCV's resize fails on it)."""
    assert create_detector("yunet").detect(np.zeros(shape, np.uint8)) == []
