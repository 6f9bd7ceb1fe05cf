"""The bundled model: loads from the package alone and its card matches its saved metrics."""

import json

import torch

from aiducation.data.labels import LEARNING_STATES, OTHER
from aiducation.models.checkpoint import bundled_model_dir, load_checkpoint
from aiducation.models.predict import classify_batches


def test_bundled_model_loads_and_predicts() -> None:
    checkpoint = load_checkpoint(None)
    assert checkpoint.classes == [*LEARNING_STATES, OTHER]
    assert 0 < checkpoint.config["other_threshold"] < 1  # chosen on validation
    assert "val split" in checkpoint.config["other_threshold_rule"]
    faces = torch.randint(0, 256, (3, 48, 48), dtype=torch.uint8)
    probs, _ = classify_batches(checkpoint.model, faces, len(checkpoint.classes))
    assert probs.shape == (3, 5)
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
    scheme = metrics["out_of_scheme"]
    assert scheme["threshold"] == load_checkpoint(None).config["other_threshold"]
    assert f"{scheme['in_scheme_auroc']:.4f}" in card


def test_bundled_recipe_is_a_valid_training_configuration() -> None:
    from aiducation.training.config import TrainConfig

    saved = load_checkpoint(None).config["train_config"]
    config = TrainConfig.from_dict(saved)  # retired fields it carries are at their default
    assert (config.targets, config.hard_mix, config.other_class) == ("soft", 0.5, True)
    assert config.init_from and config.aux_unlabelled and config.tta_flip
