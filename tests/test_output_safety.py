"""The output-folder rule under hostile or careless input (issue 34): links inside the output,
an edited manifest, two runs racing for one folder, look-alike temp names, forbidden places,
outputs onto inputs, and clear lines instead of tracebacks."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import subprocess
import sys
from pathlib import Path

import pytest

from aiducation.atomic import atomic_directory, atomic_file
from aiducation.cli import main
from aiducation.errors import InputError
from aiducation.manifest import MANIFEST
from aiducation.outdir import STAGING_MARKER, check_output_dir, output_dir


def write_files(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)


def fingerprint(text: str) -> dict:
    return {"size": len(text.encode()), "sha256": hashlib.sha256(text.encode()).hexdigest()}


def entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_linked_sub_folder_is_never_written_through(tmp_path: Path, capsys) -> None:
    photos, out = tmp_path / "photos", tmp_path / "out"
    write_files(photos, {"one.jpg": "my photo"})
    with output_dir(out, owner="analyze") as staging:
        write_files(staging, {"summary.json": "{}"})
    (out / "annotated").symlink_to(photos, target_is_directory=True)
    with (
        pytest.raises(InputError, match=r"annotated: is a symbolic link inside the output"),
        output_dir(out, owner="analyze", overwrite=True) as staging,
    ):
        write_files(staging, {"annotated/one.jpg": "annotated", "summary.json": "{new}"})
    assert (photos / "one.jpg").read_text() == "my photo"
    assert (out / "summary.json").read_text() == "{}"  # nothing half-moved
    assert entries(tmp_path) == ["out", "photos"]  # no staging or lock left


def test_a_link_in_the_place_of_our_file_is_replaced_not_followed(tmp_path: Path) -> None:
    mine, out = tmp_path / "mine.txt", tmp_path / "out"
    mine.write_text("mine")
    out.mkdir()
    (out / "summary.json").symlink_to(mine)
    with output_dir(out, owner="a", overwrite=True) as staging:
        write_files(staging, {"summary.json": "ours"})
    assert mine.read_text() == "mine"
    assert not (out / "summary.json").is_symlink()
    assert (out / "summary.json").read_text() == "ours"


def test_a_manifest_entry_through_a_linked_folder_deletes_nothing_outside(tmp_path: Path) -> None:
    elsewhere, out = tmp_path / "elsewhere", tmp_path / "out"
    write_files(elsewhere, {"x.txt": "keep"})
    out.mkdir()
    (out / "docs").symlink_to(elsewhere, target_is_directory=True)
    manifest = {"a": {"docs/x.txt": fingerprint("keep")}}
    (out / MANIFEST).write_text(json.dumps(manifest))
    with output_dir(out, owner="a", overwrite=True) as staging:
        write_files(staging, {"y.txt": "1"})
    assert (elsewhere / "x.txt").read_text() == "keep"


@pytest.mark.parametrize(
    ("recorded", "reason"),
    [
        (None, "listed by an older version without a checksum"),  # a list of names
        (fingerprint("what we wrote"), "changed since this command wrote it"),
    ],
)
def test_an_edited_manifest_cannot_delete_a_users_file(
    tmp_path: Path, capsys, recorded: dict | None, reason: str
) -> None:
    out = tmp_path / "out"
    write_files(out, {"thesis.tex": "mine"})
    listed = ["thesis.tex"] if recorded is None else {"thesis.tex": recorded}
    (out / MANIFEST).write_text(json.dumps({"analyze": listed}))
    with output_dir(out, owner="analyze", overwrite=True) as staging:
        write_files(staging, {"summary.json": "{}"})
    assert (out / "thesis.tex").read_text() == "mine"
    err = capsys.readouterr().err
    assert f"thesis.tex ({reason})" in err and err.count("\n") == 1


def test_an_unchanged_file_of_ours_is_removed_when_not_written_again(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with output_dir(out, owner="a") as staging:
        write_files(staging, {"sub/old.csv": "old", "keep.csv": "1"})
    with output_dir(out, owner="a", overwrite=True) as staging:
        write_files(staging, {"keep.csv": "2"})
    assert entries(out) == [MANIFEST, "keep.csv"]


def _hold_the_claim(out: str, claimed, release, done) -> None:
    with output_dir(out, owner="analyze") as staging:
        (staging / "summary.json").write_text("first")
        claimed.set()
        release.wait(60)
    done.set()


def test_two_processes_into_one_new_folder_the_second_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    context = multiprocessing.get_context("spawn")
    claimed, release, done = context.Event(), context.Event(), context.Event()
    first = context.Process(target=_hold_the_claim, args=(str(out), claimed, release, done))
    first.start()
    try:
        assert claimed.wait(60)
        with (
            pytest.raises(InputError, match="another aiducation command is writing there"),
            output_dir(out, owner="evaluate") as staging,
        ):
            (staging / "summary.json").write_text("second")
    finally:
        release.set()
        first.join(60)
    assert first.exitcode == 0 and done.is_set()
    assert (out / "summary.json").read_text() == "first"


def test_a_run_checked_before_another_committed_is_refused_at_its_commit(tmp_path: Path) -> None:
    out = tmp_path / "out"
    check_output_dir(out)  # the second run's early check: the folder is still missing
    with output_dir(out, owner="analyze") as staging:  # the first run, finished meanwhile
        (staging / "summary.json").write_text("first")
    with pytest.raises(InputError, match="not empty"), output_dir(out, owner="evaluate"):
        pass
    assert (out / "summary.json").read_text() == "first"


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_only_marked_staging_folders_of_dead_processes_are_removed(tmp_path: Path) -> None:
    pid = _dead_pid()
    lookalike_dir = tmp_path / f".out.tmp-{pid}-mine"
    write_files(lookalike_dir, {"notes.txt": "mine"})
    lookalike_file = tmp_path / f".out.tmp-{pid}-draft.txt"
    lookalike_file.write_text("mine")
    stale = tmp_path / f".out.tmp-{pid}-abc123"
    write_files(stale, {STAGING_MARKER: str(pid), "content/half.csv": "half"})
    with output_dir(tmp_path / "out", owner="a") as staging:
        (staging / "x.txt").write_text("1")
    assert not stale.exists()
    assert (lookalike_dir / "notes.txt").read_text() == "mine"
    assert lookalike_file.read_text() == "mine"
    with atomic_file(tmp_path / "out.csv") as tmp:  # single files follow the same rule
        tmp.write_text("a")
    assert lookalike_file.exists() and (tmp_path / "out.csv").read_text() == "a"


def test_forbidden_places_are_refused_whatever_the_flags(tmp_path: Path, monkeypatch) -> None:
    import aiducation

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    package = Path(aiducation.__file__).parent
    for place, reason in [
        ("/", "root of the file system"),
        (str(home), "home folder"),
        (str(package), "aiducation package"),
        (str(package.parent), "aiducation package"),
        (str(package / "assets" / "out"), "aiducation package"),
    ]:
        with pytest.raises(InputError, match=reason):
            check_output_dir(place, overwrite=True)


def test_analyze_into_the_root_is_one_line(capsys) -> None:
    assert main(["analyze", "--out", "/", "--overwrite"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --out /: is the root of the file system") and "\n" not in err


def test_a_dangling_link_as_out_is_one_line(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    out.symlink_to(tmp_path / "gone", target_is_directory=True)
    assert main(["analyze", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "is a broken symbolic link" in err and "\n" not in err
    assert entries(tmp_path) == ["out"]


def test_a_folder_where_an_output_file_goes_is_one_line(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    write_files(out, {"summary.json/notes.txt": "mine", "faces.csv": "old"})
    assert main(["analyze", "--out", str(out), "--overwrite"]) == 2
    err = capsys.readouterr().err.strip()
    assert "summary.json: is a folder where the output file summary.json goes" in err
    assert "\n" not in err
    assert (out / "faces.csv").read_text() == "old"  # nothing moved in
    assert sorted(p.name for p in out.rglob("*")) == ["faces.csv", "notes.txt", "summary.json"]
    assert entries(tmp_path) == ["out"]


def test_report_onto_a_file_of_its_inputs_is_refused(prepared_dir: Path, capsys) -> None:
    summary = prepared_dir / "summary.json"
    before = summary.read_bytes()
    assert main(["report", "--data", str(prepared_dir), "--out", str(summary)]) == 2
    err = capsys.readouterr().err.strip()
    assert "overlaps the input" in err and "\n" not in err
    assert summary.read_bytes() == before


def test_evaluate_into_the_checkpoint_folder_is_refused(prepared_dir, tmp_path, capsys) -> None:
    import torch

    from aiducation.models import create_model
    from aiducation.models.checkpoint import save_checkpoint

    run = tmp_path / "run"
    torch.manual_seed(0)
    save_checkpoint(run / "checkpoints" / "best", create_model("faceresnet_t"),
                    arch="faceresnet_t", arch_kwargs={},
                    classes=["Angry", "Bored", "Focused", "Neutral"])  # fmt: skip
    command = ["evaluate", "--checkpoint", str(run), "--data", str(prepared_dir)]
    assert main([*command, "--out", str(run / "checkpoints" / "best" / "eval")]) == 2
    err = capsys.readouterr().err.strip()
    assert "lies inside the checkpoint" in err and "\n" not in err
    assert main([*command, "--out", str(run / "eval")]) == 0  # beside it, inside the run: fine


def test_atomic_directory_keeps_a_users_files(tmp_path: Path) -> None:
    folder = tmp_path / "checkpoints" / "last"
    with atomic_directory(folder) as tmp:
        write_files(tmp, {"model.json": "1", "model.safetensors": "1"})
    write_files(folder, {"MODEL_CARD.md": "mine"})
    with atomic_directory(folder) as tmp:
        write_files(tmp, {"model.json": "2", "model.safetensors": "2"})
    assert {p.name: p.read_text() for p in folder.iterdir()} == {
        "MODEL_CARD.md": "mine",
        "model.json": "2",
        "model.safetensors": "2",
    }
    assert entries(tmp_path) == ["checkpoints"] and entries(folder.parent) == ["last"]


def test_train_overwrite_keeps_the_users_files_inside_the_run(prepared_dir, tmp_path) -> None:
    run = tmp_path / "run"
    train = ["train", "--model", "faceresnet_t", "--epochs", "1", "--data", str(prepared_dir)]
    assert main([*train, "--out", str(run)]) == 0
    mine = {
        "checkpoints/best/MODEL_CARD.md": "my card",
        "checkpoints/last/notes.txt": "my notes",
        "notes.md": "mine",
    }
    write_files(run, mine)
    assert main([*train, "--out", str(run), "--overwrite", "--seed", "1"]) == 0
    for name, text in mine.items():
        assert (run / name).read_text() == text, name
    assert json.loads((run / "config.json").read_text())["train"]["seed"] == 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no lock or staging


@pytest.mark.parametrize("command", ["annotate", "serve"])
def test_the_attribute_csv_is_never_a_file_of_the_dataset(prepared_dir, capsys, command) -> None:
    meta = prepared_dir / "meta.csv"
    before = meta.read_bytes()
    if command == "annotate":
        argv = ["annotate", "--data", str(prepared_dir), "--out", str(meta),
                "--attribute", "gender", "--choices", "female", "male"]  # fmt: skip
    else:
        argv = ["serve", "--data", str(prepared_dir), "--annotations", str(meta)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "overlaps the input" in err and "\n" not in err
    assert meta.read_bytes() == before
