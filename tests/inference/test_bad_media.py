"""One bad file never stops a batch (issue 14): decompression bombs, the pixel cap, tiny
pictures that make YuNet return infinite boxes, and any other per-file failure."""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from tests.badmedia import gif_bytes, png_bytes
from tests.inference.conftest import BRIGHT, DARK, scene, write_video
from tests.stubs import GarbageYuNet

from aiducation.cli import main
from aiducation.errors import InputError
from aiducation.inference import read_image
from aiducation.inference.api import Analyzer
from aiducation.inference.runner import AnalyzeConfig, demo_image_path, run_analysis


def analyze(model: Path, out: Path, *inputs, extra: tuple = ()) -> int:
    args = ["analyze", "--model", str(model), "--out", str(out), "--no-progress", *extra]
    return main([*args, *map(str, inputs)])


def errors_by_file(out: Path) -> dict[str, str]:
    summary = json.loads((out / "summary.json").read_text())
    return {Path(e["source"]).name: e["error"] for e in summary["errors"]}


@pytest.fixture
def bomb_folder(tmp_path: Path) -> Path:
    """Two good photos, a 29-byte GIF claiming 60000×60000 and a 40000×40000 PNG."""
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "a_demo.jpg").write_bytes(demo_image_path().read_bytes())
    cv2.imwrite(str(folder / "b_room.png"), scene([(50, 60, 80, 80, BRIGHT)]))
    (folder / "bomb.gif").write_bytes(gif_bytes(60000, 60000))
    (folder / "bomb.png").write_bytes(png_bytes(40000, 40000))
    return folder


def test_bombs_are_skipped_and_listed_and_the_good_photos_analysed(
    checkpoint_dir, bomb_folder, tmp_path, capsys
):
    out = tmp_path / "out"
    assert analyze(checkpoint_dir, out, bomb_folder) == 0  # raised a raw cv2.error before
    summary = json.loads((out / "summary.json").read_text())
    assert sorted(Path(s["source"]).name for s in summary["per_source"]) == [
        "a_demo.jpg",
        "b_room.png",
    ]
    assert summary["faces_seen"] >= 17
    errors = errors_by_file(out)
    assert sorted(errors) == ["bomb.gif", "bomb.png"]
    for name, error in errors.items():
        assert error.startswith(str(bomb_folder / name))
        assert "too large" in error and "50 megapixels" in error and "--max-megapixels" in error
    assert sorted(p.name for p in (out / "annotated").iterdir()) == ["a_demo.jpg", "b_room.png"]
    assert "2 input(s) skipped" in capsys.readouterr().out


def test_only_bombs_exit_2_with_one_line_naming_each_file(checkpoint_dir, tmp_path, capsys):
    (tmp_path / "bomb.gif").write_bytes(gif_bytes(60000, 60000))
    assert analyze(checkpoint_dir, tmp_path / "out", tmp_path / "bomb.gif") == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("error: nothing could be processed") and "bomb.gif" in last
    assert "50 megapixels" in last
    assert not (tmp_path / "out" / "summary.json").exists()


def test_pixel_cap_flag_skips_large_pictures_and_videos_before_decoding(checkpoint_dir, tmp_path):
    """A 10000×10000 PNG is refused from its header, a 320×240 video from its frame size."""
    folder = tmp_path / "media"
    folder.mkdir()
    cv2.imwrite(str(folder / "small.png"), scene([], size=(200, 200)))  # 0.04 MP: kept
    (folder / "huge.png").write_bytes(png_bytes(10_000, 10_000))  # 100 MP claimed, 118 bytes
    write_video(folder / "lesson.mp4")  # 320×240 = 0.077 MP
    out = tmp_path / "out"
    assert analyze(checkpoint_dir, out, folder, extra=("--max-megapixels", "0.05")) == 0
    errors = errors_by_file(out)
    assert sorted(errors) == ["huge.png", "lesson.mp4"]
    assert (
        "picture of 10000×10000 pixels is too large (at most 0.05 megapixels" in errors["huge.png"]
    )
    assert "video frame of 320×240 pixels is too large (at most 0.05" in errors["lesson.mp4"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["max_pixels"] == 50_000
    assert [Path(s["source"]).name for s in summary["per_source"]] == ["small.png"]


def test_the_default_cap_refuses_a_picture_pillow_itself_would_decode(tmp_path):
    (tmp_path / "big.png").write_bytes(png_bytes(8000, 8000))  # 64 MP < Pillow's 89 MP
    with pytest.raises(InputError, match=r"big\.png: picture of 8000×8000 pixels is too large"):
        read_image(tmp_path / "big.png")
    assert read_image(tmp_path / "big.png", max_pixels=64_000_000).shape == (8000, 8000, 3)


@pytest.mark.parametrize("value", ["0", "-3"])
def test_non_positive_pixel_cap_is_an_input_error(value, checkpoint_dir, tmp_path, capsys):
    code = analyze(
        checkpoint_dir, tmp_path / "o", demo_image_path(), extra=("--max-megapixels", value)
    )
    assert code == 2 and "--max-megapixels must be positive" in capsys.readouterr().err


def test_one_pixel_png_with_infinite_yunet_boxes_is_analysed(checkpoint_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(cv2.FaceDetectorYN, "create", lambda *args: GarbageYuNet())
    (tmp_path / "dot.png").write_bytes(png_bytes(1, 1))
    out = tmp_path / "out"
    assert analyze(checkpoint_dir, out, tmp_path / "dot.png") == 0  # OverflowError before
    summary = json.loads((out / "summary.json").read_text())
    assert summary["errors"] == [] and summary["faces_seen"] == 0


class _FailingOnWideImages:
    """A detector that crashes (as OpenCV can) on pictures wider than 500 pixels."""

    def __init__(self, analyzer: Analyzer) -> None:
        self.inner = analyzer.detector

    def detect(self, image: np.ndarray) -> list:
        if image.shape[1] > 500:
            raise cv2.error(
                "OpenCV(4.14.0) resize.cpp:4208: error: (-215:Assertion failed)\n!ssize.empty()"
            )
        return self.inner.detect(image)


def test_any_per_file_failure_is_reported_and_the_rest_processed(stub_analyzer, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    cv2.imwrite(str(folder / "wide.png"), scene([(50, 60, 80, 80, DARK)]))  # 640 wide
    cv2.imwrite(str(folder / "narrow.png"), scene([(50, 60, 80, 80, DARK)], size=(300, 300)))
    analyzer = Analyzer(_FailingOnWideImages(stub_analyzer), stub_analyzer.classifier)
    config = AnalyzeConfig(inputs=[str(folder)], out=str(tmp_path / "out"), progress=False)
    summary = run_analysis(config, analyzer)
    assert [Path(s["source"]).name for s in summary["per_source"]] == ["narrow.png"]
    [error] = summary["errors"]
    assert error["source"] == str(folder / "wide.png")
    assert error["error"].startswith(f"{folder / 'wide.png'}: analysis failed (error: OpenCV")
    assert "\n" not in error["error"]
