"""Per-student summaries: time on screen, state shares, dominant state, short tracks left out;
students.csv in the output folder (not with --aggregate-only), thumbnails only with crops."""

from pathlib import Path

import pandas as pd
import pytest
from tests.inference.conftest import CLASSES

from aiducation.inference.results import FaceResult, FrameResult
from aiducation.inference.runner import AnalyzeConfig, run_analysis
from aiducation.inference.students import StudentRules, frame_interval, summarize_students
from aiducation.manifest import MANIFEST


def frames_of(tracks: dict[int, list[str | None]], fps: float = 2.0) -> list[FrameResult]:
    """Frames at ``fps`` where track ``t`` shows state ``tracks[t][i]`` (None: not seen)."""
    n = max(len(s) for s in tracks.values())
    frames = []
    for i in range(n):
        faces = [
            FaceResult(t, (10 * t, 0, 10, 10), 0.9, states[i], 0.8, {})
            for t, states in tracks.items()
            if i < len(states) and states[i] is not None
        ]
        frames.append(FrameResult("lesson.mp4", 64, 48, faces, frame=i * 5, time=i / fps))
    return frames


def test_time_on_screen_shares_and_dominant_state() -> None:
    frames = frames_of(
        {
            0: ["Focused", "Focused", "Bored", None, "Focused", "Other"],  # 5 frames = 2.5 s
            1: ["Angry", "Bored", "Bored", "Angry"],  # tie, equal probabilities: first seen
            2: [None, None, "Bored"],  # one frame: not a student
        }
    )
    assert frame_interval(frames) == 0.5
    students = {s.student: s for s in summarize_students(frames, [*CLASSES, "Other"])}
    assert sorted(students) == [1, 2]  # numbered 1..N in order of first appearance
    assert [students[1].track, students[2].track] == [0, 1]
    first = students[1]
    assert (first.frames, first.seconds, first.first_seen, first.last_seen) == (5, 2.5, 0.0, 2.5)
    assert first.dominant == "Focused"
    assert first.shares == pytest.approx(
        {"Angry": 0, "Bored": 0.2, "Focused": 0.6, "Neutral": 0, "Other": 0.2}
    )
    assert students[2].dominant == "Angry" and students[2].seconds == 2.0
    assert first.longest["Focused"] == 1.0 and first.longest["Other"] == 0.5
    low, high = first.intervals["Focused"]
    assert 0 <= low <= 0.6 <= high <= 1
    row = first.row([*CLASSES, "Other"])
    assert row["share_Other"] == 0.2 and row["dominant_state"] == "Focused"


def test_a_tie_goes_to_the_state_with_the_higher_mean_probability() -> None:
    faces = [
        ("Angry", {"Angry": 0.4, "Focused": 0.35}),
        ("Focused", {"Angry": 0.1, "Focused": 0.8}),
    ]
    frames = [
        FrameResult("v.mp4", 64, 48, [FaceResult(0, (0, 0, 10, 10), 0.9, state, 0.5, probs)],
                    frame=i, time=i / 2)
        for i, (state, probs) in enumerate(faces * 2)
    ]  # fmt: skip
    (student,) = summarize_students(frames, CLASSES, StudentRules(min_seconds=0, min_frames=1))
    assert student.shares["Angry"] == student.shares["Focused"] == 0.5
    assert student.dominant == "Focused"  # mean P 0.575 vs 0.25: not "Angry" by class order


def test_share_intervals_cover_the_true_share_at_about_the_stated_rate() -> None:
    """Simulated students whose state switches every few frames: the 95 % block-bootstrap
    interval of the share holds the true share (0.5) in most of 200 lessons."""
    import numpy as np

    from aiducation.inference.students import share_intervals

    rng = np.random.default_rng(1)
    covered = 0
    for _ in range(200):
        states, state = [], "Angry"
        while len(states) < 240:
            states += [state] * int(rng.geometric(1 / 10))
            state = "Bored" if state == "Angry" else "Angry"
        low, high = share_intervals(states[:240], CLASSES, block=20, samples=300)["Angry"]
        covered += low <= 0.5 <= high
    assert covered >= 0.85 * 200


@pytest.mark.parametrize(("min_seconds", "expected"), [(1.0, [1, 2]), (2.1, [1]), (0.0, [1, 2, 3])])
def test_tracks_shorter_than_the_threshold_are_not_students(min_seconds, expected) -> None:
    frames = frames_of({0: ["Bored"] * 5, 1: ["Bored"] * 3, 2: ["Bored"]})
    rules = StudentRules(min_seconds=min_seconds, min_frames=1)
    assert [s.student for s in summarize_students(frames, CLASSES, rules)] == expected


def run(analyzer, out: Path, inputs: list, **options) -> dict:
    config = AnalyzeConfig(inputs=[str(p) for p in inputs], out=str(out), progress=False, **options)
    return run_analysis(config, analyzer)


def test_students_csv_for_each_video(stub_analyzer, synthetic_video, tmp_path) -> None:
    summary = run(stub_analyzer, tmp_path / "out", [synthetic_video, synthetic_video])
    table = pd.read_csv(tmp_path / "out" / "students.csv")
    assert list(table["source"].unique()) == [str(synthetic_video)]  # one path, two runs
    assert len(table) == 6 and table["seconds_on_screen"].tolist() == [2.0, 2.0, 1.0] * 2
    assert set(table["dominant_state"]) == {"Angry", "Bored"}
    assert "thumbnail" not in table.columns
    assert [s["students"] for s in summary["per_source"]] == [3, 3]
    faces = pd.read_csv(tmp_path / "out" / "faces.csv")
    assert set(faces["face_id"]) == set(table["track"])
    assert table["student"].tolist() == [1, 2, 3] * 2


def test_thumbnails_only_with_crops_and_nothing_per_student_when_aggregate_only(
    stub_analyzer, synthetic_video, tmp_path
) -> None:
    run(stub_analyzer, tmp_path / "crops", [synthetic_video], save_crops=True)
    table = pd.read_csv(tmp_path / "crops" / "students.csv")
    assert table["thumbnail"].tolist() == [f"students/class_id{i}.png" for i in (1, 2, 3)]
    assert all((tmp_path / "crops" / t).is_file() for t in table["thumbnail"])
    summary = run(stub_analyzer, tmp_path / "agg", [synthetic_video], aggregate_only=True)
    assert summary["per_source"][0]["students"] == 3
    written = sorted(p.name for p in (tmp_path / "agg").rglob("*") if p.is_file())
    assert "students.csv" not in written and MANIFEST in written


def test_students_csv_is_replaced_and_removed_like_the_other_outputs(
    stub_analyzer, synthetic_video, tmp_path
) -> None:
    out = tmp_path / "out"
    run(stub_analyzer, out, [synthetic_video])
    assert "students.csv" in (out / MANIFEST).read_text()
    photo = tmp_path / "one.png"
    import cv2
    from tests.inference.conftest import BRIGHT, scene

    cv2.imwrite(str(photo), scene([(50, 60, 80, 80, BRIGHT)]))
    run(stub_analyzer, out, [photo], overwrite=True)  # photos only: no students.csv
    assert not (out / "students.csv").exists()
