"""Spreadsheet-safe CSVs (OWASP CSV injection): formula-like text is neutralised on writing and
restored exactly on reading; JSON outputs stay exact."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import pandas as pd
import pytest
from tests.inference.conftest import BRIGHT, scene

from aiducation.csvfiles import FORMULA_STARTS, escape_cell, read_csv, to_csv, unescape_cell
from aiducation.inference.runner import AnalyzeConfig, run_analysis

TRICKY = [
    '=HYPERLINK("http://x","y").jpg', "+SUM(1,1).jpg", "-2+3.jpg", "@cmd.jpg", "\tTAB.jpg",
    "'=already quoted", "''", "'plain", "plain", "", "a=b",
]  # fmt: skip


def cells(path: Path) -> list[list[str]]:
    with path.open(newline="") as f:
        return list(csv.reader(f))


def formula_cells(rows: list[list[str]]) -> list[str]:
    return [cell for row in rows for cell in row if cell[:1] in FORMULA_STARTS]


def test_round_trip_is_exact_and_no_cell_is_a_formula(tmp_path: Path) -> None:
    frame = pd.DataFrame({"name": TRICKY, "value": [-1.5] * len(TRICKY), "=col": TRICKY})
    to_csv(frame, tmp_path / "t.csv")
    rows = cells(tmp_path / "t.csv")
    assert formula_cells([row[:1] + row[2:] for row in rows]) == []  # text cells and header
    assert rows[1][1] == "-1.5"  # numbers are left alone
    back = read_csv(tmp_path / "t.csv", keep_default_na=False)
    assert list(back.columns) == ["name", "value", "=col"]
    assert back["name"].tolist() == TRICKY and back["=col"].tolist() == TRICKY


def test_a_leading_carriage_return_is_neutralised_too() -> None:
    assert escape_cell("\rCR") == "'\rCR" and unescape_cell("'\rCR") == "\rCR"


@pytest.mark.parametrize("name", ['=HYPERLINK("x";"y").jpg', "+SUM(1,1).jpg", "@cmd.jpg"])
def test_analyze_csvs_are_safe_and_json_exact(stub_analyzer, tmp_path, monkeypatch, name) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    cv2.imwrite(str(folder / name), scene([(50, 60, 80, 80, BRIGHT)]))
    monkeypatch.chdir(folder)  # a relative input: the source cell starts with the file name
    out = tmp_path / "out"
    config = AnalyzeConfig(inputs=[name], out=str(out), progress=False)
    run_analysis(config, stub_analyzer)
    rows = cells(out / "faces.csv")
    assert rows[1][0] == f"'{name}" and formula_cells(rows) == []
    assert read_csv(out / "faces.csv")["source"].tolist() == [name]
    assert json.loads((out / "faces.json").read_text())[0]["source"] == name
