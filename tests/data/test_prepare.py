"""``aiducation prepare`` end to end on the generated world: both inputs, outputs, options."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from ferworld import EXPECTED, RawWorld

from aiducation.cli import main
from aiducation.data.dataset import load_prepared
from aiducation.data.labels import LEARNING_STATES, VOTE_COLUMNS
from aiducation.data.prepare import PrepareConfig, png_names, prepare

META_COLUMNS = ["index", "source_row", "image_name", "usage", "split", "label", "label_id",
                "dup_group", *VOTE_COLUMNS]  # fmt: skip


def run_prepare(world: RawWorld, mode: str, out: Path, *extra: str, report: bool = False) -> int:
    """Run the CLI on the world; the report (slow matplotlib) only when asked for."""
    inputs = (
        ["--fer2013", str(world.fer2013_csv), "--ferplus", str(world.votes_csv)]
        if mode == "csv"
        else ["--ferplus-dir", str(world.ferplus_dir), "--ferplus", str(world.votes_csv)]
    )
    flags = ["--quiet", *([] if report else ["--no-report"])]
    return main(["prepare", *inputs, "--out", str(out), *flags, *extra])


@pytest.mark.parametrize("mode", ["csv", "folders"])
def test_prepare_writes_the_prepared_format(world: RawWorld, tmp_path: Path, mode: str) -> None:
    out = tmp_path / "out"
    assert run_prepare(world, mode, out) == 0
    data = load_prepared(out)
    assert list(data.meta.columns) == META_COLUMNS
    assert data.images.dtype == np.uint8 and data.images.shape == (EXPECTED["images"], 48, 48)
    for key, value in EXPECTED.items():
        assert data.summary[key] == value, key
    # Each image is the face of its source row; labels, votes and usage follow the source row.
    rows = data.meta["source_row"].to_numpy()
    np.testing.assert_array_equal(data.images, world.images[rows])
    assert data.meta["label"].tolist() == world.rows["label"].to_numpy()[rows].tolist()
    np.testing.assert_array_equal(data.votes, world.rows[list(VOTE_COLUMNS)].to_numpy()[rows])
    assert data.classes == list(LEARNING_STATES)
    assert data.summary["rule_set"] == "seed"
    # Official split follows Usage.
    usage_to_split = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}
    assert (data.meta["split"] == data.meta["usage"].map(usage_to_split)).all()
    counts = data.summary["split_counts"]
    assert counts["train"] == {"Angry": 6, "Bored": 7, "Focused": 7, "Neutral": 6}
    assert counts["test"] == {c: 3 for c in LEARNING_STATES}
    # Duplicates: the identical pair and the shared-name pair each share a group, nothing else.
    group_of = dict(zip(rows, data.groups, strict=True))
    for a, b in (world.duplicate_rows, world.same_name_rows):
        assert group_of[a] == group_of[b]
    assert data.summary["duplicate_groups"] == 2
    assert len(set(data.groups)) == EXPECTED["images"] - 2
    assert data.summary["duplicates"]["groups_across_splits"] == 1  # official split leaks one
    # The cleaned rows no rule labels are kept apart, for auxiliary training on their votes.
    unlabelled = data.unlabelled
    assert len(unlabelled.meta) == data.summary["rows_unlabelled"] > 0
    assert list(unlabelled.meta.columns) == META_COLUMNS
    assert (unlabelled.meta["label_id"] == -1).all() and (unlabelled.meta["label"] == "").all()
    extra_rows = unlabelled.meta["source_row"].to_numpy()
    assert not set(extra_rows) & set(rows)
    assert len(extra_rows) + len(rows) == EXPECTED["rows_after_unknown"]
    np.testing.assert_array_equal(unlabelled.images, world.images[extra_rows])
    assert (unlabelled.meta["split"] == unlabelled.meta["usage"].map(usage_to_split)).all()


def test_both_inputs_give_the_same_dataset(world: RawWorld, tmp_path: Path) -> None:
    assert run_prepare(world, "csv", tmp_path / "csv") == 0
    assert run_prepare(world, "folders", tmp_path / "folders") == 0
    a, b = load_prepared(tmp_path / "csv"), load_prepared(tmp_path / "folders")
    np.testing.assert_array_equal(a.images, b.images)
    assert a.meta.equals(b.meta)
    assert a.summary["source"]["mode"] == "csv" and b.summary["source"]["mode"] == "folders"


def test_folder_input_reports_label_csv_disagreement(world: RawWorld, tmp_path: Path) -> None:
    label_csv = world.ferplus_dir / "FER2013Train" / "label.csv"
    lines = label_csv.read_text().splitlines()
    lines[2] = lines[2].rsplit(",", 1)[0] + ",3"  # older NF vote for one image
    label_csv.write_text("\n".join(lines) + "\n")
    assert run_prepare(world, "folders", tmp_path / "out") == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["source"]["label_csv_votes_differing"] == 1
    assert summary["class_counts"] == EXPECTED["class_counts"]  # labels come from fer2013new


def test_ferplus_defaults_to_the_vote_file_in_the_folder(world: RawWorld, tmp_path: Path) -> None:
    (world.ferplus_dir / "fer2013new.csv").write_bytes(world.votes_csv.read_bytes())
    args = ["prepare", "--ferplus-dir", str(world.ferplus_dir), "--out", str(tmp_path / "o")]
    assert main([*args, "--quiet", "--no-report"]) == 0
    assert load_prepared(tmp_path / "o").summary["images"] == EXPECTED["images"]


def test_random_split_is_seeded_and_keeps_duplicates_together(
    world: RawWorld, tmp_path: Path
) -> None:
    split_args = ("--split", "random", "--fractions", "0.5", "0.25", "0.25")
    for name, seed in (("a", "1"), ("b", "1"), ("c", "2")):
        assert run_prepare(world, "csv", tmp_path / name, *split_args, "--seed", seed) == 0
    a, b, c = (load_prepared(tmp_path / n) for n in "abc")
    assert a.meta["split"].tolist() == b.meta["split"].tolist()
    assert a.meta["split"].tolist() != c.meta["split"].tolist()
    assert a.summary["duplicates"]["groups_across_splits"] == 0
    assert a.summary["split"] == {"method": "random", "seed": 1, "fractions": [0.5, 0.25, 0.25]}
    for split, share in (("train", 0.5), ("val", 0.25), ("test", 0.25)):
        for cls, total in EXPECTED["class_counts"].items():
            assert abs(a.summary["split_counts"][split][cls] - share * total) <= 1.5


def test_report_and_png_export(world: RawWorld, tmp_path: Path) -> None:
    out, pngs = tmp_path / "out", tmp_path / "pngs"
    assert run_prepare(world, "folders", out, "--export-png", str(pngs), report=True) == 0
    data = load_prepared(out)
    report = out / "report"
    for name in ("class_counts.png", "samples.png", "split_counts.csv", "split_counts.md"):
        assert (report / name).stat().st_size > 0, name
    assert "| total | 12 | 13 | 13 | 12 | 50 |" in (report / "split_counts.md").read_text()
    assert cv2.imread(str(report / "samples.png")) is not None
    files = sorted(pngs.rglob("*.png"))
    assert len(files) == EXPECTED["images"]  # shared-name pair exported under two names
    assert {p.parent.name for p in files} == set(LEARNING_STATES)
    names = png_names(data.meta)
    for i in (0, len(names) - 1):
        exported = cv2.imread(str(pngs / data.meta["label"][i] / names[i]), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(exported, data.images[i])


def test_existing_output_needs_overwrite(world: RawWorld, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_prepare(world, "csv", out) == 0
    assert not (out / "report").exists()
    assert run_prepare(world, "csv", out, report=True) == 2
    assert not (out / "report").exists()
    assert run_prepare(world, "csv", out, "--overwrite", report=True) == 0
    assert (out / "report" / "report.md").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "raw"]


def test_failure_while_writing_leaves_nothing(
    world: RawWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_report(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("aiducation.data.prepare.write_report", broken_report)
    config = PrepareConfig(out=tmp_path / "out", fer2013=world.fer2013_csv,
                           ferplus=world.votes_csv, progress=False)  # fmt: skip
    assert config.report  # the failure comes from writing the report
    with pytest.raises(OSError, match="disk full"):
        prepare(config)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw"]


def test_other_rule_set(world: RawWorld, tmp_path: Path) -> None:
    assert run_prepare(world, "csv", tmp_path / "o", "--rule-set", "ferplus-majority") == 0
    data = load_prepared(tmp_path / "o")
    assert data.summary["rule_set"] == "ferplus-majority"
    assert data.classes[:2] == ["neutral", "happiness"]
    assert data.summary["class_counts"]["happiness"] == 3  # the unlabelled-by-seed rows


def test_input_and_output_may_not_overlap(world: RawWorld, tmp_path: Path, capsys) -> None:
    source = sorted(p.relative_to(world.root) for p in world.root.rglob("*"))
    folders = ["--ferplus-dir", str(world.ferplus_dir)]
    for out, export in ((world.ferplus_dir, None), (tmp_path / "o", world.ferplus_dir / "x"),
                        (world.root, None), (tmp_path / "o", tmp_path / "o" / "pngs")):  # fmt: skip
        extra = ["--export-png", str(export)] if export else []
        code = main(["prepare", *folders, "--out", str(out), *extra, "--overwrite", "--quiet"])
        assert code == 2
        err = capsys.readouterr().err.strip()
        assert "overlaps" in err and "\n" not in err
    assert sorted(p.relative_to(world.root) for p in world.root.rglob("*")) == source
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw"]


def test_next_run_removes_the_staging_folder_of_a_killed_run(
    world: RawWorld, tmp_path: Path
) -> None:
    import subprocess
    import sys

    killed = (
        "import os, sys\nfrom aiducation.outdir import output_dir\n"
        "with output_dir(sys.argv[1], owner='prepare') as staging:\n"
        "    (staging / 'images.npy').write_bytes(bytes(10_000))\n"
        "    os.kill(os.getpid(), 9)\n"
    )
    out = tmp_path / "out"
    assert subprocess.run([sys.executable, "-c", killed, str(out)]).returncode == -9
    left = sorted(p.name for p in tmp_path.iterdir() if p.name != "raw")  # staging + lock file
    assert [name.startswith(".out.tmp-") for name in left] == [False, True], left
    assert run_prepare(world, "csv", out) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "raw"]


def test_overwrite_keeps_users_files_in_the_export_folder(world: RawWorld, tmp_path: Path) -> None:
    out, pngs = tmp_path / "out", tmp_path / "pngs"
    (pngs / "Angry").mkdir(parents=True)
    (pngs / "Angry" / "holiday.png").write_bytes(b"mine")
    assert run_prepare(world, "csv", out, "--export-png", str(pngs)) == 2  # not empty
    assert run_prepare(world, "csv", out, "--export-png", str(pngs), "--overwrite") == 0
    assert (pngs / "Angry" / "holiday.png").read_bytes() == b"mine"
    assert len(list(pngs.rglob("*.png"))) == EXPECTED["images"] + 1


def test_export_names_stay_inside_their_class_folder_and_differ_ignoring_case() -> None:
    meta = pd.DataFrame(
        {
            "image_name": ["../../escape.png", "a/b.png", "..", "Face.png", "face.png", "ok.png"],
            "source_row": [1, 2, 3, 4, 5, 6],
            "label": ["Angry"] * 6,
        }
    )
    names = png_names(meta)
    assert names == [
        "row00001.png", "row00002.png", "row00003.png", "Face_row4.png", "face_row5.png", "ok.png"
    ]  # fmt: skip
