"""Generated predictions with a known group gap (or none), shared by the fairness tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

CLASSES = ["Angry", "Bored", "Focused", "Neutral"]


def synthetic_predictions(
    n: int = 1200, accuracy: dict[str, float] | None = None, child_share: float = 0.3, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Labels, predictions and an ``age``/``gender`` table; each age group is classified
    correctly with its own probability (``accuracy``), gender has no effect."""
    accuracy = accuracy or {"adult": 0.75, "child": 0.75}
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, len(CLASSES), n)
    age = np.where(rng.random(n) < child_share, "child", "adult")
    gender = rng.choice(["female", "male"], n)
    p_correct = np.array([accuracy[a] for a in age])
    wrong = (y_true + rng.integers(1, len(CLASSES), n)) % len(CLASSES)
    y_pred = np.where(rng.random(n) < p_correct, y_true, wrong)
    return y_true, y_pred, pd.DataFrame({"age": age, "gender": gender})
