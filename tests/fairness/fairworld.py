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


def write_age_gender_outputs(root, n: int = 300, seed: int = 0) -> tuple:
    """A real ``aiducation bias`` folder (age and gender, Other rates) and a mitigation folder
    whose ``report/table_3_4.csv`` holds a reweight row with accuracy 0.6345."""
    import json
    from pathlib import Path

    from aiducation.fairness.bias import BiasConfig, analyze_bias
    from aiducation.fairness.report import write_bias_report

    root = Path(root)
    rng = np.random.default_rng(seed)
    attrs = pd.DataFrame(
        {"age": rng.choice(["adult", "child"], n), "gender": rng.choice(["female", "male"], n)}
    )
    y_true = rng.integers(0, len(CLASSES), n)
    y_pred = np.where(rng.random(n) < 0.7, y_true, (y_true + 1) % len(CLASSES))
    config = BiasConfig(n_bootstrap=30, n_permutations=30)
    report = analyze_bias(y_true, y_pred, attrs, CLASSES, config, rng.random(n) < 0.1)
    bias = write_bias_report(root / "bias_gender", report, {"n_images": n})
    mitigation = root / "mitigate_gender"
    (mitigation / "report").mkdir(parents=True)
    (mitigation / "mitigate.json").write_text(json.dumps({"attributes": ["age", "gender"]}))
    table = pd.DataFrame({"model": ["none", "reweight"], "attribute": ["gender"] * 2,
                          "group": ["female"] * 2, "accuracy": [0.61, 0.6345]})  # fmt: skip
    table.to_csv(mitigation / "report" / "table_3_4.csv", index=False)
    return bias, mitigation
