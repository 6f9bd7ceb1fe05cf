"""One bad file never stops a batch (issue 14): decompression bombs, the pixel cap, tiny
pictures that make YuNet return infinite boxes, and any other per-file failure. Refusals cost
no memory (issue 34): a file's size and header are checked before it is read whole."""

import json
import os
import re
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from tests.badmedia import bmp_rle_bytes, gif_bytes, hdr_bytes, png_bytes
from tests.inference.conftest import BRIGHT, DARK, scene, write_video
from tests.stubs import GarbageYuNet

from aiducation.cli import main
from aiducation.errors import InputError
from aiducation.inference import read_image
from aiducation.inference.api import Analyzer
from aiducation.inference.images import check_pixels, decode_image
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


# --- issue 34: refused before the file is read whole, or decoded -------------------------------


def bytes_read() -> int | None:
    """Bytes this process has read through system calls so far (Linux), else ``None``."""
    try:
        text = Path("/proc/self/io").read_text()
    except OSError:
        return None
    return int(next(line.split()[1] for line in text.splitlines() if line.startswith("rchar")))


@pytest.fixture
def no_read_bytes(monkeypatch):
    """Fail if anything reads a file whole with ``Path.read_bytes`` (what ``read_image`` did)."""

    def refuse(self):
        raise AssertionError(f"{self} read whole")

    monkeypatch.setattr(Path, "read_bytes", refuse)


def assert_read_at_most(call, limit: int = 1 << 20):
    """Run ``call`` (which must raise :class:`InputError`); it may read ``limit`` bytes at most."""
    before = bytes_read()
    start = time.perf_counter()
    with pytest.raises(InputError) as info:
        call()
    assert time.perf_counter() - start < 2
    if before is not None:
        assert bytes_read() - before < limit
    return str(info.value)


def test_a_sparse_multi_gigabyte_file_is_refused_by_its_size_unread(tmp_path, no_read_bytes):
    """A 6 GB file named .jpg (sparse: instant, no disk) took 95 s and 1.9 GB of reading."""
    path = tmp_path / "huge.jpg"
    with path.open("wb") as file:
        file.write(b"\xff\xd8\xff\xe0")
        os.truncate(file.fileno(), 6 * 10**9)
    message = assert_read_at_most(lambda: read_image(path))
    assert message == (
        f"{path}: file of 6,000.0 MB is too large for a picture "
        "(at most 316.8 MB at 50 megapixels, see --max-megapixels)"
    )
    assert "\n" not in message


def test_the_byte_cap_follows_the_pixel_cap(tmp_path):
    path = tmp_path / "photo.png"
    with path.open("wb") as file:
        file.write(png_bytes(100, 100, rows=100))
        os.truncate(file.fileno(), 20 * 10**6)  # zeros after IEND: a readable 100×100 PNG
    assert read_image(path).shape == (100, 100, 3)
    with pytest.raises(InputError, match=r"photo\.png: file of 20\.0 MB is too large .* 0\.5 m"):
        read_image(path, max_pixels=500_000)  # 6 bytes a pixel + 16 MiB = 19.8 MB
    with pytest.raises(InputError, match=r"upload\.png: file of 20\.0 MB is too large"):
        decode_image(path.read_bytes(), "upload.png", max_pixels=500_000)


@pytest.mark.parametrize(
    ("name", "data", "size"),
    [
        ("rle.bmp", bmp_rle_bytes(12_000, 12_000), "12000×12000"),  # 1.2 MB
        ("rle.bmp", bmp_rle_bytes(20_000, 20_000), None),  # 3.2 MB, over Pillow's own limit
        ("big.png", png_bytes(12_000, 12_000, rows=12_000), "12000×12000"),  # 170 KB
    ],
    ids=["bmp-rle-12000", "bmp-rle-20000", "png-12000"],
)
def test_bombs_are_refused_from_a_header_read_alone(name, data, size, tmp_path, no_read_bytes):
    """The header is read, not the file: 100 MB of padding after the picture stays unread."""
    path = tmp_path / name
    with path.open("wb") as file:
        file.write(data)
        os.truncate(file.fileno(), 100 * 10**6)  # sparse: the file is within the byte cap
    message = assert_read_at_most(lambda: read_image(path))
    assert message.startswith(f"{path}: picture of ") and "50 megapixels" in message
    if size:
        assert f"picture of {size} pixels is too large" in message
    with pytest.raises(InputError, match="too large"):  # the web app's path, bytes in memory
        decode_image(data, name)


def test_opencv_never_decodes_a_picture_whose_header_pillow_cannot_read(monkeypatch, tmp_path):
    """A Radiance HDR header claiming 20000×20000 (OpenCV would allocate 4.8 GB) is refused:
    its size is unknown, so it is not a picture this program decodes."""

    def imdecode(*args):
        raise AssertionError("OpenCV decoded a picture of unknown size")

    monkeypatch.setattr(cv2, "imdecode", imdecode)
    (tmp_path / "x.jpg").write_bytes(hdr_bytes(20_000, 20_000))
    for call in (
        lambda: read_image(tmp_path / "x.jpg"),
        lambda: decode_image(hdr_bytes(9, 9), "x"),
    ):
        with pytest.raises(InputError, match=r"x(\.jpg)?: not a readable image \(damaged, or not"):
            call()


@pytest.mark.parametrize(("width", "height"), [(60_000, 2), (2, 60_000), (1_010, 10)])
def test_extreme_aspect_ratios_are_refused(width, height, tmp_path):
    """A 60000×2 PNG decoded fine, then crashed face detection (a 500 in the web app)."""
    data = png_bytes(width, height, rows=height)
    (tmp_path / "strip.png").write_bytes(data)
    expected = f"picture of {width}×{height} pixels is too elongated (one side more than 100 times"
    for call in (lambda: read_image(tmp_path / "strip.png"), lambda: decode_image(data, "up.png")):
        with pytest.raises(InputError, match=re.escape(expected)):
            call()


def test_aspect_ratios_up_to_100_are_kept_and_unknown_video_sizes_pass(tmp_path):
    (tmp_path / "wide.png").write_bytes(png_bytes(1_000, 10, rows=10))
    assert read_image(tmp_path / "wide.png").shape == (10, 1_000, 3)
    check_pixels("camera", 0, 0, what="video frame")  # a capture that does not say its size
    with pytest.raises(
        InputError, match=r"lesson\.mp4: video frame of 6400×48 pixels is too elong"
    ):
        check_pixels("lesson.mp4", 6400, 48, what="video frame")
