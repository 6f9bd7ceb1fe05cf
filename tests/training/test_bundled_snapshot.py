"""The bundled model answers as before the restructuring of issue 29 (commit f782c7e): class
probabilities (fused for inference and plain), the demo photo's faces, and ``evaluate`` metrics
on a generated dataset. Measured bit-identical on the development machine; compared here to
1e-6, as other CPUs may round differently."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from aiducation.data.dataset import load_prepared
from aiducation.inference.api import analyze_image
from aiducation.inference.classifier import FaceClassifier
from aiducation.inference.pipeline import demo_image_path
from aiducation.models.checkpoint import load_checkpoint
from aiducation.models.predict import classify_batches
from aiducation.training.evaluation import evaluate_checkpoint

BEFORE = json.loads(
    (Path(__file__).parent / "fixtures" / "bundled_before_f782c7e.json").read_text()
)


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_probabilities_and_demo_faces_are_unchanged() -> None:
    crops = np.random.default_rng(0).integers(0, 256, (64, 48, 48), dtype=np.uint8)
    fused = FaceClassifier.load().predict_proba(crops)
    plain, _ = classify_batches(load_checkpoint(None).model, torch.from_numpy(crops), 5)
    np.testing.assert_allclose(fused, BEFORE["fused_probs"], atol=1e-6)
    np.testing.assert_allclose(plain.numpy(), BEFORE["plain_probs"], atol=1e-6)
    faces = analyze_image(demo_image_path()).faces
    now = [[f.face_id, list(f.box), f.state, f.expression] for f in faces]
    assert now == [[i, box, state, expression] for i, box, state, _, expression, _ in
                   BEFORE["demo_faces"]]  # fmt: skip
    np.testing.assert_allclose([f.confidence for f in faces], [r[3] for r in BEFORE["demo_faces"]],
                               atol=1e-4)  # fmt: skip


def test_evaluate_metrics_are_unchanged(prepared_dir: Path) -> None:
    metrics, _ = evaluate_checkpoint(
        load_checkpoint(None), load_prepared(prepared_dir), split="test"
    )
    before = BEFORE["evaluate_metrics"]
    assert metrics["confusion_matrix"] == before["confusion_matrix"] and metrics["n"] == before["n"]
    for key in ("accuracy", "macro_precision", "macro_recall", "macro_f1", "loss"):
        assert metrics[key] == pytest.approx(before[key], abs=1e-6), key
    for key, value in BEFORE["evaluate_out_of_scheme"].items():
        assert metrics["out_of_scheme"][key] == pytest.approx(value, abs=1e-6), key
