"""Seed labelling rules: each rule, the order between overlapping rules, and pluggability."""

import numpy as np
import pytest

from aiducation.data.labels import (
    LEARNING_STATES,
    VOTE_COLUMNS,
    get_rule_set,
    list_rule_sets,
    seed_rules,
)


def votes(**counts: int) -> np.ndarray:
    row = np.zeros(len(VOTE_COLUMNS), dtype=np.int64)
    for name, value in counts.items():
        row[VOTE_COLUMNS.index(name)] = value
    return row


def label_of(**counts: int) -> str | None:
    label = int(seed_rules(votes(**counts)[None])[0])
    return None if label < 0 else LEARNING_STATES[label]


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        # Angry: anger > 2 even when neutral wins, or anger beating every other emotion.
        ({"neutral": 6, "anger": 3, "sadness": 1}, "Angry"),
        ({"anger": 2, "neutral": 1, "sadness": 1}, "Angry"),
        ({"anger": 2, "neutral": 2}, None),  # tie: not strictly greater, anger not > 2
        # Focused: neutral top with no sadness and no anger.
        ({"neutral": 5, "happiness": 4, "surprise": 1}, "Focused"),
        # Focused beats Neutral when both match (neutral > 6, no sadness/anger).
        ({"neutral": 9, "happiness": 1}, "Focused"),
        # Neutral: neutral top and > 6, but some sadness or anger so not Focused.
        ({"neutral": 7, "sadness": 2, "anger": 1}, "Neutral"),
        ({"neutral": 6, "sadness": 2, "happiness": 2}, None),  # neutral top but only 6
        # Bored: no happiness/fear, sadness and neutral present, anger + 2 < sadness.
        ({"sadness": 5, "neutral": 3, "surprise": 2}, "Bored"),
        ({"sadness": 4, "neutral": 3, "anger": 2}, None),  # anger + 2 == sadness
        ({"sadness": 5, "neutral": 3, "happiness": 1, "surprise": 1}, None),  # happiness
        # Neutral-top with sadness matches Neutral (if > 6) before Bored.
        ({"neutral": 7, "sadness": 3}, "Neutral"),
        # Angry wins over Bored when anger > 2.
        ({"anger": 3, "sadness": 6, "neutral": 1}, "Angry"),
        # contempt, unknown and NF are not compared: anger beats the six basic others.
        ({"anger": 2, "contempt": 5, "unknown": 3}, "Angry"),
    ],
)
def test_seed_rules(counts: dict, expected: str | None) -> None:
    assert label_of(**counts) == expected


def test_rule_sets_are_pluggable() -> None:
    assert {"seed", "ferplus-majority"} <= set(list_rule_sets())
    majority = get_rule_set("ferplus-majority")
    batch = np.stack([votes(happiness=6, neutral=4), votes(neutral=3, sadness=3)])
    assert majority(batch).tolist() == [majority.classes.index("happiness"), -1]
    with pytest.raises(ValueError, match="unknown rule set"):
        get_rule_set("nope")
    with pytest.raises(ValueError, match="shape"):
        get_rule_set("seed")(np.zeros((3, 7)))


def spec_label(row: np.ndarray) -> str | None:
    """The SPEC's rules written out plainly, one image at a time: first match wins."""
    v = dict(zip(VOTE_COLUMNS, row.tolist(), strict=True))
    basic = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear")

    def beats_others(e: str) -> bool:
        return all(v[e] > v[o] for o in basic if o != e)

    if v["anger"] > 2 or beats_others("anger"):
        return "Angry"
    if beats_others("neutral") and v["sadness"] == 0 and v["anger"] == 0:
        return "Focused"
    if beats_others("neutral") and v["neutral"] > 6:
        return "Neutral"
    if (v["happiness"] == 0 and v["fear"] == 0 and v["sadness"] != 0 and v["neutral"] != 0
            and v["anger"] + 2 < v["sadness"]):  # fmt: skip
        return "Bored"
    return None


def test_seed_rules_match_the_spec_on_random_votes() -> None:
    rng = np.random.default_rng(0)
    # 10 annotators, votes concentrated on neutral/sadness/anger so that rules overlap often.
    weights = np.array([4, 1, 1, 3, 3, 1, 1, 0.5, 0.5, 0.0])
    picks = rng.choice(len(VOTE_COLUMNS), size=(20000, 10), p=weights / weights.sum())
    votes = np.stack([np.bincount(p, minlength=len(VOTE_COLUMNS)) for p in picks])
    got = seed_rules(votes)
    expected = [spec_label(row) for row in votes]
    assert [None if g < 0 else LEARNING_STATES[g] for g in got] == expected
    assert {e for e in expected} == {*LEARNING_STATES, None}  # every outcome exercised
