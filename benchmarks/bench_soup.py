"""Weight averaging of fine-tunes ("model soup", Wortsman et al. 2022) against their ensemble.

Fine-tunes that start from one pre-trained model often lie in one basin of the loss, so the
average of their weights can score like the ensemble of their predictions at the cost of one
model. This prints, on validation and test (with and without flip averaging): each
checkpoint, the ensemble (mean probabilities) and the uniform soup (mean weights) with three
kinds of BatchNorm statistics: the mean of the models', re-estimated on the training faces
as they are, and re-estimated on them augmented as in training.

    python benchmarks/bench_soup.py --data prepared/ferplus runs/warm8-seed0 runs/warm8-seed1 \
        runs/warm8-seed2
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from aiducation.data.augment import AugmentConfig
from aiducation.data.dataset import load_prepared
from aiducation.models.checkpoint import load_checkpoint
from aiducation.models.soup import average_weights, reestimate_batchnorm
from aiducation.training.evaluation import score
from aiducation.training.scheme import predict_faces


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoints", nargs="+", help="checkpoints or run directories")
    parser.add_argument("--data", default="prepared/ferplus")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dataset = load_prepared(args.data)
    checkpoints = [load_checkpoint(path) for path in args.checkpoints]
    train_faces = dataset.images[dataset.split_indices("train")]
    soups = {"soup, mean statistics": average_weights([c.model for c in checkpoints])}
    for name, augment in (("plain", None), ("augmented", AugmentConfig())):
        soups[f"soup, statistics of {name} faces"] = reestimate_batchnorm(
            average_weights([c.model for c in checkpoints]), train_faces, augment=augment
        )
    n_outputs = len(checkpoints[0].classes)
    models = {str(c.path): c.model for c in checkpoints} | soups
    print(f"{'model':<48} {'val':>7} {'val+f':>7} {'test':>7} {'test+f':>7}")
    ensemble: dict[tuple[str, bool], list[np.ndarray]] = {}
    rows = {}
    for name, model in models.items():
        cells = []
        for split in ("val", "test"):
            for flip in (False, True):
                faces = predict_faces(
                    model, n_outputs, dataset, dataset.split_indices(split), tta_flip=flip
                )
                if name not in soups:
                    ensemble.setdefault((split, flip), []).append(faces.probs)
                cells.append(score(faces.probs, faces.labels, dataset.classes)["accuracy"])
                rows[split] = faces.labels
        print(f"{name:<48} " + " ".join(f"{c:7.4f}" for c in cells))
    cells = [
        score(np.mean(ensemble[(split, flip)], axis=0), rows[split], dataset.classes)["accuracy"]
        for split in ("val", "test")
        for flip in (False, True)
    ]
    print(f"{'ensemble (mean probabilities)':<48} " + " ".join(f"{c:7.4f}" for c in cells))


if __name__ == "__main__":
    main()
