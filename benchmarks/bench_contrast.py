"""Contrast normalisation of the crop vs dark, low-contrast faces (issue 31 §5).

Crops from dark, low-contrast footage come out near chance. Question: does a per-crop contrast
normalisation, applied identically in training and at inference, help on darkened /
low-contrast held-out faces without costing on clean ones?

Normalisation measured: OpenCV CLAHE on the 48×48 uint8 crop (``clipLimit`` 2.0, 4×4 tiles
of 12 px), the same function on train, val, test and unlabelled images.

Arms: (a) ``raw``: ``aiducation train`` on the prepared dataset as it is; (b) ``clahe``: the
same command on a copy of it whose ``images.npy`` / ``unlabelled.npy`` went through CLAHE
(meta, summary and config copied unchanged). Same recipe, same seeds; the checkpoint is
chosen on validation by the trainer. Both are then evaluated on the held-out TEST split only
(four-state accuracy, argmax of the four states, no flip-TTA) under three conditions, each
seeded and identical for both arms:

- ``clean``: the test faces as they are;
- ``low contrast``: each face's deviations from its own mean scaled by U(0.3, 0.5);
- ``dark``: gamma U(2, 3) (``255·(x/255)^γ``), then contrast U(0.3, 0.5) around the darkened
  face's own (low) mean, then Gaussian sensor noise σ 2 grey levels, rounded to uint8 (the
  condition the verdict uses);
- ``dark, no noise``: the same without noise (the noise raises the Laplacian variance the gate
  reads);
- ``very dark``: gamma U(3, 4), contrast U(0.2, 0.3), noise σ 3.

For arm (b) the degraded crop goes through CLAHE before the model, as inference would do.
Also reported: the share of each condition's faces the quality gate would answer "Uncertain"
(``sharpness`` < 25, the gate's ``min_sharpness``, measured on the crop before CLAHE) and
the accuracy on the faces it lets through.

Verdict: keep CLAHE only if its mean dark-face accuracy beats raw by more than the larger
seed std of the two arms AND its clean accuracy is not lower than raw by more than that std.

    .venv/bin/python benchmarks/bench_contrast.py --data /tmp/prepared \\
        --recipe benchmarks/recipes/faceresnet_s_stem2_3min.json --seeds 0 1 \\
        --work /tmp/bench_contrast
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from aiducation.data.dataset import load_prepared
from aiducation.inference.classifier import FaceClassifier
from aiducation.inference.quality import sharpness

GATE_MIN_SHARPNESS = 25.0
CLAHE = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(4, 4))


def clahe(faces: np.ndarray) -> np.ndarray:
    """CLAHE of each ``(48, 48)`` uint8 crop."""
    return np.stack([CLAHE.apply(np.ascontiguousarray(f)) for f in faces]) if len(faces) else faces


def low_contrast(faces: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    f = faces.astype(np.float32)
    c = rng.uniform(0.3, 0.5, size=(len(f), 1, 1)).astype(np.float32)
    mean = f.mean(axis=(1, 2), keepdims=True)
    return np.clip(mean + (f - mean) * c, 0, 255).round().astype(np.uint8)


def dark(
    faces: np.ndarray, rng: np.random.Generator, gamma=(2.0, 3.0), contrast=(0.3, 0.5), noise=2.0
) -> np.ndarray:
    f = faces.astype(np.float32) / 255.0
    g = rng.uniform(*gamma, size=(len(f), 1, 1)).astype(np.float32)
    f = 255.0 * f**g
    c = rng.uniform(*contrast, size=(len(f), 1, 1)).astype(np.float32)
    mean = f.mean(axis=(1, 2), keepdims=True)
    f = mean + (f - mean) * c + rng.normal(0.0, noise, size=f.shape).astype(np.float32)
    return np.clip(f, 0, 255).round().astype(np.uint8)


def build_normalised(src: Path, dst: Path) -> None:
    """A copy of the prepared dataset ``src`` with every image through CLAHE."""
    if (dst / "images.npy").is_file():
        return
    tmp = dst.with_name(dst.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for item in src.iterdir():
        if item.suffix == ".npy":
            np.save(tmp / item.name, clahe(np.load(item)))
        elif item.is_file():
            shutil.copy2(item, tmp / item.name)
    tmp.rename(dst)


def train(data: Path, recipe: Path, seed: int, out: Path) -> None:
    if (out / "test" / "metrics.json").is_file():
        return
    cmd = [sys.executable, "-m", "aiducation", "train", "--data", str(data), "--config",
           str(recipe), "--seed", str(seed), "--out", str(out), "--no-progress"]  # fmt: skip
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def evaluate(run: Path, normalise: bool, conditions: dict, labels: np.ndarray) -> list[dict]:
    classifier = FaceClassifier.load(run, scheme="seed4", device="cpu")
    rows = []
    for name, (faces, gated) in conditions.items():
        probs = classifier.predict_proba(clahe(faces) if normalise else faces)
        correct = probs[:, :4].argmax(axis=1) == labels
        rows.append({
            "condition": name, "accuracy": float(correct.mean()),
            "accuracy passed by gate": float(correct[~gated].mean()) if (~gated).any() else np.nan,
            "gated share": float(gated.mean()),
            "mean max prob": float(probs[:, :4].max(axis=1).mean()),
        })  # fmt: skip
    return rows


def test_conditions(data: Path, seed: int, split: str = "test") -> tuple[dict, np.ndarray]:
    """The held-out faces of ``split`` clean and degraded (seeded), each with the faces the
    gate's sharpness rule would refuse, and their labels."""
    ds = load_prepared(data)
    test = ds.split_indices(split)
    faces = np.asarray(ds.images[test])
    labels = ds.meta["label_id"].to_numpy()[test]
    rng = np.random.default_rng(seed)
    degraded = {
        "clean": faces,
        "low contrast": low_contrast(faces, rng),
        "dark": dark(faces, rng),
        "dark, no noise": dark(faces, rng, noise=0.0),
        "very dark": dark(faces, rng, gamma=(3.0, 4.0), contrast=(0.2, 0.3), noise=3.0),
    }
    gated = {
        k: np.array([sharpness(f) < GATE_MIN_SHARPNESS for f in v]) for k, v in degraded.items()
    }
    return {k: (v, gated[k]) for k, v in degraded.items()}, labels


