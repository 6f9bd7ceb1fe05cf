"""Bias mitigation strategies, chosen by name from a registry.

A strategy sees the training rows and the attribute group of every dataset row and returns a
:class:`Mitigation`: per-image loss weights or sampling weights for retraining (handed to
:func:`aiducation.training.learner.fit`), or a post-processing of the unmitigated model's
probabilities. Unannotated images (group unknown) keep weight 1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass
class Mitigation:
    """What a strategy changes; all fields empty means 'the baseline model as it is'."""

    sample_weights: np.ndarray | None = None  # per training row: loss weight
    sampler_weights: np.ndarray | None = None  # per training row: draw probability (∝)
    adjust: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None  # (proba, rows) → proba
    description: str = ""

    @property
    def retrains(self) -> bool:
        return self.sample_weights is not None or self.sampler_weights is not None


Strategy = Callable[["MitigationInputs"], Mitigation]
STRATEGIES: dict[str, Strategy] = {}


def register_strategy(fn: Strategy) -> Strategy:
    """Decorator: register a strategy under its function name."""
    STRATEGIES[fn.__name__] = fn
    return fn


def list_strategies() -> list[str]:
    return sorted(STRATEGIES)


def get_strategy(name: str) -> Strategy:
    if name not in STRATEGIES:
        raise ValueError(f"unknown mitigation strategy {name!r}; known: {', '.join(STRATEGIES)}")
    return STRATEGIES[name]


@dataclass
class MitigationInputs:
    """What strategies may look at: labels and groups of every row, and the training rows."""

    labels: np.ndarray  # class id per dataset row
    groups: pd.DataFrame  # one column per attribute, a group per dataset row, NaN where unknown
    train_idx: np.ndarray  # rows the model trains on
    n_classes: int

    def __post_init__(self) -> None:
        if isinstance(self.groups, pd.Series):
            self.groups = self.groups.to_frame()


def joint_groups(groups: pd.DataFrame) -> pd.Series:
    """One group per row over all attributes (``"child|female"``; ``?`` for an unknown value),
    NaN where every value is unknown."""
    if groups.shape[1] == 1:
        return groups.iloc[:, 0]
    text = groups.astype(object).where(groups.notna(), "?").astype(str)
    joint = text.iloc[:, 0].str.cat([text[c] for c in text.columns[1:]], sep="|")
    return joint.where(groups.notna().any(axis=1))


def balance_weights(groups: pd.DataFrame, rows: np.ndarray, iterations: int = 50) -> np.ndarray:
    """Weight per row that gives every known group the total weight of the largest one:
    ``max_g n_g / n_group``, rows with an unknown group 1. Several attributes: raked
    (iterative proportional fitting) until each attribute's groups weigh the same."""
    weights = np.ones(len(rows))
    for _ in range(iterations if groups.shape[1] > 1 else 1):
        for column in groups.columns:
            values = groups[column].iloc[rows].to_numpy(object)
            known = pd.notna(values)
            if not known.any():
                continue
            totals = pd.Series(weights[known]).groupby(values[known]).sum()
            weights[known] *= (totals.max() / totals).reindex(values[known]).to_numpy()
    return weights


def _balance_rule(groups: pd.DataFrame) -> str:
    if groups.shape[1] == 1:
        return "max_g n_g / n_group"
    return f"raked until each of {', '.join(groups.columns)} has equal group totals"


@register_strategy
def none(inputs: MitigationInputs) -> Mitigation:
    """No mitigation: the baseline model."""
    return Mitigation(description="baseline, no mitigation")


@register_strategy
def reweight(inputs: MitigationInputs) -> Mitigation:
    """Group-balanced loss re-weighting: each training image's loss × max_g n_g / n_group
    (several attributes: raked so that each one's groups weigh the same)."""
    weights = balance_weights(inputs.groups, inputs.train_idx)
    return Mitigation(
        sample_weights=weights,
        description=f"loss weights {_balance_rule(inputs.groups)} on annotated training images",
    )


@register_strategy
def oversample(inputs: MitigationInputs) -> Mitigation:
    """Group over-sampling (the report's approach): minority-group images are drawn
    max_g n_g / n_group times as often, with replacement, each epoch (several attributes:
    raked weights, see :func:`balance_weights`)."""
    weights = balance_weights(inputs.groups, inputs.train_idx)
    return Mitigation(
        sampler_weights=weights,
        description=f"sampling weights {_balance_rule(inputs.groups)} on annotated training images",
    )


def group_log_prior_shift(
    labels: np.ndarray, groups: pd.Series, rows: np.ndarray, n_classes: int, smoothing: float = 1.0
) -> dict[str, np.ndarray]:
    """Per group ``log p(class | group) − log p(class)`` estimated on ``rows`` (labels only,
    additive smoothing). Adding it to a model's log-probabilities is the Bayes correction
    for a group whose class mix differs from the training mix (label shift)."""
    overall = np.bincount(labels[rows], minlength=n_classes) + smoothing
    log_overall = np.log(overall / overall.sum())
    shifts = {}
    values = groups.iloc[rows]
    for group in values.dropna().unique():
        members = rows[(values == group).to_numpy()]
        counts = np.bincount(labels[members], minlength=n_classes) + smoothing
        shifts[group] = np.log(counts / counts.sum()) - log_overall
    return shifts


@register_strategy
def group_prior(inputs: MitigationInputs) -> Mitigation:
    """Group-aware post-processing, no retraining: add each group's class log-prior shift
    (estimated from the training labels) to the baseline model's log-probabilities.
    Like fairlearn's ThresholdOptimizer it needs the group of an image at prediction time;
    with several attributes, the joint group (e.g. child|female)."""
    groups = joint_groups(inputs.groups)
    shifts = group_log_prior_shift(inputs.labels, groups, inputs.train_idx, inputs.n_classes)

    def adjust(proba: np.ndarray, rows: np.ndarray) -> np.ndarray:
        logits = np.log(np.clip(proba, 1e-12, None))
        for i, group in enumerate(groups.iloc[rows].to_numpy()):
            if isinstance(group, str) and group in shifts:
                logits[i] += shifts[group]
        logits -= logits.max(axis=1, keepdims=True)
        out = np.exp(logits)
        return out / out.sum(axis=1, keepdims=True)

    described = "; ".join(f"{g}: {np.round(s, 3).tolist()}" for g, s in shifts.items())
    return Mitigation(adjust=adjust, description=f"log-prior shifts per group: {described}")
