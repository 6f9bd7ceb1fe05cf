"""``aiducation analyze --lesson``: each analysed video becomes one lesson, recorded only once
the analysis finished and its outputs were written; bad lesson options fail before any work."""

from __future__ import annotations

import datetime
import hashlib
from pathlib import Path

import cv2
import pytest
import torch
from tests.inference.conftest import scene, write_video
from tests.stubs import CLASSES, stub_analyzer

from aiducation.cli import main
from aiducation.errors import InputError
from aiducation.inference.runner import AnalyzeConfig, run_analysis
from aiducation.lessons import LessonStore
from aiducation.lessons.recording import LessonOptions, start_recording
from aiducation.models import create_model
from aiducation.models.checkpoint import save_checkpoint

DAY = datetime.date(2025, 3, 14)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    return save_checkpoint(
        tmp_path_factory.mktemp("ckpt") / "model", create_model("faceresnet_t"),
        arch="faceresnet_t", arch_kwargs={}, classes=CLASSES,
    )  # fmt: skip


def analyze(*args: str) -> int:
    return main(["analyze", "--no-progress", "--device", "cpu", *args])


def test_the_cli_records_the_video_as_a_lesson(checkpoint, tmp_path, capsys):
    video = write_video(tmp_path / "monday.mp4", n_frames=30, fps=10.0)
    database = tmp_path / "school.sqlite"
    code = analyze(
        str(video), "--model", str(checkpoint), "--out", str(tmp_path / "out"), "--fps", "5",
        "--lesson", "Fractions", "--course", "7b maths", "--date", "2025-03-14",
        "--database", str(database),
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0
    assert "lesson 1 recorded: 'Fractions', course '7b maths', 2025-03-14, 15 frames of 3 s" in (
        printed
    )
    assert (tmp_path / "out" / "summary.json").is_file()
    with LessonStore.open(database) as store:
        (lesson,) = store.list_lessons()
        detail = store.get_lesson(lesson.id)
    assert (detail.name, detail.course, detail.day, detail.source) == (
        "Fractions", "7b maths", DAY, "monday.mp4",
    )  # fmt: skip
    assert detail.frames == 15 and detail.duration_s == pytest.approx(3.0)
    weights = (checkpoint / "model.safetensors").read_bytes()
    assert detail.model == {
        "name": "faceresnet_t", "source": str(checkpoint), "version": detail.model["version"],
        "checksum": f"sha256:{hashlib.sha256(weights).hexdigest()}",
    }  # fmt: skip
    assert detail.settings["fps"] == 5.0 and detail.settings["smoothing"] == "hmm"
    assert "inputs" not in detail.settings and "out" not in detail.settings


def test_several_videos_become_one_lesson_each_named_after_the_file(tmp_path):
    videos = [write_video(tmp_path / f"{name}.mp4", n_frames=20) for name in ("part1", "part2")]
    cv2.imwrite(str(tmp_path / "board.png"), scene([]))  # a picture is no lesson
    config = AnalyzeConfig(
        inputs=[*map(str, videos), str(tmp_path / "board.png")], out=str(tmp_path / "out"),
        progress=False,
    )  # fmt: skip
    recorder = start_recording(
        LessonOptions("Poems", None, DAY, str(tmp_path / "l.sqlite")), config
    )
    run_analysis(config, stub_analyzer(), on_video=recorder.keep)
    saved = recorder.save()
    assert [record.name for _, record in saved] == ["Poems (part1.mp4)", "Poems (part2.mp4)"]
    with LessonStore.open(tmp_path / "l.sqlite") as store:
        lessons = store.list_lessons()
        assert sorted(x.name for x in lessons) == ["Poems (part1.mp4)", "Poems (part2.mp4)"]
        rows = store.get_lesson(lessons[0].id).student_rows
    assert [row["student"] for row in rows] == [1, 2, 3]


def test_nothing_is_recorded_when_the_analysis_does_not_finish(tmp_path, capsys):
    database = tmp_path / "l.sqlite"
    (tmp_path / "broken.mp4").write_bytes(b"not a video at all")
    code = analyze(str(tmp_path / "broken.mp4"), "--out", str(tmp_path / "out"),
                   "--lesson", "Broken", "--database", str(database))  # fmt: skip
    assert code == 2 and "nothing could be processed" in capsys.readouterr().err
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("a user's file")
    video = write_video(tmp_path / "ok.mp4")
    code = analyze(str(video), "--out", str(tmp_path / "taken"), "--lesson", "Taken",
                   "--database", str(database))  # fmt: skip
    assert code == 2  # the output folder is not analyze's: refused before any work
    with LessonStore.open(database) as store:
        assert store.list_lessons() == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--lesson", "x", "--date", "14.03.2025"],
         "--date '14.03.2025': expected a date YYYY-MM-DD (e.g. 2025-03-14)"),
        (["--lesson", "x", "--date", "2025-02-30"], "--date '2025-02-30': expected a date"),
        (["--course", "7b"], "--course: only with --lesson NAME (what to record)"),
        (["--database", "x.sqlite", "--date", "2025-03-14"], "--date, --database: only with"),
        (["--lesson", " "], "--lesson ' ': expected a name of 1 to 200 characters"),
        (["--lesson", "x", "--database", "postgresql://u@host:notaport/db"],
         "--database 'postgresql://u@host:notaport/db': not a database URL"),
        (["--lesson", "x", "--database", "mysql://u@host/db"],
         "unsupported database 'mysql'"),
    ],
)  # fmt: skip
def test_bad_lesson_options_are_one_line_before_any_work(tmp_path, capsys, options, message):
    video = write_video(tmp_path / "v.mp4")
    assert analyze(str(video), "--out", str(tmp_path / "out"), *options) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_a_lesson_needs_a_video(tmp_path):
    cv2.imwrite(str(tmp_path / "photo.png"), scene([]))
    config = AnalyzeConfig(inputs=[str(tmp_path / "photo.png")], out=str(tmp_path / "out"))
    with pytest.raises(InputError, match="no video is among the inputs"):
        start_recording(LessonOptions("x", None, DAY, str(tmp_path / "l.sqlite")), config)
