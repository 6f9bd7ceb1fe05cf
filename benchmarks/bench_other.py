"""Compare ways of answering "Other" (outside the four states) on the held-out FER+ test split.

Options, each with its threshold chosen on the validation split (five-way accuracy) and scored
on the test split's labelled + unlabelled valid faces:

- ``fifth-class``: the checkpoint's own "Other" output (a model trained with ``--other-class``);
- ``aux-shares``: no "Other" output; in-scheme probability = 1 − the auxiliary head's vote
  share of happiness, surprise, fear, disgust and contempt (emotions the rules never use to
  give a label).

Usage::

    python benchmarks/bench_other.py --model runs/other5 [--model src/aiducation/assets/model]
        --data prepared/ferplus [--tta]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from aiducation.data.dataset import load_prepared
from aiducation.models.answers import EXPRESSIONS, has_other, restrict_to_scheme
from aiducation.models.checkpoint import load_checkpoint
from aiducation.training.scheme import (
    SplitPredictions,
    choose_threshold,
    predict_split,
    scheme_metrics,
)

OUTSIDE_EMOTIONS = ("happiness", "surprise", "fear", "disgust", "contempt")


def aux_share_probs(predictions: SplitPredictions, n_classes: int) -> np.ndarray:
    """Rule-class probabilities with an "Other" column made from the auxiliary vote shares."""
    shares = predictions.expression_probs
    outside = shares[:, [EXPRESSIONS.index(e) for e in OUTSIDE_EMOTIONS]].sum(axis=1)
    scheme = restrict_to_scheme(predictions.probs, n_classes)
    return np.column_stack([scheme * (1 - outside)[:, None], outside])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, action="append", required=True)
    parser.add_argument("--data", type=Path, default=Path("prepared/ferplus"))
    parser.add_argument("--tta", action="store_true")
    args = parser.parse_args()
    dataset = load_prepared(args.data)
    classes, k = dataset.classes, len(dataset.classes)
    rows = []
    for path in args.model:
        checkpoint = load_checkpoint(path)
        split = {
            s: predict_split(
                checkpoint.model, len(checkpoint.classes), dataset, s, tta_flip=args.tta
            )
            for s in ("val", "test")
        }
        options = {"aux-shares": lambda p: aux_share_probs(p, k)}
        if has_other(checkpoint.classes):
            options["fifth-class"] = lambda p: p.probs
        for name, to_probs in options.items():
            threshold = choose_threshold(to_probs(split["val"]), split["val"].labels)
            test = split["test"]
            metrics = scheme_metrics(
                SplitPredictions(to_probs(test), None, test.labels, test.votes, test.image_names),
                classes,
                threshold,
            )
            by = metrics["answers_by_majority_emotion"]
            row = {
                "model": str(path),
                "option": name,
                "threshold": threshold,
                "four_state_accuracy": round(metrics["four_state_accuracy"], 4),
                "auroc": round(metrics["in_scheme_auroc"], 4),
                "five_way_accuracy": round(metrics["five_way_accuracy"], 4),
                "labelled_called_other": round(metrics["labelled_called_other"], 4),
                "happiness_other": by["happiness"]["Other"],
                "happiness_angry": by["happiness"]["Angry"],
                "surprise_other": by["surprise"]["Other"],
            }
            rows.append(row)
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
