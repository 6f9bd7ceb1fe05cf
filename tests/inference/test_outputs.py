"""Output writers leave nothing half-written; the timeline plot shows every state."""

from pathlib import Path

import numpy as np
import pytest
from tests.inference.conftest import BRIGHT, CLASSES, scene

from aiducation.inference.outputs import VideoSink, write_image
from aiducation.inference.plots import timeline_figure
from aiducation.inference.results import FaceResult, FrameResult, summarize


def frame(index: int, states: list[str]) -> FrameResult:
    faces = [FaceResult(i, (0, 0, 10, 10), 1.0, s, 0.9, {}) for i, s in enumerate(states)]
    return FrameResult("v.mp4", 64, 48, faces, frame=index, time=index / 10)


def test_timeline_stacks_one_band_per_state() -> None:
    frames = [frame(0, ["Angry", "Bored"]), frame(1, ["Bored"]), frame(2, [])]
    fig = timeline_figure(frames, CLASSES)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == CLASSES
    assert ax.get_ylim()[1] >= 2 and ax.get_xlim() == (0.0, 0.2)
    summary = summarize(frames, CLASSES)
    assert summary["faces_seen"] == 3
    assert summary["state_shares"]["Bored"] == pytest.approx(2 / 3, abs=1e-4)
    assert [row["faces"] for row in summary["per_frame"]] == [2, 1, 0]


def test_timeline_count_axis_has_whole_number_ticks() -> None:
    frames = [frame(0, ["Angry", "Bored"]), frame(1, ["Bored"]), frame(2, ["Angry"])]
    fig = timeline_figure(frames, CLASSES)
    fig.canvas.draw()
    ticks = [t for t in fig.axes[0].get_yticks() if 0 <= t <= fig.axes[0].get_ylim()[1]]
    assert len(ticks) >= 2 and all(float(t).is_integer() for t in ticks)


def test_failed_writes_leave_no_files(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot encode"):
        write_image(tmp_path / "x.unknown", np.zeros((4, 4), np.uint8))
    with pytest.raises(RuntimeError), VideoSink(tmp_path / "v.mp4", 10) as sink:
        sink.write(np.zeros((48, 64, 3), np.uint8))
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_images_cv2_cannot_write_are_annotated_as_png(stub_analyzer, tmp_path: Path) -> None:
    from PIL import Image

    from aiducation.inference.runner import AnalyzeConfig, run_analysis

    Image.fromarray(scene([(10, 10, 40, 40, BRIGHT)])).save(tmp_path / "slide.gif")
    config = AnalyzeConfig([str(tmp_path / "slide.gif")], str(tmp_path / "out"), progress=False)
    assert run_analysis(config, stub_analyzer)["faces_seen"] == 1
    assert (tmp_path / "out" / "annotated" / "slide.gif.png").is_file()
