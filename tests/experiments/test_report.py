"""``aiducation report``: one self-contained HTML file that renders in headless Chromium."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from tests.experiments.conftest import GRID_MODELS

from aiducation.cli import main
from aiducation.experiments.report import ReportInputs, build_report, find_chromium
from aiducation.experiments.report import render_in_chromium as render


@pytest.fixture
def bias_dir(tmp_path: Path) -> Path:
    """A minimal `aiducation bias` output folder (its tables are read as they are)."""
    out = tmp_path / "bias"
    out.mkdir()
    pd.DataFrame({"group": ["adult", "child"], "accuracy": [0.77, 0.71], "n": [300, 60]}).to_csv(
        out / "table_3_3.csv", index=False
    )
    pd.DataFrame({"attribute": ["age"], "gap": [0.06]}).to_csv(out / "gaps.csv", index=False)
    return out


def test_report_holds_every_section_and_is_self_contained(
    grid_dir: Path, kfold_dir: Path, exp_data: Path, bias_dir: Path
) -> None:
    page = build_report(ReportInputs(exp_data, grid_dir, kfold_dir, [bias_dir]))
    for heading in ("Dataset", "Table 2.2", "Table 3.2", "Bias analysis"):
        assert f"<h2>{heading}" in page or heading in page
    assert all(model in page for model in GRID_MODELS)
    assert "child" in page and "0.7100" in page  # bias table
    assert "mean" in page and "std" in page  # Table 3.2 summary rows
    images = re.findall(r'<img [^>]*src="([^"]+)"', page)
    assert len(images) >= 4 and all(src.startswith("data:image/png;base64,") for src in images)
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing fetched from the network


def test_report_shows_gender_age_bias_tables_and_table_3_4(tmp_path: Path) -> None:
    """A real `bias` output (age and gender, Other rates) and a mitigation report folder."""
    from tests.fairness.fairworld import write_age_gender_outputs

    bias, mitigation = write_age_gender_outputs(tmp_path)
    page = build_report(ReportInputs(bias=[bias], mitigation=[mitigation]))
    assert "female" in page and "age × gender" in page
    assert "class mix versus per-class recall" in page and "Faces called Other" in page
    assert "highest − lowest share per attribute" in page
    assert "Table 3.4" in page and "0.6345" in page


def test_missing_inputs_say_which_command_makes_them(tmp_path: Path) -> None:
    page = build_report(ReportInputs(data=None, grid=tmp_path, kfold=None))
    assert "aiducation grid --preset seed" in page and "aiducation kfold" in page
    assert "aiducation bias" in page and "aiducation mitigate" in page


def test_report_command_writes_the_file_atomically(grid_dir: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out" / "report.html"
    argv = ["report", "--grid", str(grid_dir), "--kfold", str(tmp_path / "none"), "--out", str(out)]
    assert main([*argv, "--data", str(tmp_path / "none")]) == 0
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert [p.name for p in out.parent.iterdir()] == ["report.html"]
    assert main([*argv, "--bias", str(tmp_path / "nope")]) == 2
    assert "--bias" in capsys.readouterr().err


@pytest.mark.skipif(find_chromium() is None, reason="Chromium not installed (apt install chromium)")
def test_report_renders_in_headless_chromium(
    grid_dir: Path, kfold_dir: Path, exp_data: Path, bias_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "report.html"
    out.write_text(build_report(ReportInputs(exp_data, grid_dir, kfold_dir, [bias_dir])))
    dom = render(out)
    loaded, total = map(int, re.search(r'data-images="(\d+)/(\d+)"', dom).groups())
    assert total >= 4 and loaded == total  # every embedded plot decoded
    assert "Table 3.2" in dom and GRID_MODELS[0] in dom


def test_dataset_section_reports_duplicates_across_splits(exp_data: Path, tmp_path: Path) -> None:
    import json
    import shutil

    from aiducation.experiments.report import dataset_section

    data = Path(shutil.copytree(exp_data, tmp_path / "data"))
    summary = json.loads((data / "summary.json").read_text())
    summary["duplicates"] = {
        "labelled": {"images": 160, "distinct": 140, "groups_with_copies": 20,
                     "images_in_those_groups": 40},
        "groups_across_splits": 7,
    }  # fmt: skip
    (data / "summary.json").write_text(json.dumps(summary))
    section = dataset_section(data)
    assert "140 distinct of 160" in section and "7 groups span more than one split" in section


def test_report_takes_a_list_of_bias_folders_and_check_without_chromium_is_one_line(
    tmp_path, capsys, monkeypatch
) -> None:
    from aiducation.cli import main
    from aiducation.experiments import report

    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    out = tmp_path / "r.html"
    monkeypatch.setattr(report, "find_chromium", lambda: None)
    argv = ["report", "--data", str(tmp_path / "none"), "--bias", str(tmp_path / "a"),
            str(tmp_path / "b"), "--out", str(out), "--check"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --check: no Chromium found") and "\n" not in err
    assert out.is_file()  # the report itself was written
