"""Faces outside the four states: "Other", the FER+ expression and the in-scheme probability
in the results, the API, the CLI outputs and the summaries."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import torch
from tests.inference.conftest import BRIGHT, DARK, scene
from tests.stubs import CLASSES, stub_other_analyzer

from aiducation.inference.api import analyze_image
from aiducation.inference.classifier import FaceClassifier
from aiducation.inference.results import faces_from_probabilities, summarize
from aiducation.inference.runner import AnalyzeConfig, run_analysis
from aiducation.models import create_model
from aiducation.models.checkpoint import save_checkpoint

OTHER_CLASSES = [*CLASSES, "Other"]
PROBS = np.array([[0.5, 0.1, 0.1, 0.1, 0.2], [0.3, 0.0, 0.0, 0.1, 0.6]])
EXPRESSIONS = np.eye(8)[[0, 1]]  # neutral, happiness
BOXES, SCORES = [(0, 0, 10, 10), (20, 0, 10, 10)], [0.9, 0.8]


def test_faces_get_other_below_the_threshold_with_expression_and_in_scheme() -> None:
    faces = faces_from_probabilities(
        BOXES, SCORES, PROBS, OTHER_CLASSES, expressions=EXPRESSIONS, other_threshold=0.5
    )
    assert [f.state for f in faces] == ["Angry", "Other"]
    assert [f.in_scheme for f in faces] == [0.8, 0.4]
    assert [f.expression for f in faces] == ["neutral", "happiness"]
    assert [f.label for f in faces] == ["Angry", "Other: happy"]
    assert faces[1].confidence == 0.6 and set(faces[1].probabilities) == set(OTHER_CLASSES)
    # a stricter threshold sends the first face out too
    strict = faces_from_probabilities(BOXES, SCORES, PROBS, OTHER_CLASSES, other_threshold=0.9)
    assert [f.state for f in strict] == ["Other", "Other"] and strict[0].expression is None


def test_seed4_answer_is_restricted_to_the_four_states() -> None:
    faces = faces_from_probabilities(BOXES, SCORES, PROBS, OTHER_CLASSES, other_threshold=None)
    assert [f.state for f in faces] == ["Angry", "Angry"]
    assert set(faces[1].probabilities) == set(CLASSES)
    assert faces[1].confidence == pytest.approx(0.75, abs=1e-4)  # 0.3 / 0.4, renormalised
    assert faces[1].in_scheme == 0.4  # still reported


def test_api_and_summary_count_other_as_its_own_share() -> None:
    image = scene([(40, 40, 80, 80, BRIGHT), (300, 200, 80, 80, DARK)])
    analyzer = stub_other_analyzer()
    result = analyze_image(image, analyzer=analyzer)
    states = {f.state: f for f in result.faces}
    assert set(states) == {"Angry", "Other"}
    assert states["Other"].expression == "happiness" and states["Other"].in_scheme < 0.5
    summary = summarize([result], analyzer.classes)
    assert summary["state_counts"] == {**dict.fromkeys(CLASSES, 0), "Angry": 1, "Other": 1}
    assert summary["state_shares"]["Other"] == 0.5
    four = analyze_image(image, analyzer=stub_other_analyzer(threshold=None))
    assert "Other" not in {f.state for f in four.faces}


def test_cli_outputs_carry_other_expression_and_in_scheme(tmp_path: Path) -> None:
    photo = tmp_path / "in" / "class.png"
    photo.parent.mkdir()
    cv2.imwrite(str(photo), scene([(40, 40, 80, 80, BRIGHT), (300, 200, 80, 80, DARK)]))
    config = AnalyzeConfig(inputs=[str(photo)], out=str(tmp_path / "out"), progress=False)
    summary = run_analysis(config, stub_other_analyzer())
    assert summary["classes"] == OTHER_CLASSES
    assert summary["state_counts"]["Other"] == 1
    table = pd.read_csv(tmp_path / "out" / "faces.csv")
    other = table[table["state"] == "Other"].iloc[0]
    assert other["expression"] == "happiness" and other["in_scheme"] < 0.5
    assert "p_Other" in table
    faces = json.loads((tmp_path / "out" / "faces.json").read_text())
    assert {f["state"] for f in (faces["faces"] if isinstance(faces, dict) else faces)} == {
        "Angry",
        "Other",
    }


@pytest.fixture(scope="module")
def other_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random faceresnet_t with the "Other" output, the 8-emotion head and a threshold."""
    torch.manual_seed(0)
    model = create_model("faceresnet_t", num_classes=5, aux_classes=8)
    return save_checkpoint(
        tmp_path_factory.mktemp("other") / "model", model, arch="faceresnet_t",
        arch_kwargs={"num_classes": 5, "aux_classes": 8}, classes=OTHER_CLASSES,
        other_threshold=0.7,
    )  # fmt: skip


