"""Rule sets that turn FER+ vote counts into class labels.

A rule set is a name, its class names and a vectorised function mapping an ``(N, 10)`` vote
array (columns in :data:`VOTE_COLUMNS` order) to label ids, ``-1`` meaning "not used".
Adding a rule set is a few lines: write the function and call :func:`register_rule_set`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

VOTE_COLUMNS: tuple[str, ...] = (
    "neutral",
    "happiness",
    "surprise",
    "sadness",
    "anger",
    "disgust",
    "fear",
    "contempt",
    "unknown",
    "NF",
)
BASIC_EMOTIONS: tuple[str, ...] = VOTE_COLUMNS[:7]
LEARNING_STATES: tuple[str, ...] = ("Angry", "Bored", "Focused", "Neutral")
OTHER = "Other"  # the answer for faces outside a rule set's classes (no rule matches)

_COL = {name: i for i, name in enumerate(VOTE_COLUMNS)}


@dataclass(frozen=True)
class RuleSet:
    """A named labelling function over vote counts."""

    name: str
    classes: tuple[str, ...]
    assign: Callable[[np.ndarray], np.ndarray]
    description: str = ""

    def __call__(self, votes: np.ndarray) -> np.ndarray:
        votes = np.asarray(votes)
        if votes.ndim != 2 or votes.shape[1] != len(VOTE_COLUMNS):
            raise ValueError(f"votes must have shape (N, {len(VOTE_COLUMNS)}), got {votes.shape}")
        return self.assign(votes).astype(np.int64)


_RULE_SETS: dict[str, RuleSet] = {}


def register_rule_set(rule_set: RuleSet) -> RuleSet:
    """Make ``rule_set`` available by name to :func:`get_rule_set` and the CLI."""
    _RULE_SETS[rule_set.name] = rule_set
    return rule_set


def get_rule_set(name: str) -> RuleSet:
    """Return the rule set called ``name``; ``ValueError`` lists the known names otherwise."""
    try:
        return _RULE_SETS[name]
    except KeyError:
        raise ValueError(
            f"unknown rule set {name!r}; known: {', '.join(list_rule_sets())}"
        ) from None


def list_rule_sets() -> list[str]:
    return sorted(_RULE_SETS)


def _beats_other_emotions(votes: np.ndarray, emotion: str) -> np.ndarray:
    """True where ``emotion`` has strictly more votes than each other basic emotion."""
    i = _COL[emotion]
    others = [_COL[e] for e in BASIC_EMOTIONS if e != emotion]
    return votes[:, i] > votes[:, others].max(axis=1)


def seed_rules(votes: np.ndarray) -> np.ndarray:
    """The original report's rules, first match wins: Angry, Focused, Neutral, Bored."""
    v = {name: votes[:, i] for name, i in _COL.items()}
    angry = (v["anger"] > 2) | _beats_other_emotions(votes, "anger")
    neutral_top = _beats_other_emotions(votes, "neutral")
    focused = neutral_top & (v["sadness"] == 0) & (v["anger"] == 0)
    neutral = neutral_top & (v["neutral"] > 6)
    bored = (
        (v["happiness"] == 0)
        & (v["fear"] == 0)
        & (v["sadness"] != 0)
        & (v["neutral"] != 0)
        & (v["anger"] + 2 < v["sadness"])
    )
    ids = {name: LEARNING_STATES.index(name) for name in LEARNING_STATES}
    return np.select(
        [angry, focused, neutral, bored],
        [ids["Angry"], ids["Focused"], ids["Neutral"], ids["Bored"]],
        default=-1,
    )


def ferplus_majority(votes: np.ndarray) -> np.ndarray:
    """FER+ majority vote over the eight emotions (ties and unknown-majority images unused)."""
    emotions = votes[:, :8]
    top = emotions.max(axis=1, keepdims=True)
    unique_top = (emotions == top).sum(axis=1) == 1
    beats_unknown = top[:, 0] > votes[:, _COL["unknown"]]
    return np.where(unique_top & beats_unknown, emotions.argmax(axis=1), -1)


register_rule_set(
    RuleSet(
        "seed",
        LEARNING_STATES,
        seed_rules,
        "Report's learning-state rules, applied in order Angry, Focused, Neutral, Bored.",
    )
)
register_rule_set(
    RuleSet(
        "ferplus-majority",
        tuple(VOTE_COLUMNS[:8]),
        ferplus_majority,
        "FER+ majority emotion (unique strict maximum over the eight emotions).",
    )
)
