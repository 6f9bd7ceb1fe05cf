"""The quality gate in the pipeline: faces too small or blurred are "Uncertain" with the reason,
count for no share, keep their box; students count only usable frames; --no-gate answers all."""

import cv2
import numpy as np
import pandas as pd
from tests.inference.conftest import BRIGHT, DARK, scene
from tests.stubs import stub_analyzer

from aiducation.inference.api import analyze_image
from aiducation.inference.pipeline import demo_image_path
from aiducation.inference.quality import QualityGate
from aiducation.inference.results import FaceResult, FrameResult, summarize
from aiducation.inference.runner import AnalyzeConfig, run_analysis
from aiducation.inference.students import StudentRules, summarize_students
from aiducation.models.answers import UNCERTAIN

CLASSES = ["Angry", "Bored", "Focused", "Neutral"]


def test_tiny_and_blurred_faces_are_uncertain_and_count_for_no_share() -> None:
    analyzer = stub_analyzer()
    analyzer.gate = QualityGate(min_contrast=None)  # the stub's faces are flat blobs
    image = scene([(50, 60, 80, 80, BRIGHT), (300, 200, 14, 14, DARK), (400, 60, 80, 80, DARK)])
    image[40:160, 380:500] = cv2.GaussianBlur(image[40:160, 380:500], (0, 0), 8)
    faces = sorted(analyzer.analyze_frame(image)[0].faces, key=lambda f: f.box[0])
    assert [f.reason for f in faces] == [None, "too small", "blurred"]
    assert [f.state for f in faces] == ["Angry", UNCERTAIN, UNCERTAIN]
    assert faces[1].label == "?: too small" and all(f.box for f in faces)
    summary = summarize([FrameResult("x", 640, 480, faces)], analyzer.classes)
    assert (summary["faces_seen"], summary["faces_answered"]) == (3, 1)
    assert summary["uncertain"] == {"blurred": 1, "too small": 1}
    assert summary["state_shares"]["Angry"] == 1.0


def test_the_demo_photo_is_answered_and_a_shrunk_copy_is_too_small(tmp_path) -> None:
    faces = analyze_image(demo_image_path()).faces
    assert len(faces) == 19 and not [f for f in faces if f.state == UNCERTAIN]
    assert all(f.yaw is not None and abs(f.yaw) < 45 for f in faces)  # frontal, pose reported
    small = cv2.resize(cv2.imread(str(demo_image_path())), None, fx=0.25, fy=0.25)
    tiny = analyze_image(small).faces
    assert tiny and {f.reason for f in tiny} == {"too small"}


def test_students_share_only_usable_frames_and_report_turned_away() -> None:
    probs = {"Angry": 0.1, "Bored": 0.1, "Focused": 0.7, "Neutral": 0.1}
    frames = []
    for i in range(8):
        away = i >= 6  # last two frames: profile, not answered
        state, reason = (UNCERTAIN, "turned away") if away else ("Focused", None)
        face = FaceResult(0, (0, 0, 40, 40), 0.9, state, 0.7, probs, reason=reason,
                          yaw=70.0 if away else 5.0)  # fmt: skip
        frames.append(FrameResult("v", 64, 48, [face], frame=i, time=i / 2))
    (student,) = summarize_students(frames, CLASSES, StudentRules(min_seconds=0))
    assert (student.frames, student.usable_frames) == (8, 6)
    assert student.shares["Focused"] == 1.0 and student.turned_away == 0.25


def test_no_gate_answers_every_face(tmp_path) -> None:
    small = cv2.resize(cv2.imread(str(demo_image_path())), None, fx=0.25, fy=0.25)
    cv2.imwrite(str(tmp_path / "small.jpg"), small)
    for gate, expected in ((True, UNCERTAIN), (False, None)):
        out = tmp_path / f"out{gate}"
        run_analysis(AnalyzeConfig(inputs=[str(tmp_path / "small.jpg")], out=str(out),
                                   progress=False, gate=gate))  # fmt: skip
        faces = pd.read_csv(out / "faces.csv")
        assert len(faces) > 0
        uncertain = (faces["state"] == UNCERTAIN).all()
        assert uncertain == (expected == UNCERTAIN)
        assert np.isfinite(faces["yaw"]).all()


def test_a_track_never_answered_is_not_a_student() -> None:
    probs = {"Angry": 0.1, "Bored": 0.1, "Focused": 0.7, "Neutral": 0.1}
    frames = [
        FrameResult("v", 64, 48, [
            FaceResult(0, (0, 0, 40, 40), 0.9, "Focused", 0.7, probs),
            FaceResult(1, (50, 0, 40, 40), 0.9, UNCERTAIN, 0.7, probs, reason="blurred"),
        ], frame=i, time=i / 2)
        for i in range(6)
    ]  # fmt: skip
    students = summarize_students(frames, CLASSES)
    assert [s.track for s in students] == [0]


def test_excluded_tracks_count_nowhere(stub_analyzer, synthetic_video, tmp_path) -> None:
    config = AnalyzeConfig(inputs=[str(synthetic_video)], out=str(tmp_path / "all"), progress=False)
    everyone = run_analysis(config, stub_analyzer)
    config = AnalyzeConfig(inputs=[str(synthetic_video)], out=str(tmp_path / "some"),
                           progress=False, exclude=[0])  # fmt: skip
    some = run_analysis(config, stub_analyzer)
    assert everyone["per_source"][0]["students"] == some["per_source"][0]["students"] + 1
    assert 0 not in set(pd.read_csv(tmp_path / "some" / "faces.csv")["face_id"])
    assert some["faces_seen"] < everyone["faces_seen"]


def test_a_dark_low_contrast_face_is_too_dark() -> None:
    """Noise keeps a dark face's sharpness up; its grey-level spread gives it away."""
    from aiducation.inference.quality import FaceQuality, contrast

    rng = np.random.default_rng(0)
    face = cv2.resize(cv2.imread(str(demo_image_path()), cv2.IMREAD_GRAYSCALE)[100:200, 100:200],
                      (48, 48)).astype(np.float32)  # fmt: skip
    lit = 255 * (face / 255) ** 3  # gamma 3, then a tenth of the contrast, plus noise
    dark = np.clip(lit.mean() + (lit - lit.mean()) * 0.1 + rng.normal(0, 3, face.shape), 0, 255)
    crop = dark.astype(np.uint8)
    assert contrast(face) > 10 > contrast(crop)
    quality = FaceQuality(score=0.9, size=60, sharpness=100.0, contrast=contrast(crop))
    assert QualityGate().check(quality) == "too dark"
