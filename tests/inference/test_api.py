"""Python API on generated scenes: boxes, states and probabilities, video sampling and tracking."""

from pathlib import Path

import numpy as np
import pytest
from tests.inference.conftest import BRIGHT, CLASSES, DARK, scene

from aiducation.errors import InputError
from aiducation.inference import FrameResult, VideoResult, analyze_image, analyze_video
from aiducation.inference.api import Analyzer, read_image
from aiducation.inference.classifier import FaceClassifier
from aiducation.inference.runner import demo_image_path


def test_image_faces_get_boxes_states_and_probabilities(stub_analyzer: Analyzer) -> None:
    faces = [(50, 60, 80, 80, BRIGHT), (300, 200, 60, 60, DARK), (500, 40, 100, 100, BRIGHT)]
    result = analyze_image(scene(faces), analyzer=stub_analyzer)
    assert isinstance(result, FrameResult) and (result.width, result.height) == (640, 480)
    by_x = sorted(result.faces, key=lambda f: f.box[0])
    assert [f.box for f in by_x] == [f[:4] for f in faces]
    assert [f.state for f in by_x] == ["Angry", "Bored", "Angry"]  # bright → 0, dark → 1
    assert sorted(f.face_id for f in result.faces) == [0, 1, 2]
    for face in result.faces:
        assert sum(face.probabilities.values()) == pytest.approx(1, abs=1e-3)
        assert face.confidence == max(face.probabilities.values())
    assert result.state_counts(CLASSES) == {"Angry": 2, "Bored": 1, "Focused": 0, "Neutral": 0}


def test_image_without_faces_is_a_valid_empty_result(stub_analyzer: Analyzer) -> None:
    result = analyze_image(scene([]), analyzer=stub_analyzer)
    assert result.faces == []


def test_image_from_file_and_bad_files(stub_analyzer: Analyzer, tmp_path: Path) -> None:
    import cv2

    cv2.imwrite(str(tmp_path / "a.png"), scene([(10, 10, 50, 50, DARK)]))
    result = analyze_image(tmp_path / "a.png", analyzer=stub_analyzer)
    assert result.source.endswith("a.png") and [f.state for f in result.faces] == ["Bored"]
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "text.jpg").write_text("not an image")
    with pytest.raises(InputError, match=r"empty\.jpg: empty file"):
        read_image(tmp_path / "empty.jpg")
    with pytest.raises(InputError, match=r"text\.jpg: not a readable image"):
        read_image(tmp_path / "text.jpg")
    with pytest.raises(InputError, match="no such image"):
        read_image(tmp_path / "missing.png")


def test_gif_images_are_read_through_pillow(tmp_path: Path) -> None:
    from PIL import Image

    Image.fromarray(np.full((30, 40, 3), 200, np.uint8)).save(tmp_path / "x.gif")
    assert read_image(tmp_path / "x.gif").shape == (30, 40, 3)


def test_video_faces_keep_one_id_each(stub_analyzer: Analyzer, synthetic_video: Path) -> None:
    result = analyze_video(synthetic_video, analyzer=stub_analyzer)
    assert isinstance(result, VideoResult) and result.fps == pytest.approx(10)
    assert [f.frame for f in result.frames] == list(range(20))
    assert result.frames[3].time == pytest.approx(0.3)
    assert result.track_ids == [0, 1, 2]  # two from the start, one appearing at frame 10
    for frame in result.frames:
        states = {f.face_id: f.state for f in frame.faces}
        assert states[0] == "Angry" and states[1] == "Bored"
        assert (2 in states) is (frame.frame >= 10)


@pytest.mark.parametrize(("kwargs", "frames"), [({"every": 3}, 7), ({"fps": 5}, 10)])
def test_video_frame_sampling(stub_analyzer, synthetic_video, kwargs, frames) -> None:
    result = analyze_video(synthetic_video, analyzer=stub_analyzer, **kwargs)
    assert len(result.frames) == frames
    assert result.track_ids == [0, 1, 2]


