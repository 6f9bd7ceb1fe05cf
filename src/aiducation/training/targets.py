"""Training targets: one-hot rule labels or soft labels from re-sampled crowd votes."""

from __future__ import annotations

import numpy as np

from aiducation.data.labels import RuleSet
from aiducation.models.answers import EXPRESSIONS


def vote_resample_probs(
    votes: np.ndarray,
    labels: np.ndarray,
    rule_set: RuleSet,
    draws: int = 200,
    seed: int = 0,
    chunk: int = 25,
    other: bool = False,
) -> np.ndarray:
    """Probability of each class when an image's votes are re-drawn from its own distribution.

    Each of ``draws`` re-samplings draws the image's total vote count from the multinomial of its
    observed vote shares and re-applies ``rule_set``; re-samplings that match no rule are ignored,
    or, with ``other``, counted in an extra last column ("Other", label id ``len(classes)``).
    Images whose re-samplings never match keep their one-hot ``labels``.
    """
    votes = np.asarray(votes, np.int64)
    totals = votes.sum(axis=1)
    shares = votes / np.maximum(totals, 1)[:, None]
    rng = np.random.default_rng(seed)
    counts = rule_label_counts(totals, shares, rule_set, draws, rng, chunk=chunk, other=other)
    hits = counts.sum(axis=1, keepdims=True)
    onehot = np.eye(counts.shape[1])[labels]
    return np.where(hits > 0, counts / np.maximum(hits, 1), onehot)


def rule_label_counts(
    totals: np.ndarray,
    shares: np.ndarray,
    rule_set: RuleSet,
    draws: int,
    rng: np.random.Generator,
    chunk: int = 25,
    other: bool = False,
) -> np.ndarray:
    """How often each class is given, per image, when its ``totals`` votes are drawn ``draws``
    times from its vote ``shares`` and ``rule_set`` re-applied; re-samplings that match no rule
    are not counted, or, with ``other``, counted in an extra last column."""
    n, k = len(shares), len(rule_set.classes) + int(other)
    counts = np.zeros((n, k))
    for start in range(0, draws, chunk):
        m = min(chunk, draws - start)
        sampled = rng.multinomial(totals, shares, size=(m, n)).reshape(m * n, -1)
        ids = rule_set(sampled).reshape(m, n)
        if other:
            ids[ids < 0] = k - 1
        for c in range(k):
            counts[:, c] += (ids == c).sum(axis=0)
    return counts


def label_flip_rate(votes: np.ndarray, labels: np.ndarray, rule_set: RuleSet, seed: int = 0):
    """Share of images whose label changes after one vote re-sampling, among those that still
    get a label (≈ 1 in 8 on FER+ with the seed rules; ≈ 1 in 5 counting lost labels too)."""
    votes = np.asarray(votes, np.int64)
    totals = votes.sum(axis=1)
    shares = votes / np.maximum(totals, 1)[:, None]
    redrawn = rule_set(np.random.default_rng(seed).multinomial(totals, shares))
    labelled = redrawn >= 0
    return float((redrawn[labelled] != labels[labelled]).mean()) if labelled.any() else 0.0


def smooth(targets: np.ndarray, epsilon: float) -> np.ndarray:
    """Label smoothing: ``(1 − ε)·t + ε/K``."""
    return targets * (1 - epsilon) + epsilon / targets.shape[1]


def vote_shares(votes: np.ndarray) -> np.ndarray:
    """Each image's share of votes over the eight FER+ emotions (unknown and NF left out)."""
    emotions = np.asarray(votes, np.float64)[:, : len(EXPRESSIONS)]
    return emotions / np.maximum(emotions.sum(axis=1, keepdims=True), 1)
