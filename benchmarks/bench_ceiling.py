"""How well could any model do on the rule labels? Accuracy of an ideal predictor that knows
each face's true vote distribution, on the val and test splits of a prepared dataset.

Two estimates of that distribution:

- ``plug-in``: the observed vote shares (what issue 20 calls "about 0.88"): the ideal answer's
  mean probability of matching a labelling re-drawn from those shares;
- ``empirical Bayes``: a Dirichlet prior ``s·m`` (``m`` the training faces' pooled vote shares,
  ``s`` fitted by the Dirichlet-multinomial likelihood of their votes) updated by each face's
  votes; the distribution is drawn from that posterior, the ideal predictor answers the rule
  class most likely under it, and is scored against the face's actual label.

Usage::

    python benchmarks/bench_ceiling.py --data prepared/ferplus [--repeats 20] [--draws 100]
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import gammaln

from aiducation.data.dataset import load_prepared
from aiducation.data.labels import RuleSet, get_rule_set
from aiducation.training.targets import rule_label_counts, vote_resample_probs


def fit_concentration(votes: np.ndarray) -> tuple[float, np.ndarray]:
    """Concentration ``s`` and mean ``m`` of the Dirichlet prior ``s·m`` that maximises the
    Dirichlet-multinomial likelihood of ``votes`` (one row per face)."""
    votes = np.asarray(votes, np.float64)
    mean = votes.sum(axis=0) / votes.sum()
    totals = votes.sum(axis=1)

    def negative_log_likelihood(log_s: float) -> float:
        alpha = np.maximum(np.exp(log_s) * mean, 1e-9)
        per_face = gammaln(alpha.sum()) - gammaln(totals + alpha.sum())
        per_face += (gammaln(votes + alpha) - gammaln(alpha)).sum(axis=1)
        return -float(per_face.sum())

    best = minimize_scalar(negative_log_likelihood, bounds=(-6, 6), method="bounded")
    return float(np.exp(best.x)), mean


def bayes_ideal_accuracy(
    votes: np.ndarray,
    labels: np.ndarray,
    rule_set: RuleSet,
    prior: np.ndarray,
    rng: np.random.Generator,
    draws: int,
) -> float:
    """Accuracy on ``labels`` of the rule class most often given by ``draws`` labellings drawn
    from one posterior sample of each face's vote distribution."""
    shares = np.stack([rng.dirichlet(row + prior) for row in votes])
    counts = rule_label_counts(votes.sum(axis=1), shares, rule_set, draws, rng)
    return float((counts.argmax(axis=1) == labels).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="prepared/ferplus")
    parser.add_argument("--repeats", type=int, default=20, help="posterior samples per face")
    parser.add_argument("--draws", type=int, default=100, help="labellings per sample")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data = load_prepared(args.data)
    rule_set = get_rule_set(data.summary.get("rule_set", "seed"))
    concentration, mean = fit_concentration(data.votes[data.split_indices("train")])
    prior = np.maximum(concentration * mean, 1e-6)
    print(f"prior: concentration {concentration:.3f} (pseudo-votes per face, fitted on train)")
    rng = np.random.default_rng(args.seed)
    for split in ("val", "test"):
        rows = data.split_indices(split)
        votes, labels = np.asarray(data.votes[rows], np.int64), data.labels[rows]
        soft = vote_resample_probs(votes, labels, rule_set, draws=2000, seed=args.seed)
        bayes = [
            bayes_ideal_accuracy(votes, labels, rule_set, prior, rng, args.draws)
            for _ in range(args.repeats)
        ]
        print(
            f"{split} (n = {len(rows)}): plug-in {soft.max(axis=1).mean():.4f}; "
            f"empirical Bayes {np.mean(bayes):.4f} ± {np.std(bayes):.4f}"
        )


if __name__ == "__main__":
    main()
