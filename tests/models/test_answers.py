"""The answer contract (aiducation.models.answers): one threshold fallback, one four-state
restriction, shared by inference, evaluation and bias."""

import numpy as np
import pytest

from aiducation.inference.results import faces_from_probabilities
from aiducation.models.answers import (
    DEFAULT_OTHER_THRESHOLD,
    AnswerScheme,
    other_threshold,
)

CLASSES = ["Angry", "Bored", "Focused", "Neutral", "Other"]
PROBS = np.array([[0.1, 0.15, 0.1, 0.25, 0.4], [0.05, 0.05, 0.1, 0.1, 0.7]])


def test_one_fallback_for_a_checkpoint_without_a_saved_threshold() -> None:
    threshold, rule = other_threshold({}, CLASSES)
    assert threshold == DEFAULT_OTHER_THRESHOLD and "default" in rule
    assert other_threshold({"other_threshold": 0.3, "other_threshold_rule": "val"}, CLASSES) == (
        0.3,
        "val",
    )
    assert other_threshold({"other_threshold": 0.3}, CLASSES[:-1])[0] is None


def test_the_four_state_restriction_is_decided_in_one_place() -> None:
    five = AnswerScheme.for_checkpoint({}, CLASSES, "other")
    four = AnswerScheme.for_checkpoint({}, CLASSES, "seed4")
    assert five.states == CLASSES and four.states == CLASSES[:-1]
    assert [CLASSES[i] for i in five.decide(PROBS).best] == ["Neutral", "Other"]  # 0.6 / 0.3 in
    decided = four.decide(PROBS)
    np.testing.assert_allclose(decided.probabilities.sum(axis=1), 1)
    assert decided.shown == CLASSES[:-1]
    np.testing.assert_allclose(decided.in_scheme, [0.6, 0.3])
    for scheme in (five, four):  # the per-face records follow the same decision
        faces = faces_from_probabilities(
            [(0, 0, 10, 10)] * 2, [0.9, 0.9], PROBS, CLASSES, other_threshold=scheme.threshold
        )
        assert [f.state for f in faces] == [scheme.decide(PROBS).shown[i] for i in
                                            scheme.decide(PROBS).best]  # fmt: skip
        assert all(set(f.probabilities) == set(scheme.states) for f in faces)
    with pytest.raises(ValueError, match="expected one of other, seed4"):
        AnswerScheme.for_checkpoint({}, CLASSES, "five")
