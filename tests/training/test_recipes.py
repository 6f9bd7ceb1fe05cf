"""The committed benchmark recipes stay valid training configurations."""

from pathlib import Path

import pytest

from aiducation.models import count_parameters, create_model
from aiducation.training.config import TrainConfig

RECIPES = sorted((Path(__file__).parents[2] / "benchmarks" / "recipes").glob("*.json"))


def test_recipes_are_committed() -> None:
    assert RECIPES, "benchmarks/recipes/ holds no recipe"


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
def test_recipe_loads_and_builds_its_model(path: Path) -> None:
    config = TrainConfig.load(path)
    model = create_model(config.model, **config.model_kwargs)
    assert count_parameters(model) > 0
