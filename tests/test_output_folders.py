"""The output-folder rule (docs/outputs.md): refuse non-empty folders without --overwrite, never
delete files we did not write, no input/output overlap, one clear line for a bad --out."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
import torch

from aiducation.cli import main
from aiducation.errors import InputError
from aiducation.manifest import MANIFEST
from aiducation.models import create_model
from aiducation.models.checkpoint import save_checkpoint
from aiducation.outdir import output_dir


def tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text() for p in root.rglob("*") if p.is_file()}


def write_files(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)


def test_output_dir_replaces_only_its_own_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with output_dir(out, owner="a") as staging:
        write_files(staging, {"x.txt": "1", "sub/y.txt": "1"})
    (out / "user.txt").write_text("mine")
    with pytest.raises(InputError, match="not empty; pass --overwrite"), output_dir(out, owner="a"):
        pass
    with output_dir(out, owner="b", overwrite=True) as staging:
        write_files(staging, {"z.txt": "b"})
    with output_dir(out, owner="a", overwrite=True) as staging:
        write_files(staging, {"x.txt": "2"})
    files = tree(out)
    assert {k: v for k, v in files.items() if k != MANIFEST} == {
        "x.txt": "2",  # replaced
        "user.txt": "mine",  # not ours: kept
        "z.txt": "b",  # another command's: kept
    }  # sub/y.txt (the previous run's, not written again) removed, with its empty folder
    manifest = json.loads(files[MANIFEST])
    assert {owner: sorted(entries) for owner, entries in manifest.items()} == {
        "a": ["x.txt"],
        "b": ["z.txt"],
    }
    assert manifest["a"]["x.txt"] == {"size": 1, "sha256": hashlib.sha256(b"2").hexdigest()}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging left


def test_output_dir_failure_leaves_nothing_and_manifest_cannot_escape(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), output_dir(tmp_path / "new", owner="a") as staging:
        (staging / "half.txt").write_text("half")
        raise RuntimeError("disk full")
    assert list(tmp_path.iterdir()) == []
    out, outside = tmp_path / "out", tmp_path / "outside.txt"
    outside.write_text("keep")
    out.mkdir()
    (out / MANIFEST).write_text(json.dumps({"a": ["../outside.txt", str(outside)]}))
    with output_dir(out, owner="a", overwrite=True) as staging:
        (staging / "x.txt").write_text("1")
    assert outside.read_text() == "keep"


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """A training run folder: best checkpoint, log, config and a user's note."""
    run = tmp_path / "run"
    torch.manual_seed(0)
    save_checkpoint(run / "checkpoints" / "best", create_model("faceresnet_t"),
                    arch="faceresnet_t", arch_kwargs={},
                    classes=["Angry", "Bored", "Focused", "Neutral"])  # fmt: skip
    write_files(run, {"log.csv": "epoch\n1\n", "config.json": "{}", "notes.txt": "mine"})
    return run


def test_evaluate_into_its_run_folder_keeps_the_run(run_dir: Path, prepared_dir: Path, capsys):
    before = {k: (run_dir / k).read_bytes() for k in tree_bytes(run_dir)}
    evaluate = ["evaluate", "--model", str(run_dir), "--data", str(prepared_dir)]
    assert main([*evaluate, "--out", str(run_dir)]) == 2
    err = capsys.readouterr().err.strip()
    assert "not empty; pass --overwrite" in err and "\n" not in err
    assert main([*evaluate, "--out", str(run_dir), "--overwrite"]) == 0
    for name, data in before.items():  # checkpoints, log, config, the user's note: untouched
        assert (run_dir / name).read_bytes() == data, name
    assert (run_dir / "metrics.json").is_file() and (run_dir / "confusion.png").is_file()
    assert main([*evaluate, "--out", str(run_dir), "--overwrite", "--split", "val"]) == 0
    for name, data in before.items():
        assert (run_dir / name).read_bytes() == data, name


def tree_bytes(root: Path) -> list[str]:
    return [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()]


@pytest.mark.parametrize(
    "command",
    [
        ["train", "--model", "faceresnet_t", "--epochs", "1"],
        ["grid", "--models", "faceresnet_t", "--epochs", "1"],
        ["kfold", "--model", "faceresnet_t", "--epochs", "1"],
        ["evaluate"],
    ],
)
def test_commands_refuse_a_users_non_empty_folder(
    prepared_dir: Path, tmp_path: Path, capsys, command: list[str]
) -> None:
    user = tmp_path / "user"
    write_files(user, {"thesis.tex": "mine"})
    assert main([*command, "--data", str(prepared_dir), "--out", str(user)]) == 2
    err = capsys.readouterr().err.strip()
    assert (
        err.startswith(f"error: --out {user}: folder exists and is not empty") and "\n" not in err
    )
    assert tree(user) == {"thesis.tex": "mine"}


@pytest.mark.parametrize("command", ["evaluate", "train"])
def test_output_overlapping_the_data_is_refused(prepared_dir: Path, capsys, command: str) -> None:
    before = tree_bytes(prepared_dir)
    args = [command, "--data", str(prepared_dir), "--out", str(prepared_dir / "x"), "--overwrite"]
    assert main(args) == 2
    assert f"overlaps the input {prepared_dir}" in capsys.readouterr().err
    assert tree_bytes(prepared_dir) == before


def test_bad_out_is_one_line(prepared_dir: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    evaluate = ["evaluate", "--data", str(prepared_dir)]
    (tmp_path / "file.txt").write_text("mine")
    assert main([*evaluate, "--out", str(tmp_path / "file.txt")]) == 2
    assert "is a file" in capsys.readouterr().err
    write_files(tmp_path / "cwd", {"mine.txt": "mine"})
    monkeypatch.chdir(tmp_path / "cwd")
    assert main([*evaluate, "--out", "."]) == 2
    assert "--out .: folder exists and is not empty" in capsys.readouterr().err
    if Path("/proc/self").is_dir():  # not writable, even for root
        assert main([*evaluate, "--out", "/proc/aiducation-out"]) == 2
        err = capsys.readouterr().err.strip()
        assert "cannot write there" in err and "\n" not in err
    if os.geteuid() != 0:  # root ignores permissions
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        assert main([*evaluate, "--out", str(locked / "out")]) == 2
        assert "cannot write there" in capsys.readouterr().err
    assert (tmp_path / "file.txt").read_text() == "mine"


def test_report_out_that_is_a_folder_or_unwritable_is_one_line(tmp_path: Path, capsys) -> None:
    (tmp_path / "folder").mkdir()
    empty = ["--data", str(tmp_path / "none"), "--grid", str(tmp_path / "none")]
    assert main(["report", *empty, "--out", str(tmp_path / "folder")]) == 2
    assert "is a folder" in capsys.readouterr().err
    if Path("/proc/self").is_dir():
        assert main(["report", *empty, "--out", "/proc/aiducation/report.html"]) == 2
        err = capsys.readouterr().err.strip()
        assert "cannot write there" in err and "\n" not in err
