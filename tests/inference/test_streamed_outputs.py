"""faces.csv and faces.json written row by row (issue 32) are the very files that one table or
one JSON list of every row gave: the same bytes, whatever the chunk size."""

from __future__ import annotations

import math

import pytest

from aiducation.atomic import write_json
from aiducation.inference.outputs import write_json_rows, write_table, write_table_rows
from aiducation.inference.results import (
    FaceResult,
    FrameResult,
    face_records,
    iter_face_records,
    record_columns,
)

COLUMNS = ["source", "frame", "time", "score", "state", "reason", "yaw"]
ROWS = [  # an image (no time) between video frames, missing values, formula-like text
    {"source": "a.mp4", "frame": 0, "time": 0.0, "score": 0.9, "state": "Focused",
     "reason": None, "yaw": -0.0},
    {"source": "=HYPERLINK(1)", "frame": 3, "time": 1.5, "score": 1e-05, "state": "-Bored",
     "reason": "too small", "yaw": None},
    {"source": "photo é.jpg", "frame": 0, "time": None, "score": 1.0, "state": "Other",
     "reason": None, "yaw": 12.5},
    {"source": "'=quoted", "frame": 12, "time": 6.0, "score": math.nan, "state": "Neutral",
     "reason": "turned away", "yaw": 45.0},
    {"source": "b.mp4", "frame": 7, "time": 3.5, "score": 0.25, "state": "@x",
     "reason": None, "yaw": None},
]  # fmt: skip


@pytest.mark.parametrize("chunk", [1, 2, 3, 100])
def test_a_table_written_in_chunks_is_the_same_file(tmp_path, chunk):
    write_table(tmp_path / "whole.csv", ROWS, COLUMNS)
    write_table_rows(tmp_path / "rows.csv", iter(ROWS), COLUMNS, chunk=chunk)
    assert (tmp_path / "rows.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()


@pytest.mark.parametrize("rows", [ROWS, ROWS[:1], []])
def test_json_written_row_by_row_is_the_same_file(tmp_path, rows):
    write_json(tmp_path / "whole.json", rows)
    write_json_rows(tmp_path / "rows.json", iter(rows))
    assert (tmp_path / "rows.json").read_bytes() == (tmp_path / "whole.json").read_bytes()


def test_no_rows_give_the_header_alone(tmp_path):
    write_table(tmp_path / "whole.csv", [], COLUMNS)
    write_table_rows(tmp_path / "rows.csv", iter([]), COLUMNS)
    assert (tmp_path / "rows.csv").read_text() == (tmp_path / "whole.csv").read_text()
    assert (tmp_path / "rows.csv").read_text().strip() == ",".join(COLUMNS)


def test_face_rows_one_at_a_time_are_the_face_records(tmp_path):
    classes = ["Angry", "Bored", "Focused", "Neutral", "Other"]
    face = FaceResult(7, (10, 20, 30, 40), 0.93, "Other", 0.8, dict.fromkeys(classes, 0.2),
                      "happiness", 0.2, "Focused", None, -3.5, 0.0, 1.0, "happiness")  # fmt: skip
    frames = [FrameResult("v.mp4", 64, 48, [face, face], 3, 1.5), FrameResult("p.jpg", 9, 9, [])]
    assert list(iter_face_records(frames, classes)) == face_records(frames, classes)
    write_table(tmp_path / "whole.csv", face_records(frames, classes), record_columns(classes))
    write_table_rows(
        tmp_path / "rows.csv", iter_face_records(frames, classes), record_columns(classes), 1
    )
    assert (tmp_path / "rows.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()