def test_classifier_loads_threshold_and_scheme(other_checkpoint: Path) -> None:
    classifier = FaceClassifier.load(other_checkpoint)
    assert classifier.other_threshold == 0.7 and classifier.states == OTHER_CLASSES
    four = FaceClassifier.load(other_checkpoint, scheme="seed4")
    assert four.other_threshold is None and four.states == CLASSES
    crops = np.random.default_rng(0).integers(0, 255, (5, 48, 48), dtype=np.uint8)
    probs, expressions = classifier.predict_with_expression(crops)
    assert probs.shape == (5, 5) and expressions.shape == (5, 8)
    np.testing.assert_allclose(probs.sum(axis=1), 1, atol=1e-5)
    batch_norms = [m for m in classifier.model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert not batch_norms  # both heads in one traced, BatchNorm-folded graph
    plain = FaceClassifier.load(other_checkpoint, fuse=False).predict_with_expression(crops)
    np.testing.assert_allclose(plain[0], probs, atol=1e-4)  # fusing keeps both heads
    np.testing.assert_allclose(plain[1], expressions, atol=1e-4)
    with pytest.raises(Exception, match="scheme"):
        FaceClassifier.load(other_checkpoint, scheme="five")


def test_bundled_model_calls_the_smiling_students_of_the_demo_photo_other() -> None:
    from aiducation.inference.api import Analyzer
    from aiducation.inference.runner import demo_image_path
    from aiducation.models.checkpoint import bundled_model_dir

    if not (bundled_model_dir() / "model.json").is_file():
        pytest.skip("the bundled model is missing")
    analyzer = Analyzer.load()
    if "Other" not in analyzer.classes:
        pytest.skip("the bundled model has no Other output")
    faces = analyze_image(demo_image_path(), analyzer=analyzer).faces
    others = [f for f in faces if f.state == "Other"]
    assert len(others) >= 8  # the photo's smiling students (about half of the 19)
    assert all(f.expression == "happiness" and f.in_scheme < 0.5 for f in others)
    assert {f.state for f in faces} - {"Other"} <= set(CLASSES)
    seed4 = analyze_image(demo_image_path(), analyzer=Analyzer.load(scheme="seed4")).faces
    assert len(seed4) == len(faces) and {f.state for f in seed4} <= set(CLASSES)


def test_annotated_picture_draws_other_in_its_own_colour() -> None:
    from aiducation.inference.draw import STATE_COLOURS, annotate

    faces = faces_from_probabilities(
        [(60, 60, 80, 80)], [1.0], PROBS[1:], OTHER_CLASSES, expressions=EXPRESSIONS[1:],
        other_threshold=0.5,
    )  # fmt: skip
    out = annotate(np.zeros((240, 240, 3), np.uint8), faces)
    assert tuple(out[100, 60]) == STATE_COLOURS["Other"]  # the box's left edge
    assert STATE_COLOURS["Other"] not in (STATE_COLOURS[c] for c in CLASSES)
