"""lesson_record: one analysed video's aggregates (shares per minute, the class's share of
each state with a block-bootstrap interval, anonymous student rows), nothing per face."""

from __future__ import annotations

import datetime
import json

import numpy as np
import pytest
from tests.inference.conftest import write_video
from tests.stubs import CLASSES, stub_analyzer

from aiducation.inference.pipeline import OutputPolicy, SourceResult, analyze_capture
from aiducation.inference.results import FaceResult, FrameResult
from aiducation.inference.video import open_video
from aiducation.lessons import lesson_record
from aiducation.lessons.records import class_intervals


def analysed_video(tmp_path) -> SourceResult:
    path = write_video(tmp_path / "class.mp4", n_frames=20, fps=10.0)
    return analyze_capture(
        open_video(path), str(path), stub_analyzer(), OutputPolicy(), rate=10.0, step=1
    )


def test_a_record_holds_the_aggregates_of_one_video(tmp_path):
    result = analysed_video(tmp_path)
    record = lesson_record(
        result, name="Fractions", course="7b", day=datetime.date(2025, 3, 14),
        model={"name": "stub"}, settings={"fps": None},
    )  # fmt: skip
    assert (record.name, record.course, record.day, record.source) == (
        "Fractions", "7b", datetime.date(2025, 3, 14), "class.mp4",
    )  # fmt: skip
    assert record.classes == tuple(CLASSES) and record.frames == 20
    assert record.duration_s == pytest.approx(2.0) and record.analysed_s == pytest.approx(2.0)
    assert record.faces_seen == record.faces_answered == 50
    assert sum(s.count for s in record.states) == 50
    assert [s.state for s in record.states] == CLASSES
    angry = record.states[0]
    assert angry.share == result.summary["state_shares"]["Angry"]
    assert angry.low <= angry.share <= angry.high
    assert record.states[2].count == 0 and (record.states[2].low, record.states[2].high) == (0, 0)
    assert [(m.minute, m.frames, m.faces) for m in record.minutes] == [(0, 20, 50)]
    assert record.students == 3 and len(record.student_rows) == 3
    assert [row["student"] for row in record.student_rows] == [1, 2, 3]
    text = json.dumps([record.student_rows, [m.row() for m in record.minutes]])
    assert "source" not in text and "class.mp4" not in text  # no file path in the rows
    assert "NaN" not in text  # JSON-safe (an empty interval is None)
    assert "face_id" not in text and '"box"' not in text  # no per-face data


def test_without_a_date_the_lesson_is_today(tmp_path):
    record = lesson_record(
        analysed_video(tmp_path), name="x", course=None, day=None, model={}, settings={}
    )
    assert record.day == datetime.date.today() and record.course is None


def frames_in_two_halves(n: int = 600, fps: float = 2.0) -> list[FrameResult]:
    """``n`` frames of 10 faces: the first half all Angry, the second all Bored."""
    return [
        FrameResult("lesson.mp4", 64, 48,
                    [FaceResult(t, (0, 0, 8, 8), 0.9, "Angry" if i < n // 2 else "Bored", 0.9, {})
                     for t in range(10)],
                    frame=i, time=i / fps)
        for i in range(n)
    ]  # fmt: skip


def test_the_interval_respects_time_a_lesson_of_two_halves_is_uncertain():
    """Faces within a stretch of time are not independent: the interval comes from blocks
    of frames, so a lesson that was Angry for 2.5 min then Bored for 2.5 min gets a wide
    interval around 50 % (independent faces would claim about ±2 %)."""
    result = SourceResult("lesson.mp4", "video", CLASSES, frames_in_two_halves(), 2.0)
    record = lesson_record(result, name="x", course=None, day=None, model={}, settings={})
    angry = record.states[0]
    assert angry.share == 0.5
    assert angry.low < 0.4 and angry.high > 0.6
    assert record.duration_s == pytest.approx(300.0)
    assert [m.shares["Angry"] for m in record.minutes] == [1, 1, 0.5, 0, 0]


def test_class_intervals_edge_cases():
    assert class_intervals(np.zeros((0, 3)), 5) == [None, None, None]
    assert class_intervals(np.zeros((4, 2)), 5) == [None, None]  # no face answered
    steady = np.tile([3, 1], (50, 1))
    assert class_intervals(steady, 100) == [(0.75, 0.75), (0.25, 0.25)]
