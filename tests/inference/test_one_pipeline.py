"""One analysis pipeline: the CLI (folder writer) and the web app (in-memory writer) give the
same faces, students and timeline for the same video, and follow one output policy."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aiducation.csvfiles import read_csv
from aiducation.inference.pipeline import OutputPolicy
from aiducation.inference.runner import AnalyzeConfig, run_analysis
from aiducation.web.analysis import WebAnalysisOptions, analyze_upload
from aiducation.web.uploads import check_upload


def without(rows: list[dict], *keys: str) -> pd.DataFrame:
    """The rows without ``keys``, missing values as NaN (as a CSV reads them back)."""
    frame = pd.DataFrame([{k: v for k, v in row.items() if k not in keys} for row in rows])
    return frame.fillna(np.nan).infer_objects()


@pytest.mark.parametrize("aggregate_only", [False, True])
def test_cli_and_web_agree_on_a_video(
    stub_analyzer, synthetic_video: Path, tmp_path, aggregate_only
):
    out = tmp_path / "out"
    config = AnalyzeConfig(
        inputs=[str(synthetic_video)], out=str(out), fps=4.0, max_frames=240, progress=False,
        aggregate_only=aggregate_only,
    )  # fmt: skip
    cli = run_analysis(config, stub_analyzer)
    upload = check_upload("lesson.mp4", synthetic_video.read_bytes(), 2**30)
    options = WebAnalysisOptions(aggregate_only=aggregate_only, video_fps=4.0, max_frames=240)
    web = analyze_upload(upload, stub_analyzer, options)

    timeline = read_csv(out / "timeline_class.csv")
    pd.testing.assert_frame_equal(
        without(timeline.to_dict("records"), "source"),
        without(web.summary["per_frame"], "source"),
        check_dtype=False,
    )
    video = cli["per_source"][0]
    assert (video["students"], video["tracks"]) == (web.summary["students"], web.summary["tracks"])
    assert video["state_counts"] == web.summary["state_counts"]
    if aggregate_only:
        assert web.records == [] and web.students == [] and not (out / "faces.json").exists()
        return
    faces = json.loads((out / "faces.json").read_text())
    assert len(faces) == len(web.records) > 0
    pd.testing.assert_frame_equal(without(faces, "source"), without(web.records, "source"))
    students = read_csv(out / "students.csv")
    assert len(students) == len(web.students) > 0
    pd.testing.assert_frame_equal(
        without(students.to_dict("records"), "source"),
        without(web.student_rows(), "source"),
        check_dtype=False,
    )


def test_the_output_policy_is_decided_once() -> None:
    assert OutputPolicy().keep_thumbnails and not OutputPolicy().keep_crops
    assert not OutputPolicy(blur=True).keep_thumbnails  # a thumbnail would show the face
    assert not OutputPolicy(aggregate_only=True, crops=True).keep_crops
    assert not OutputPolicy(aggregate_only=True).draws
    assert OutputPolicy(aggregate_only=True, preview=True).draws  # a live window, nothing kept
