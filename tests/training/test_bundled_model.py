"""The bundled model: loads from the package alone and its card matches its saved metrics."""

import json

import torch

from aiducation.data.labels import LEARNING_STATES
from aiducation.models.checkpoint import bundled_model_dir, load_checkpoint, predict_proba


def test_bundled_model_loads_and_predicts() -> None:
    checkpoint = load_checkpoint(None)
    assert checkpoint.classes == list(LEARNING_STATES)
    faces = torch.randint(0, 256, (3, 48, 48), dtype=torch.uint8)
    probs = predict_proba(checkpoint.model, faces)
    assert probs.shape == (3, 4)
    torch.testing.assert_close(probs.sum(dim=1), torch.ones(3))
    size = sum(f.stat().st_size for f in bundled_model_dir().iterdir())
    assert size < 5_000_000


def test_model_card_states_test_metrics_and_legal_limits() -> None:
    directory = bundled_model_dir()
    card = (directory / "MODEL_CARD.md").read_text()
    metrics = json.loads((directory / "test_metrics.json").read_text())
    assert metrics["split"] == "test" and metrics["n"] == 1643
    assert f"{metrics['accuracy']:.4f}" in card
    assert "Art. 5(1)(f)" in card and "aiducation train" in card
