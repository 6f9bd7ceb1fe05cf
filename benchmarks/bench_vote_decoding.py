"""Rule-class answers decoded from the vote-share head, against the class head.

The four states are a fixed function of ten crowd votes, and the auxiliary head predicts each
face's vote shares. Drawing ten votes from those shares (optionally first drawing the shares
from a Dirichlet of concentration ``c`` around them, for the uncertainty of the prediction)
and re-applying the labelling rules gives a second estimate of each state's probability. This
scores that estimate alone and its product with the class head (``log p + w·log q``) on
validation, chooses ``(c, w)`` by the mean validation accuracy over the checkpoints, and
prints the test accuracy of that choice once. No flip averaging.

    python benchmarks/bench_vote_decoding.py --data prepared/ferplus runs/warm8-seed0-head0 \
        runs/warm8-seed1-head0 runs/warm8-seed2-head0
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np
import torch

from aiducation.data.dataset import load_prepared
from aiducation.data.labels import VOTE_COLUMNS, get_rule_set
from aiducation.models.answers import restrict_to_scheme
from aiducation.models.checkpoint import load_checkpoint
from aiducation.training.scheme import predict_faces
from aiducation.training.targets import rule_label_counts

CONCENTRATIONS = (None, 30.0, 10.0, 5.0)  # None: the predicted shares as they are
WEIGHTS = (0.0, 0.25, 0.5, 1.0, None)  # None: the decoded estimate alone
VOTES_PER_FACE = 10


def decoded_probs(shares: np.ndarray, n_classes: int, concentration: float | None,
                  rule_set, draws: int, seed: int) -> np.ndarray:  # fmt: skip
    """Each rule class's share of ``draws`` labellings drawn from the predicted ``shares``
    (labellings no rule labels left out), over the ``n_classes`` states."""
    rng = np.random.default_rng(seed)
    full = np.full((len(shares), len(VOTE_COLUMNS)), 1e-9)
    full[:, : shares.shape[1]] += shares
    full /= full.sum(axis=1, keepdims=True)
    totals = np.full(len(shares), VOTES_PER_FACE)
    counts = np.zeros((len(shares), n_classes))
    for _ in range(draws // 50):
        drawn = full
        if concentration is not None:
            drawn = np.stack([rng.dirichlet(concentration * row) for row in full])
            drawn = np.maximum(drawn, 0) / drawn.sum(axis=1, keepdims=True)
        counts += rule_label_counts(totals, drawn, rule_set, 50, rng)
    return counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)


def accuracy(class_probs: np.ndarray, decoded: np.ndarray, weight: float | None, labels) -> float:
    if weight is None:
        answer = decoded.argmax(axis=1)
    else:
        answer = (np.log(class_probs + 1e-6) + weight * np.log(decoded + 1e-3)).argmax(axis=1)
    return float((answer == labels).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoints", nargs="+", help="checkpoints or run directories")
    parser.add_argument("--data", default="prepared/ferplus")
    parser.add_argument("--draws", type=int, default=400, help="labellings drawn per face")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dataset = load_prepared(args.data)
    rule_set = get_rule_set(dataset.summary.get("rule_set", "seed"))
    k = len(dataset.classes)
    grid = list(itertools.product(CONCENTRATIONS, WEIGHTS))
    results: dict[str, dict[str, list[float]]] = {}
    for path in args.checkpoints:
        checkpoint = load_checkpoint(path)
        results[path] = {}
        for split in ("val", "test"):
            faces = predict_faces(
                checkpoint.model, len(checkpoint.classes), dataset, dataset.split_indices(split)
            )
            if faces.expression_probs is None:
                raise SystemExit(f"{path}: the model has no vote-share head")
            class_probs = restrict_to_scheme(faces.probs, k)
            decoded = {
                c: decoded_probs(faces.expression_probs, k, c, rule_set, args.draws, seed=0)
                for c in CONCENTRATIONS
            }
            results[path][split] = [
                accuracy(class_probs, decoded[c], w, faces.labels) for c, w in grid
            ]
    mean_val = np.mean([r["val"] for r in results.values()], axis=0)
    best = int(np.argmax(mean_val))
    print(f"{'concentration':>13} {'weight':>6} {'mean val':>8}")
    for (c, w), value in zip(grid, mean_val, strict=True):
        print(f"{c or '-':>13} {'alone' if w is None else w:>6} {value:8.4f}")
    c, w = grid[best]
    print(f"chosen on validation: concentration {c or '-'}, weight {w}")
    print(f"{'checkpoint':<48} {'val head':>8} {'val dec':>8} {'test head':>9} {'test dec':>9}")
    plain = grid.index((None, 0.0))
    for path, r in results.items():
        print(f"{path:<48} {r['val'][plain]:8.4f} {r['val'][best]:8.4f} "
              f"{r['test'][plain]:9.4f} {r['test'][best]:9.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