def test_corrupt_and_missing_videos_raise_input_error(
    stub_analyzer: Analyzer, synthetic_video: Path, tmp_path: Path
) -> None:
    (tmp_path / "bad.mp4").write_bytes(b"\x00garbage" * 100)
    with pytest.raises(InputError, match=r"bad\.mp4"):
        analyze_video(tmp_path / "bad.mp4", analyzer=stub_analyzer)
    with pytest.raises(InputError, match="no such video"):
        analyze_video(tmp_path / "none.mp4", analyzer=stub_analyzer)
    with pytest.raises(InputError, match="every"):
        analyze_video(synthetic_video, analyzer=stub_analyzer, every=0)


def test_real_detector_and_checkpoint_on_the_demo_photo(checkpoint_dir: Path) -> None:
    result = analyze_image(demo_image_path(), checkpoint=checkpoint_dir, detector="yunet")
    assert 17 <= len(result.faces) <= 22
    assert all(f.state in CLASSES for f in result.faces)


def test_missing_model_and_unknown_detector_are_clear_input_errors(
    checkpoint_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import aiducation.models.checkpoint as checkpoint

    monkeypatch.setattr(checkpoint, "bundled_model_dir", lambda: tmp_path / "no_model")
    with pytest.raises(InputError, match="bundled model is missing"):
        FaceClassifier.load(None)
    with pytest.raises(InputError, match=r"checkpoint .*no such"):
        FaceClassifier.load(tmp_path / "no such")
    with pytest.raises(InputError, match="unknown detector 'nope'"):
        Analyzer.load(checkpoint_dir, detector="nope")


def test_fused_classifier_matches_the_checkpoint(checkpoint_dir: Path) -> None:
    crops = np.random.default_rng(0).integers(0, 256, (40, 48, 48), dtype=np.uint8)
    fused = FaceClassifier.load(checkpoint_dir, batch_size=16).predict_proba(crops)
    plain = FaceClassifier.load(checkpoint_dir, fuse=False).predict_proba(crops)
    assert fused.shape == (40, 4)
    np.testing.assert_allclose(fused, plain, atol=1e-4)
    np.testing.assert_allclose(fused.sum(axis=1), 1, atol=1e-5)
    assert FaceClassifier.load(checkpoint_dir).predict_proba(crops[:0]).shape == (0, 4)


class InterruptedCapture:
    """A capture that yields ``n`` frames, then behaves as if Ctrl-C was pressed."""

    def __init__(self, frame: np.ndarray, n: int) -> None:
        self.frame, self.left = frame, n

    def grab(self) -> bool:
        if self.left == 0:
            raise KeyboardInterrupt
        self.left -= 1
        return True

    def retrieve(self) -> tuple[bool, np.ndarray]:
        return True, self.frame


def test_live_stream_stops_cleanly_on_ctrl_c(stub_analyzer: Analyzer) -> None:
    from aiducation.inference.api import analyze_stream

    capture = InterruptedCapture(scene([(10, 10, 60, 60, BRIGHT)]), n=4)
    result = analyze_stream(capture, "webcam:0", 30.0, 1, stub_analyzer, live=True)
    assert len(result.frames) == 4 and result.track_ids == [0]
    assert all(f.time is not None and f.time < 5 for f in result.frames)  # wall-clock seconds
    with pytest.raises(KeyboardInterrupt):  # files are not live: Ctrl-C propagates
        analyze_stream(InterruptedCapture(scene([]), 1), "f.mp4", 30.0, 1, stub_analyzer)


class _InfiniteBoxDetector:
    def detect(self, image: np.ndarray) -> list:
        from aiducation.inference.detectors import Detection

        return [Detection((-np.inf, 0, np.inf, 5), 1.0), Detection((-5, -5, 20, 20), 0.9)]


def test_analyzer_validates_boxes_of_any_detector(stub_analyzer: Analyzer) -> None:
    analyzer = Analyzer(_InfiniteBoxDetector(), stub_analyzer.classifier)
    result, crops = analyzer.analyze_frame(scene([]))  # raised OverflowError before
    assert [f.box for f in result.faces] == [(0, 0, 15, 15)] and crops.shape == (1, 48, 48)
