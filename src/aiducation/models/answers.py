"""The model's answer contract: what a face is called, given a checkpoint's outputs.

One home for the decisions every consumer (``analyze``, the web app, ``evaluate``, ``bias``,
experiments) shares:

* **Outputs.** A checkpoint's ``classes`` are the learning states, plus a last output
  ``"Other"`` for models trained to tell faces outside the scheme apart (:func:`has_other`).
* **The Other threshold.** A face's in-scheme probability is ``1 − P(Other)``; below the
  checkpoint's threshold (``model.json`` field :data:`THRESHOLD_KEY`, chosen on validation when
  the model is trained) it is answered "Other", else its most probable learning state. The
  one fallback, for a checkpoint with an "Other" output but no saved threshold, is
  :data:`DEFAULT_OTHER_THRESHOLD` (0.5: Other when it is the more likely of in and out), used
  by every command alike and named in their outputs (:func:`other_threshold`).
* **The four-state answer** (``seed4``, the original report's): the decision and the
  probabilities are restricted to the learning states and renormalised
  (:func:`restrict_to_scheme`); decided in :class:`AnswerScheme` only.
* **Expressions**: the auxiliary head's FER+ emotions (:data:`EXPRESSIONS`) and the words shown
  for them (:data:`EXPRESSION_WORDS`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aiducation.data.labels import OTHER, VOTE_COLUMNS

UNCERTAIN = "Uncertain"  # a face the quality gate does not answer (aiducation.inference.quality)
THRESHOLD_KEY = "other_threshold"  # model.json field holding the operating threshold
THRESHOLD_RULE_KEY = "other_threshold_rule"  # model.json field saying how it was chosen
DEFAULT_OTHER_THRESHOLD = 0.5  # the one fallback for a checkpoint with "Other" but no threshold
SCHEMES = ("other", "seed4")  # other: learning states or "Other"; seed4: the report's 4-way answer
EXPRESSIONS: tuple[str, ...] = VOTE_COLUMNS[:8]  # neutral … contempt: the auxiliary head
EXPRESSION_WORDS = {
    "neutral": "neutral",
    "happiness": "happy",
    "surprise": "surprised",
    "sadness": "sad",
    "anger": "angry",
    "disgust": "disgusted",
    "fear": "fearful",
    "contempt": "contemptuous",
}


def other_expression(expression_probs: np.ndarray) -> np.ndarray:
    """The expression an "Other" face shows: per row of ``(N, 8)`` FER+ expression
    probabilities (:data:`EXPRESSIONS` order), the index of the most likely **non-neutral**
    emotion. "Other" means no rule would give the face a state, and a neutral face is in the
    scheme by the rules, so "Other: neutral" would contradict itself; measured on the FER+ test
    faces (``benchmarks/bench_other_expression.py``, docs/benchmarks.md)."""
    probs = np.array(expression_probs, np.float64, ndmin=2)
    probs[:, EXPRESSIONS.index("neutral")] = -np.inf
    return probs.argmax(axis=1)


def has_other(classes: list[str]) -> bool:
    """Whether a model with these outputs answers "Other" (its last output)."""
    return bool(classes) and classes[-1] == OTHER


def restrict_to_scheme(probs: np.ndarray, n_classes: int) -> np.ndarray:
    """Probabilities over the first ``n_classes`` outputs (the learning states), renormalised
    to sum to 1; ``probs`` itself when it has no more columns."""
    probs = np.asarray(probs)
    if probs.shape[1] <= n_classes:
        return probs
    kept = probs[:, :n_classes]
    return kept / np.maximum(kept.sum(axis=1, keepdims=True), 1e-12)


def in_scheme_probability(probs: np.ndarray) -> np.ndarray:
    """``1 − P(Other)`` per face (the last column is "Other")."""
    return 1.0 - np.asarray(probs, np.float64)[:, -1]


def answers(probs: np.ndarray, threshold: float) -> np.ndarray:
    """Five-way answers: the best learning state, or K ("Other") below ``threshold``."""
    probs = np.asarray(probs)
    k = probs.shape[1] - 1
    return np.where(in_scheme_probability(probs) < threshold, k, probs[:, :k].argmax(axis=1))


def other_threshold(config: dict, classes: list[str]) -> tuple[float | None, str]:
    """The checkpoint's operating threshold and how it was chosen; ``(None, ...)`` for a model
    without an "Other" output. A missing threshold is :data:`DEFAULT_OTHER_THRESHOLD`."""
    if not has_other(classes):
        return None, "no Other output"
    if config.get(THRESHOLD_KEY) is None:
        return DEFAULT_OTHER_THRESHOLD, (
            f"no threshold saved in model.json: the default {DEFAULT_OTHER_THRESHOLD}"
        )
    return float(config[THRESHOLD_KEY]), str(config.get(THRESHOLD_RULE_KEY, "saved in model.json"))


@dataclass(frozen=True)
class Decision:
    """Answers for ``N`` faces: the names they can get, the shown probabilities, the answer
    index into ``shown`` and the in-scheme probability (``None`` without an Other output)."""

    shown: list[str]
    probabilities: np.ndarray  # (N, len(shown))
    best: np.ndarray  # (N,) indices into ``shown``
    in_scheme: np.ndarray | None  # (N,)


@dataclass(frozen=True)
class AnswerScheme:
    """How a model's probabilities become answers: ``threshold`` ``None`` gives the four-state
    answer (``seed4``, or a model without an Other output)."""

    classes: list[str]  # the model's outputs
    threshold: float | None = None

    @classmethod
    def for_checkpoint(cls, config: dict, classes: list[str], scheme: str = "other"):
        """The answer of scheme ``other`` (a state or "Other") or ``seed4`` (always a state)."""
        if scheme not in SCHEMES:
            raise ValueError(f"scheme {scheme!r}: expected one of {', '.join(SCHEMES)}")
        threshold = other_threshold(config, classes)[0] if scheme == "other" else None
        return cls(list(classes), threshold)

    @property
    def answers_other(self) -> bool:
        return has_other(self.classes) and self.threshold is not None

    @property
    def states(self) -> list[str]:
        """The answers a face can get (the learning states, plus "Other" where it applies)."""
        return list(self.classes) if self.answers_other else [c for c in self.classes if c != OTHER]

    def decide(self, probabilities: np.ndarray) -> Decision:
        """Answers for ``(N, C)`` probabilities over :attr:`classes`."""
        probs = np.asarray(probabilities, np.float64).reshape(-1, len(self.classes))
        inside = in_scheme_probability(probs) if has_other(self.classes) else None
        if self.answers_other:
            return Decision(list(self.classes), probs, answers(probs, self.threshold), inside)
        shown = self.states
        probs = restrict_to_scheme(probs, len(shown))
        return Decision(shown, probs, probs.argmax(axis=1), inside)
