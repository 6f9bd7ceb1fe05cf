"""Issue 32: a video's analysis reports its progress (frames done of the expected total, for
both passes), can be cancelled between frames, and never cuts silently: a frame limit, or a
file whose frames end early, is said in summary.json and on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.inference.conftest import write_video

from aiducation.cli import main
from aiducation.inference.pipeline import (
    Cancelled,
    OutputPolicy,
    Progress,
    SourceResult,
    analyze_capture,
)
from aiducation.inference.results import FrameResult
from aiducation.inference.video import expected_frames, open_video


def analyse(path: Path, analyzer, **options) -> SourceResult:
    """20 frames at 10 fps, every 2nd analysed; the annotated frames drawn in a second pass."""
    options.setdefault("on_annotated", lambda *_: None)
    return analyze_capture(
        open_video(path), str(path), analyzer, OutputPolicy(), rate=10.0, step=2,
        reopen=lambda: open_video(path), **options,
    )  # fmt: skip


def rows(done: SourceResult) -> list[dict]:
    return done.records(OutputPolicy())


def test_progress_counts_both_passes_against_the_expected_total(stub_analyzer, tmp_path):
    path = write_video(tmp_path / "class.mp4", n_frames=20)
    assert expected_frames(open_video(path), 2) == 10
    assert expected_frames(open_video(path), 3, max_frames=4) == 4
    seen: list[Progress] = []
    done = analyse(path, stub_analyzer, progress=seen.append, cancelled=lambda: False)
    analysing = [p for p in seen if p.stage == "analysing"]
    drawing = [p for p in seen if p.stage == "drawing"]
    assert [(p.done, p.total) for p in analysing] == [(n, 10) for n in range(1, 11)]
    assert [(p.done, p.total) for p in drawing] == [(n, 10) for n in range(1, 11)]
    assert seen == analysing + drawing  # the drawing pass comes after the analysis
    # the callbacks change nothing
    assert rows(done) == rows(analyse(path, stub_analyzer))
    assert done.coverage() == {"analysed_to_s": 1.8, "duration_s": 2.0, "complete": True,
                               "reason": None}  # fmt: skip


@pytest.mark.parametrize("stage", ["analysing", "drawing"])
def test_a_cancel_check_stops_the_analysis_between_frames(stub_analyzer, tmp_path, stage):
    path = write_video(tmp_path / "class.mp4", n_frames=20)
    seen: list[Progress] = []
    with pytest.raises(Cancelled, match=f"while {stage} frame 3"):
        analyse(path, stub_analyzer, progress=seen.append,
                cancelled=lambda: seen[-1].stage == stage and seen[-1].done == 3)  # fmt: skip
    assert seen[-1] == Progress(stage, 3, 10)


def test_max_frames_is_reported_as_a_cut_never_silently(stub_analyzer, tmp_path):
    path = write_video(tmp_path / "class.mp4", n_frames=20)
    done = analyse(path, stub_analyzer, max_frames=4)
    assert len(done.frames) == 4 and done.stopped_at == pytest.approx(0.6)
    assert done.coverage("--max-frames 4") == {
        "analysed_to_s": 0.6, "duration_s": 2.0, "complete": False, "reason": "--max-frames 4",
    }  # fmt: skip
    # a limit the video does not reach cuts nothing
    assert analyse(path, stub_analyzer, max_frames=10).coverage()["complete"]


def test_a_video_whose_frames_end_early_is_called_truncated() -> None:
    frames = [FrameResult("v.mp4", 64, 48, [], frame=i, time=i / 10) for i in range(0, 50, 5)]
    done = SourceResult("v.mp4", "video", ["Bored"], frames, fps=10.0, duration=147.0)
    assert done.coverage() == {
        "analysed_to_s": 4.5, "duration_s": 147.0, "complete": False,
        "reason": "the video's frames end early: the file is truncated or damaged",
    }  # fmt: skip
    done.duration = 5.0  # within two samples and a second of the stated length: whole
    assert done.coverage()["complete"]


def test_the_cli_says_what_max_frames_left_out_and_shows_a_bar_with_the_total(
    stub_analyzer, tmp_path, capsys, monkeypatch
):
    from aiducation.inference import runner

    path = write_video(tmp_path / "class.mp4", n_frames=20)
    monkeypatch.setattr(runner.Analyzer, "load", classmethod(lambda cls, *a, **k: stub_analyzer))
    out = tmp_path / "o"
    assert main(["analyze", str(path), "--out", str(out), "--fps", "5", "--max-frames", "4"]) == 0
    printed = capsys.readouterr()
    assert f"{path}: analysed up to 0.6 s of 2.0 s only (--max-frames 4)" in printed.out
    assert "/4 [" in printed.err  # tqdm: frames done / the expected total, with its ETA
    summary = json.loads((out / "summary.json").read_text())
    (source,) = summary["per_source"]
    assert source["coverage"] == {"analysed_to_s": 0.6, "duration_s": 2.0, "complete": False,
                                  "reason": "--max-frames 4"}  # fmt: skip
    whole = tmp_path / "whole"
    assert main(["analyze", str(path), "--out", str(whole), "--fps", "5", "--no-progress"]) == 0
    assert "analysed up to" not in capsys.readouterr().out
    assert json.loads((whole / "summary.json").read_text())["per_source"][0]["coverage"]["complete"]
