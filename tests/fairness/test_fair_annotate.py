"""Annotation: stratified sample, resumable sessions, never overwriting earlier labels."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from aiducation.cli import main
from aiducation.data.dataset import load_prepared
from aiducation.errors import InputError
from aiducation.fairness.annotate import (
    UNSURE,
    AnnotationSession,
    half_block_art,
    stratified_queue,
)
from aiducation.fairness.inputs import read_attributes


def test_stratified_queue_is_balanced_interleaved_and_seeded():
    labels = np.array([0] * 50 + [1] * 30 + [2] * 5)
    queue = stratified_queue(labels, np.arange(85), per_class=10, seed=1)
    assert np.bincount(labels[queue]).tolist() == [10, 10, 5]
    assert labels[queue[:3]].tolist() == [0, 1, 2]  # every prefix stays balanced
    assert len(set(queue)) == len(queue)
    np.testing.assert_array_equal(queue, stratified_queue(labels, np.arange(85), 10, seed=1))
    assert not np.array_equal(queue, stratified_queue(labels, np.arange(85), 10, seed=2))


def test_session_records_resumes_and_never_overwrites(prepared_dir, tmp_path):
    dataset = load_prepared(prepared_dir)
    path = tmp_path / "attrs.csv"
    first_image = dataset.meta["image_name"].iloc[0]
    path.write_text(f"image,split,age\n{first_image},Train,adult\nother.png,Valid,child\n")
    session = AnnotationSession(dataset, path, "gender", ("female", "male"), per_class=3)
    assert session.progress() == (0, 12)
    row = session.next_item()
    session.record(row, "female")
    with pytest.raises(InputError, match="already has gender='female'"):
        session.record(row, "male")
    with pytest.raises(InputError, match="not one of female, male or cannot tell"):
        session.record(session.next_item(), "robot")
    session.record(session.next_item(), UNSURE)

    resumed = AnnotationSession(dataset, path, "gender", ("female", "male"), per_class=3)
    assert resumed.progress() == (2, 12)
    assert resumed.next_item() not in (row,)
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert table.loc[table["image"] == "other.png", "age"].item() == "child"  # untouched
    assert list(table.columns) == ["image", "split", "age", "gender"]
    attrs = read_attributes(path)
    assert attrs["gender"].notna().sum() == 1  # 'cannot tell' counts as missing
    assert not list(tmp_path.glob(".attrs.csv.*"))  # no temporary files left behind


def test_annotate_cli_reads_keys_and_continues(prepared_dir, tmp_path, monkeypatch, capsys):
    out = tmp_path / "gender.csv"
    args = ["annotate", "--data", str(prepared_dir), "--out", str(out), "--attribute", "gender"]
    args += ["--choices", "female", "male", "--per-class", "2", "--no-art"]
    args += ["--preview", str(tmp_path / "face.png")]
    monkeypatch.setattr("sys.stdin", io.StringIO("1\n2\nx\nc\nq\n"))
    assert main(args) == 0
    assert "unknown key 'x'" in capsys.readouterr().out
    assert pd.read_csv(out)["gender"].tolist() == ["female", "male", UNSURE]
    assert (tmp_path / "face.png").is_file()
    monkeypatch.setattr("sys.stdin", io.StringIO("2\n" * 10))  # finish, then stop by itself
    assert main(args) == 0
    assert "8/8 labelled" in capsys.readouterr().out
    table = pd.read_csv(out)
    assert len(table) == 8 and table["gender"].tolist()[:3] == ["female", "male", UNSURE]


def test_annotate_extends_gender_to_the_images_of_another_file(
    prepared_dir, tmp_path, monkeypatch, capsys
):
    """`--images age.csv`: exactly those images, in order; those with a gender are skipped,
    unknown names reported, "cannot tell" recorded with its key."""
    names = load_prepared(prepared_dir).meta["image_name"]
    age = tmp_path / "age.csv"
    rows = [names[5], names[2], "fer9999999.png", names[7], names[1]]
    age.write_text("image,split,age\n" + "".join(f"{n},Train,adult\n" for n in rows))
    gender = tmp_path / "gender.csv"
    gender.write_text(f"image,split,gender\n{names[2]},Train,male\n")
    args = ["annotate", "--data", str(prepared_dir), "--out", str(gender), "--images", str(age)]
    args += ["--attribute", "gender", "--choices", "female", "male", "--no-art"]
    monkeypatch.setattr("sys.stdin", io.StringIO("1\nc\n2\n"))
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "1 images of" in out and "4/4 labelled" in out
    table = pd.read_csv(gender, dtype=str, keep_default_na=False)
    assert table["image"].tolist() == [names[2], names[5], names[7], names[1]]
    assert table["gender"].tolist() == ["male", "female", "cannot tell", "male"]
    assert read_attributes(gender)["gender"].notna().sum() == 3


def test_face_art_is_drawn_only_on_a_terminal(prepared_dir, tmp_path, monkeypatch, capsys):
    """Colour escapes never go into a pipe or file (capsys' stdout is not a terminal): the
    preview path is printed instead; on a terminal the face is drawn."""
    out, preview = tmp_path / "gender.csv", tmp_path / "face.png"
    args = ["annotate", "--data", str(prepared_dir), "--out", str(out), "--attribute", "gender"]
    args += ["--choices", "female", "male", "--per-class", "2"]
    monkeypatch.setattr("sys.stdin", io.StringIO("1\nq\n"))
    assert main([*args, "--preview", str(preview)]) == 0
    printed = capsys.readouterr().out
    assert "\x1b[" not in printed and "▀" not in printed
    assert str(preview) in printed and preview.is_file()
    monkeypatch.setattr("sys.stdin", io.StringIO("q\n"))
    assert main(args) == 0
    assert "\x1b[" not in capsys.readouterr().out
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    monkeypatch.setattr("sys.stdin", io.StringIO("q\n"))
    assert main(args) == 0
    assert "\x1b[38;2;" in capsys.readouterr().out  # a terminal gets the face


def test_half_block_art_has_one_line_per_two_rows():
    art = half_block_art((np.arange(48 * 48) % 256).astype(np.uint8).reshape(48, 48))
    assert len(art.splitlines()) == 24 and art.count("▀") == 24 * 48


def test_labelling_keeps_the_csv_permissions(prepared_dir, tmp_path):
    dataset = load_prepared(prepared_dir)
    path = tmp_path / "private.csv"
    path.write_text("image,age\nother.png,adult\n")
    path.chmod(0o600)
    session = AnnotationSession(dataset, path, "gender", ("female", "male"), per_class=3)
    session.record(session.next_item(), "female")
    assert path.stat().st_mode & 0o777 == 0o600
    assert "female" in path.read_text()


def test_a_key_press_is_read_without_enter_from_a_terminal(monkeypatch, capsys):
    import os
    import pty
    import termios
    import threading
    import time

    from aiducation.commands.annotate import read_key

    master, slave = pty.openpty()

    def press(key: bytes) -> None:  # once the terminal left line mode, as a user would
        deadline = time.monotonic() + 10
        while termios.tcgetattr(slave)[3] & termios.ICANON and time.monotonic() < deadline:
            time.sleep(0.005)
        os.write(master, key)

    with os.fdopen(slave, "r", closefd=False) as terminal:
        monkeypatch.setattr("sys.stdin", terminal)
        for key, expected in ((b"2", "2"), (b"Q", "q")):  # no newline: input() would wait
            typist = threading.Thread(target=press, args=(key,))
            typist.start()
            assert read_key("gender> ") == expected
            typist.join()
        assert termios.tcgetattr(slave)[3] & termios.ICANON  # line mode restored
        os.write(master, b"10\n")  # more than 9 choices: a line is read instead
        assert read_key("gender> ", single=False) == "10"
    os.close(master)
    os.close(slave)
    assert capsys.readouterr().out.startswith("gender> 2\n")


def _label_rows(prepared: str, path: str, rows: list[int], value: str, barrier) -> None:
    """Child process: record ``value`` for each of ``rows`` (one CSV rewrite per label)."""
    session = AnnotationSession(
        load_prepared(prepared), path, "gender", ("female", "male"), per_class=40
    )
    barrier.wait()  # both writers start together
    for row in rows:
        session.record(row, value)


def test_two_processes_labelling_one_csv_lose_no_label(prepared_dir, tmp_path):
    """The terminal `annotate` and the web page writing one CSV at once (issue 34: 120 labels
    sent, 113 in the file): every acknowledged label must be in the file."""
    import multiprocessing

    dataset = load_prepared(prepared_dir)
    queue = AnnotationSession(dataset, tmp_path / "x.csv", "gender", ("f", "m"), per_class=40).queue
    path = tmp_path / "attrs.csv"
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    halves = {"female": [int(r) for r in queue[0::2]], "male": [int(r) for r in queue[1::2]]}
    workers = [
        context.Process(
            target=_label_rows, args=(str(prepared_dir), str(path), rows, value, barrier)
        )
        for value, rows in halves.items()
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert [w.exitcode for w in workers] == [0, 0]
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    names = dataset.meta["image_name"]
    for value, rows in halves.items():
        assert set(table.loc[table["gender"] == value, "image"]) == set(names.iloc[rows])
    assert len(table) == len(queue) > 100


def test_annotate_cli_keeps_a_label_written_meanwhile_by_another_writer(
    prepared_dir, tmp_path, monkeypatch, capsys
):
    """The web page labels the image the terminal shows: the terminal keeps that label and
    goes on (it stopped with an error before)."""
    from aiducation.commands import annotate as command

    out = tmp_path / "gender.csv"
    dataset = load_prepared(prepared_dir)
    other = AnnotationSession(dataset, out, "gender", ("female", "male"), per_class=1)
    answers = iter(["1", "2", "q"])

    def key(prompt, single=True):
        if not out.exists():  # the first image shown: another writer labels it first
            other.record(other.next_item(), "male")
        return next(answers)

    monkeypatch.setattr(command, "read_key", key)
    args = ["annotate", "--data", str(prepared_dir), "--out", str(out), "--attribute", "gender"]
    assert main([*args, "--choices", "female", "male", "--per-class", "1", "--no-art"]) == 0
    assert "was labelled meanwhile" in capsys.readouterr().out
    assert pd.read_csv(out)["gender"].tolist() == ["male", "male"]