def compare_checkpoints(args) -> None:
    """``--checkpoints``: each checkpoint as it is, under the same conditions."""
    conditions, labels = test_conditions(args.data, args.eval_seed, args.split)
    rows = []
    for item in args.checkpoints:
        name, _, path = item.partition("=")
        rows += [
            {"model": name, "split": args.split, **row}
            for row in evaluate(Path(path), False, conditions, labels)
        ]
    table = pd.DataFrame(rows)
    print(table.round(4).to_string(index=False))
    args.work.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.work / f"checkpoints-{args.split}.csv", index=False)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", type=Path, default=Path("/tmp/prepared"))
    p.add_argument("--recipe", type=Path,
                   default=Path("benchmarks/recipes/faceresnet_s_stem2_3min.json"))  # fmt: skip
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--work", type=Path, default=Path("/tmp/bench_contrast"))
    p.add_argument("--eval-seed", type=int, default=31)
    p.add_argument("--eval-only", action="store_true", help="evaluate the finished runs only")
    p.add_argument(
        "--checkpoints", nargs="+", metavar="NAME=PATH",
        help="instead: evaluate these checkpoints as they are (a model with contrast=clahe "
        "normalises inside) under the same conditions, e.g. bundled=src/aiducation/assets/model",
    )  # fmt: skip
    p.add_argument("--split", default="test", choices=("val", "test"), help="for --checkpoints")
    args = p.parse_args()
    if args.checkpoints:
        compare_checkpoints(args)
        return

    norm_data = args.work / "prepared_clahe"
    build_normalised(args.data, norm_data)
    arms = {"raw": (args.data, False), "clahe": (norm_data, True)}
    runs = {}
    for seed in args.seeds:  # interleaved, so a cut-short run leaves both arms equally seeded
        for arm, (data, _) in arms.items():
            out = args.work / "runs" / f"{arm}-seed{seed}"
            if not args.eval_only:
                train(data, args.recipe, seed, out)
            if (out / "test" / "metrics.json").is_file():
                runs[(arm, seed)] = out

    conditions, labels = test_conditions(args.data, args.eval_seed)
    rows = []
    for (arm, seed), run in runs.items():
        for row in evaluate(run, arms[arm][1], conditions, labels):
            rows.append({"arm": arm, "seed": seed, **row})
    per_run = pd.DataFrame(rows)
    args.work.mkdir(parents=True, exist_ok=True)
    per_run.to_csv(args.work / "per_run.csv", index=False)
    print(per_run.round(4).to_string(index=False))
    metrics = ["accuracy", "accuracy passed by gate", "gated share", "mean max prob"]
    summary = per_run.groupby(["condition", "arm"], sort=False)[metrics].agg(["mean", "std"])
    print(summary.round(4).to_string())
    acc = per_run.pivot_table(index=["condition", "seed"], columns="arm", values="accuracy")
    paired = (
        (acc["clahe"] - acc["raw"])
        .groupby(level="condition", sort=False)
        .agg(["mean", "std", "min", "max"])
    )
    print("clahe − raw, paired by seed (accuracy points ×100):")
    print((paired * 100).round(2).to_string())

    def stat(cond: str, arm: str) -> tuple[float, float]:
        s = per_run[(per_run.condition == cond) & (per_run.arm == arm)]["accuracy"]
        return float(s.mean()), float(s.std(ddof=1)) if len(s) > 1 else 0.0

    (dr, dr_sd), (dc, dc_sd) = stat("dark", "raw"), stat("dark", "clahe")
    (cr, cr_sd), (cc, cc_sd) = stat("clean", "raw"), stat("clean", "clahe")
    spread = max(dr_sd, dc_sd, cr_sd, cc_sd)
    keep = (dc - dr > spread) and (cr - cc <= spread)
    verdict = {
        "dark raw": dr, "dark clahe": dc, "clean raw": cr, "clean clahe": cc,
        "seed spread": spread,
        "paired clahe-raw": {k: round(float(v), 4) for k, v in paired["mean"].items()},
        "seeds": sorted({s for _, s in runs}), "keep": bool(keep),
    }  # fmt: skip
    print(json.dumps(verdict, indent=1))
    (args.work / "verdict.json").write_text(json.dumps(verdict, indent=1))


if __name__ == "__main__":
    main()
