"""The annotated-video writer: H.264 in MP4 (moov first) or VP9 in WebM through PyAV, frames
kept in size (odd sides cropped to even, as OpenCV's mp4v did), nothing half-written."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from aiducation.inference.outputs import CODECS, VideoSink


def frames(n: int, size: tuple[int, int] = (240, 320)) -> list[np.ndarray]:
    """``n`` grey frames with a bright square moving right."""
    out = []
    for i in range(n):
        image = np.full((*size, 3), 128, np.uint8)
        image[40:100, 10 + 8 * i : 70 + 8 * i] = (40, 200, 240)
        out.append(image)
    return out


def stream_facts(path: Path) -> dict:
    with av.open(str(path)) as media:
        video = media.streams.video[0]
        decoded = [frame.to_ndarray(format="bgr24") for frame in media.decode(video)]
        return {
            "codec": video.codec_context.name,
            "pix_fmt": video.codec_context.pix_fmt,
            "size": (video.codec_context.width, video.codec_context.height),
            "frames": decoded,
            "rate": float(video.average_rate),
        }


def test_h264_mp4_keeps_size_rate_and_pictures(tmp_path: Path) -> None:
    shown = frames(12)
    path = tmp_path / "annotated" / "class.mp4"
    with VideoSink(path, 2.5) as sink:
        for image in shown:
            sink.write(image)
    facts = stream_facts(path)
    assert (facts["codec"], facts["pix_fmt"]) == ("h264", "yuv420p")
    assert facts["size"] == (320, 240) and len(facts["frames"]) == 12
    assert facts["rate"] == pytest.approx(2.5)
    # lossy, but the same pictures: the square is where it was drawn
    for drawn, decoded in zip(shown, facts["frames"], strict=True):
        assert np.abs(drawn.astype(int) - decoded).mean() < 4
    data = path.read_bytes()
    assert 0 <= data.find(b"moov") < data.find(b"mdat")  # +faststart: plays while loading
    assert sorted(p.name for p in path.parent.iterdir()) == ["class.mp4"]


def test_vp9_webm_for_the_in_page_clip(tmp_path: Path) -> None:
    path = tmp_path / "clip.webm"
    with VideoSink(path, 29.97 / 15, codec="vp9") as sink:
        for image in frames(5):
            sink.write(image)
    assert path.read_bytes()[:4] == b"\x1a\x45\xdf\xa3"
    facts = stream_facts(path)
    assert facts["codec"] == "vp9" and len(facts["frames"]) == 5
    assert sink.media_type == "video/webm" and CODECS["h264"].media_type == "video/mp4"


def test_odd_sides_lose_their_last_row_and_column_as_with_mp4v(tmp_path: Path) -> None:
    odd = [np.pad(f, ((0, 1), (0, 1), (0, 0)), constant_values=255) for f in frames(3)]
    with VideoSink(tmp_path / "odd.mp4", 10) as sink:
        for image in odd:
            sink.write(image)
    assert stream_facts(tmp_path / "odd.mp4")["size"] == (320, 240)
    # OpenCV's mp4v writer (the previous one) gave the same size
    writer = cv2.VideoWriter(str(tmp_path / "old.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10,
                             (321, 241))  # fmt: skip
    for image in odd:
        writer.write(image)
    writer.release()
    capture = cv2.VideoCapture(str(tmp_path / "old.mp4"))
    assert (capture.get(cv2.CAP_PROP_FRAME_WIDTH), capture.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (
        320, 240,
    )  # fmt: skip
    capture.release()


def test_no_frame_no_file_and_an_interrupted_write_leaves_nothing(tmp_path: Path) -> None:
    with VideoSink(tmp_path / "none.mp4", 10):
        pass
    with pytest.raises(RuntimeError), VideoSink(tmp_path / "v.mp4", 10) as sink:
        sink.write(frames(1)[0])
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_a_frame_too_small_fails_or_is_skipped_when_optional(tmp_path: Path) -> None:
    tiny = np.zeros((1, 1, 3), np.uint8)
    with pytest.raises(OSError, match="too small"), VideoSink(tmp_path / "a.mp4", 10) as sink:
        sink.write(tiny)
    with VideoSink(tmp_path / "b.mp4", 10, required=False) as sink:
        sink.write(tiny)
    assert sink.frames == 0 and list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="codec 'mp4v'"):
        VideoSink(tmp_path / "c.mp4", 10, codec="mp4v")
