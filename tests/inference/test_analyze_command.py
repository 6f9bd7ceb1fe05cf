"""``aiducation analyze`` and the batch runner: outputs, privacy options, bad input."""

import json
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from tests.inference.conftest import BRIGHT, DARK, scene

from aiducation.cli import main
from aiducation.errors import InputError
from aiducation.inference.api import Analyzer
from aiducation.inference.runner import AnalyzeConfig, demo_image_path, run_analysis
from aiducation.manifest import MANIFEST

FACES = [(50, 60, 80, 80, BRIGHT), (300, 200, 60, 60, DARK)]


@pytest.fixture
def media_folder(tmp_path: Path, synthetic_video: Path) -> Path:
    folder = tmp_path / "media"
    (folder / "sub").mkdir(parents=True)
    cv2.imwrite(str(folder / "one.jpg"), scene(FACES))
    cv2.imwrite(str(folder / "sub" / "empty_room.png"), scene([]))
    (folder / "sub" / "broken.jpg").write_text("not an image")
    (folder / "notes.txt").write_text("ignored: not media")
    synthetic_video.rename(folder / "sub" / "lesson.mp4")
    return folder


def run(analyzer: Analyzer, out: Path, inputs: list, **options) -> dict:
    config = AnalyzeConfig(inputs=[str(p) for p in inputs], out=str(out), progress=False, **options)
    return run_analysis(config, analyzer)


