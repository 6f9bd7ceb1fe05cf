"""Answers over time: each track smoothed (HMM) in videos, the frame's own answer kept, the
same smoothed answers in faces.csv, students, the timeline and the annotated frames."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.inference.conftest import write_video

from aiducation.inference.pipeline import OutputPolicy, analyze_capture
from aiducation.inference.results import FaceResult, FrameResult
from aiducation.inference.runner import AnalyzeConfig, run_analysis
from aiducation.inference.smoothing import SmoothingConfig, smooth_frames
from aiducation.inference.video import open_video
from aiducation.models.answers import AnswerScheme

STATES = ["Angry", "Bored", "Focused", "Neutral"]


def noisy_track(n: int = 20, fps: float = 2.0, flips=(7, 13)) -> list[FrameResult]:
    """One student Focused throughout, with single frames that look Bored."""
    frames = []
    for i in range(n):
        p = [0.05, 0.7, 0.2, 0.05] if i in flips else [0.05, 0.2, 0.7, 0.05]
        face = FaceResult(1, (0, 0, 10, 10), 0.9, STATES[int(np.argmax(p))], max(p),
                          dict(zip(STATES, p, strict=True)))  # fmt: skip
        frames.append(FrameResult("v.mp4", 64, 48, [face], frame=i, time=i / fps))
    return frames


def test_a_steady_student_keeps_one_answer_and_the_frame_answers_are_kept() -> None:
    frames = smooth_frames(noisy_track(), AnswerScheme(STATES), SmoothingConfig())
    assert {f.faces[0].state for f in frames} == {"Focused"}
    assert [f.faces[0].frame_state for f in frames].count("Bored") == 2
    raw = smooth_frames(noisy_track(), AnswerScheme(STATES), SmoothingConfig("none"))
    assert [f.faces[0].state for f in raw].count("Bored") == 2


@pytest.mark.parametrize("fps", [1.0, 2.0, 5.0])
def test_a_real_change_shows_within_seconds_at_any_rate(fps: float) -> None:
    """Focused for 20 s, then Bored for 20 s: the smoothed answer switches near 20 s."""
    n = int(40 * fps)
    frames = noisy_track(n, fps, flips=range(int(20 * fps), n))
    states = [
        f.faces[0].state for f in smooth_frames(frames, AnswerScheme(STATES), SmoothingConfig())
    ]
    switch = states.index("Bored") / fps
    assert abs(switch - 20) <= 2 and states[-1] == "Bored" and states[0] == "Focused"


def test_the_cli_writes_smoothed_and_frame_answers(stub_analyzer, synthetic_video, tmp_path):
    out = tmp_path / "out"
    run_analysis(AnalyzeConfig(inputs=[str(synthetic_video)], out=str(out), progress=False),
                 stub_analyzer)  # fmt: skip
    faces = pd.read_csv(out / "faces.csv")
    assert {"state", "frame_state"} <= set(faces.columns)
    assert faces["frame_state"].notna().all()  # every video face has its own answer too


def test_annotated_frames_show_the_smoothed_answers(stub_analyzer, tmp_path: Path) -> None:
    path = write_video(tmp_path / "v.mp4", n_frames=12)
    seen: list[FrameResult] = []
    done = analyze_capture(
        open_video(path), str(path), stub_analyzer, OutputPolicy(), rate=10.0, step=1,
        reopen=lambda: open_video(path), on_annotated=lambda _, result: seen.append(result),
    )  # fmt: skip
    assert [f.frame for f in seen] == [f.frame for f in done.frames]
    assert [[x.state for x in f.faces] for f in seen] == [
        [x.state for x in f.faces] for f in done.frames
    ]
    assert all(x.frame_state is not None for f in seen for x in f.faces)


def test_shot_cuts_are_found_from_the_trackers_shot_numbers_and_drawn() -> None:
    from aiducation.inference.pipeline import shot_cuts
    from aiducation.inference.plots import timeline_figure
    from aiducation.inference.results import VideoResult

    frames = noisy_track(6)
    video = VideoResult("v.mp4", 2.0, frames, shots=[0, 0, 1, 1, 1, 2])
    assert shot_cuts(video) == [1.0, 2.5]
    figure = timeline_figure(frames, STATES, cuts=shot_cuts(video))
    assert len(figure.axes[0].lines) == 2  # one dashed line per cut