def test_folder_gives_all_outputs_and_skips_bad_files(stub_analyzer, media_folder, tmp_path):
    out = tmp_path / "out"
    summary = run(stub_analyzer, out, [media_folder])
    assert [e["source"].endswith("broken.jpg") for e in summary["errors"]] == [True]
    kinds = {Path(s["source"]).name: s["kind"] for s in summary["per_source"]}
    assert kinds == {"one.jpg": "image", "empty_room.png": "image", "lesson.mp4": "video"}
    assert summary["frames"] == 1 + 1 + 20
    faces = pd.read_csv(out / "faces.csv")
    assert len(faces) == summary["faces_seen"] == 2 + 0 + 50  # 2+2+…+3 faces in the video
    assert list(faces.columns[:4]) == ["source", "frame", "time", "face_id"]
    assert json.loads((out / "faces.json").read_text())[0]["state"] in summary["classes"]
    assert summary["state_counts"]["Angry"] + summary["state_counts"]["Bored"] == 52
    video = next(s for s in summary["per_source"] if s["kind"] == "video")
    assert video["students"] == 3
    empty = next(s for s in summary["per_source"] if s["source"].endswith("empty_room.png"))
    assert empty["faces_seen"] == 0
    assert (out / "annotated" / "one.jpg").is_file()
    assert (out / "annotated" / "sub" / "empty_room.png").is_file()
    capture = cv2.VideoCapture(str(out / "annotated" / "sub" / "lesson.mp4"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 20
    assert (out / "timeline_sub_lesson.png").stat().st_size > 5000
    assert len(pd.read_csv(out / "timeline_sub_lesson.csv")) == 20
    assert not (out / "crops").exists()  # no crops unless asked
    assert [p.name for p in out.rglob(".*")] == [MANIFEST]  # no temp files left behind


def test_aggregate_only_writes_no_per_face_data(stub_analyzer, media_folder, tmp_path):
    out = tmp_path / "out"
    summary = run(stub_analyzer, out, [media_folder], aggregate_only=True, save_crops=True)
    assert summary["faces_seen"] == 52
    written = sorted(p.name for p in out.rglob("*") if p.is_file() and p.name != MANIFEST)
    assert written == [
        "minutes_sub_lesson.csv", "minutes_sub_lesson.png", "summary.json",
        "timeline_sub_lesson.csv", "timeline_sub_lesson.png",
    ]  # fmt: skip
    (video,) = [s for s in summary["per_source"] if s["kind"] == "video"]
    assert video["per_minute"][0]["minute"] == 0 and video["per_minute"][0]["faces"] == 50
    assert sum(v for k, v in video["per_minute"][0].items() if k.startswith("share_")) == (
        pytest.approx(1, abs=1e-3)
    )
    text = (out / "summary.json").read_text()
    assert "face_id" not in text and '"x"' not in text


def test_blur_hides_faces_and_crops_are_written_on_request(stub_analyzer, tmp_path):
    image = scene(FACES)
    image[80:120, 70:110] = np.random.default_rng(0).integers(180, 255, (40, 40, 1))
    cv2.imwrite(str(tmp_path / "in.png"), image)
    run(stub_analyzer, tmp_path / "plain", [tmp_path / "in.png"])
    run(stub_analyzer, tmp_path / "blur", [tmp_path / "in.png"], blur=True, save_crops=True)
    plain = cv2.imread(str(tmp_path / "plain" / "annotated" / "in.png"))
    blurred = cv2.imread(str(tmp_path / "blur" / "annotated" / "in.png"))
    inside = (slice(80, 120), slice(70, 110))
    assert plain[inside].std() > 15 and blurred[inside].std() < plain[inside].std() / 3
    np.testing.assert_array_equal(plain[400:], blurred[400:])  # background untouched
    crops = sorted(p.name for p in (tmp_path / "blur" / "crops").iterdir())
    assert crops == ["in_f000000_id0.png", "in_f000000_id1.png"]
    assert cv2.imread(str(tmp_path / "blur" / "crops" / crops[0]), 0).shape == (48, 48)


def test_no_input_analyses_the_bundled_demo_photo(stub_analyzer, tmp_path):
    summary = run(stub_analyzer, tmp_path / "out", [])
    assert summary["per_source"][0]["source"] == str(demo_image_path())


def test_nothing_processable_raises(stub_analyzer, tmp_path):
    (tmp_path / "bad.png").write_bytes(b"")
    with pytest.raises(InputError, match=r"nothing could be processed.*bad\.png: empty file"):
        run(stub_analyzer, tmp_path / "out", [tmp_path / "bad.png", tmp_path / "missing"])
    assert not (tmp_path / "out" / "summary.json").exists()


def test_cli_end_to_end_with_yunet(checkpoint_dir, media_folder, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["analyze", "--model", str(checkpoint_dir), "--out", str(out), "--no-progress"]
    args += ["--device", "cpu"]
    assert main([*args, str(demo_image_path()), str(media_folder / "sub" / "empty_room.png")]) == 0
    assert "2 source(s)" in capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert 17 <= summary["faces_seen"] <= 22  # the synthetic room has none
    assert summary["config"]["detector"] == "yunet" and summary["config"]["device"] == "cpu"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--detector", "nope"], "unknown detector 'nope'"),
        (["--model", "/no/such/model"], "checkpoint /no/such/model"),
        (["/no/such/photo.jpg"], "nothing could be processed"),
        (["--webcam", "97"], "no camera found at index 97"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(extra, message, checkpoint_dir, tmp_path, capsys):
    model = [] if "--model" in extra else ["--model", str(checkpoint_dir)]
    assert main(["analyze", *model, "--out", str(tmp_path / "o"), *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and message in err[-1]


def test_webcam_run_writes_summary_and_timeline(
    stub_analyzer, synthetic_video, tmp_path, monkeypatch
):
    from aiducation.inference import runner

    monkeypatch.setattr(runner, "open_webcam", lambda index: cv2.VideoCapture(str(synthetic_video)))
    summary = run(stub_analyzer, tmp_path / "cam", [], webcam=0, max_frames=6, blur=True)
    assert summary["frames"] == 6 and summary["per_source"][0]["kind"] == "webcam"
    assert summary["per_source"][0]["source"] == "webcam:0"
    assert (tmp_path / "cam" / "timeline_webcam.png").is_file()
    assert (tmp_path / "cam" / "annotated" / "webcam.mp4").is_file()
    # live frames are timed by the wall clock: these 6 took milliseconds, so no one was seen
    # for the 1 s a student needs; the table is there, with its header
    students = pd.read_csv(tmp_path / "cam" / "students.csv")
    assert students.empty and "dominant_state" in students.columns
    assert summary["per_source"][0]["tracks"] == 2 and summary["per_source"][0]["students"] == 0


def test_reused_out_drops_the_previous_runs_files_only_with_overwrite(
    stub_analyzer, media_folder, tmp_path
):
    out = tmp_path / "out"
    run(stub_analyzer, out, [media_folder])
    assert (out / "timeline_sub_lesson.png").is_file()
    (out / "my_notes.txt").write_text("mine")
    photo = media_folder / "one.jpg"
    with pytest.raises(InputError, match="not empty; pass --overwrite"):
        run(stub_analyzer, out, [photo])
    summary = run(stub_analyzer, out, [photo], overwrite=True)
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == [MANIFEST, "annotated/one.jpg", "faces.csv", "faces.json", "my_notes.txt",
                       "summary.json"]  # fmt: skip
    assert summary["sources"] == 1


def test_input_inside_out_is_refused_and_the_photo_kept(tmp_path, capsys):
    user = tmp_path / "userdir"
    (user / "annotated").mkdir(parents=True)
    cv2.imwrite(str(user / "annotated" / "photo.jpg"), scene(FACES))
    before = (user / "annotated" / "photo.jpg").read_bytes()
    args = ["analyze", str(user / "annotated"), "--out", str(user), "--no-progress"]
    for extra in ([], ["--overwrite"]):
        assert main([*args, *extra]) == 2
        err = capsys.readouterr().err.strip()
        assert f"overlaps the input {user / 'annotated'}" in err and "\n" not in err
    assert (user / "annotated" / "photo.jpg").read_bytes() == before
    assert sorted(p.name for p in user.iterdir()) == ["annotated"]


@pytest.mark.parametrize(
    ("option", "fragment"),
    [
        (["--webcam", "-5"], "--webcam -5: expected a camera index ≥ 0"),
        (["--margin", "-1"], "--margin -1.0: expected a fraction from 0 to 1"),
        (["--margin", "nan"], "--margin nan"),
        (["--max-frames", "0"], "--max-frames 0: expected at least 1"),
    ],
)
def test_bad_option_values_are_one_line(tmp_path, capsys, option, fragment):
    assert main(["analyze", *option, "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {fragment}" or (err.startswith(f"error: {fragment}") and "\n" not in err)
    assert not (tmp_path / "out").exists()


def test_cli_warns_about_missing_paths_and_names_each_bad_file_once(
    checkpoint_dir, tmp_path, capsys
):
    (tmp_path / "bad.jpg").write_text("not an image")
    photo = tmp_path / "ok.png"
    cv2.imwrite(str(photo), scene(FACES))
    args = ["analyze", "--checkpoint", str(checkpoint_dir), "--no-progress", "--out"]
    assert main([*args, str(tmp_path / "o"), str(tmp_path / "gone.jpg"), str(photo)]) == 0
    err = capsys.readouterr().err
    assert f"warning: skipped {tmp_path / 'gone.jpg'}: no such file or folder" in err
    assert main([*args, str(tmp_path / "o2"), str(tmp_path / "bad.jpg")]) == 2
    err = capsys.readouterr().err
    assert err.count(str(tmp_path / "bad.jpg")) == 2  # once in the warning, once in the error
    assert "bad.jpg: bad.jpg" not in err


def test_missing_webcam_gives_only_the_projects_error(checkpoint_dir, tmp_path, capfd):
    assert main(["analyze", "--checkpoint", str(checkpoint_dir), "--out", str(tmp_path / "o"),
                 "--webcam", "97"]) == 2  # fmt: skip
    err = capfd.readouterr().err  # file descriptor 2: OpenCV's C++ logging included
    assert "[ WARN" not in err
    assert err.strip().splitlines() == ["error: camera 97: no camera found at index 97"]


def test_cli_prints_students_of_a_video_and_threads_default_to_one(
    stub_analyzer, synthetic_video, tmp_path, capsys, monkeypatch
):
    from aiducation.cli import build_parser
    from aiducation.inference import runner

    args = build_parser().parse_args(["analyze", str(synthetic_video)])
    assert args.threads == 1 and args.min_student_seconds == 1.0 and args.legend  # by default
    monkeypatch.setattr(runner.Analyzer, "load", classmethod(lambda cls, *a, **k: stub_analyzer))
    out = tmp_path / "o"
    assert main(["analyze", str(synthetic_video), "--out", str(out), "--no-progress",
                 "--legend", "--min-student-seconds", "1.5"]) == 0  # fmt: skip
    assert "2 student(s) seen for at least 1.5 s (3 track(s))" in capsys.readouterr().out
    assert len(pd.read_csv(out / "students.csv")) == 2
    frame = cv2.VideoCapture(str(out / "annotated" / "class.mp4")).read()[1]
    assert frame.shape[0] > 240  # the legend band below the 320×240 frames
    plain = tmp_path / "plain"
    assert main(["analyze", str(synthetic_video), "--out", str(plain), "--no-progress",
                 "--no-legend"]) == 0  # fmt: skip
    assert cv2.VideoCapture(str(plain / "annotated" / "class.mp4")).read()[1].shape[0] == 240
    for bad in (["--threads", "0"], ["--min-student-seconds", "-1"]):
        assert main(["analyze", "--out", str(tmp_path / "x"), *bad]) == 2


def test_summary_names_the_bundled_demo_when_it_is_analysed(stub_analyzer, tmp_path):
    summary = run_analysis(AnalyzeConfig(out=str(tmp_path / "o"), progress=False), stub_analyzer)
    assert summary["config"]["inputs"] == [str(demo_image_path())]
