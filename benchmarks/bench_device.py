"""Training throughput on the best device present and on the CPU, and device-free checkpoints.

Trains, for a fixed number of optimiser steps on the real prepared data:

- ``seed``: the report's ``B16_N8_FC2_K5_AP20`` with the report's widths (hidden FC width
  B·AP² = 6,400, ``--model-arg hidden='"seed"'``) and the grid's ``--preset seed``
  hyper-parameters (Adam, batch 64, constant lr);
- ``bundled``: the bundled model's recipe (``faceresnet_s``, soft targets mixed with the rule
  label, auxiliary vote-share head on the unlabelled faces too, fifth class "Other"; see
  ``src/aiducation/assets/model/MODEL_CARD.md``).

Prints training images/s on each device (after ``--warmup`` untimed steps, synchronised), the
projected time of the full grid (12 models × 100 epochs; the other 11 models scaled from the
measured one by their convolution cost N·B²·K², an estimate: ``--all-grid-models`` times each)
and of 10-fold CV (10 × 100 epochs of ``B16_N8_FC2_K5_AP20``) on the best device, and checks
that a checkpoint trained there gives the same predictions on the CPU (to 1e-4; convolutions
in full fp32 for the check, TF32 off). Without a GPU it says so and runs on the CPU only.

    .venv/bin/python benchmarks/bench_device.py --data prepared/ferplus
    .venv/bin/python benchmarks/bench_device.py --gpu-steps 200 --all-grid-models   # GPU box
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from aiducation.data.dataset import load_prepared
from aiducation.devices import describe_device, resolve_device
from aiducation.experiments.grid import SEED_PRESET
from aiducation.models.checkpoint import load_checkpoint
from aiducation.models.predict import classify_batches
from aiducation.models.seed_family import parse_seed_name, seed_grid_names
from aiducation.training.callbacks import Callback
from aiducation.training.config import TrainConfig
from aiducation.training.learner import Learner, train_one_epoch

SEED_MODEL = "B16_N8_FC2_K5_AP20"
GRID_EPOCHS = KFOLD_EPOCHS = 100
KFOLD_FOLDS = 10
CHECK_FACES = 512  # validation faces compared between the devices
TOLERANCE = 1e-4


class Enough(Exception):
    """Raised by :class:`StepTimer` once the timed steps are done."""


class StepTimer(Callback):
    """Times optimiser steps ``warmup + 1`` … ``warmup + steps`` (device synchronised)."""

    def __init__(self, device: torch.device, warmup: int, steps: int) -> None:
        self.device, self.warmup, self.steps = device, warmup, steps
        self.done, self.images, self.start, self.seconds = 0, 0, 0.0, 0.0

    def on_batch_end(self, learner, loss: float, correct: int, size: int) -> None:
        self.done += 1
        if self.done > self.warmup:
            self.images += learner.config.batch_size
        if self.done == self.warmup or self.done == self.warmup + self.steps:
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            now = time.perf_counter()
            if self.done == self.warmup:
                self.start = now
            else:
                self.seconds = now - self.start
                raise Enough


def recipes() -> dict[str, TrainConfig]:
    seed = TrainConfig(
        **{**SEED_PRESET, "model": SEED_MODEL, "model_kwargs": {"hidden": "seed"}}, progress=False
    )
    bundled = TrainConfig(
        model="faceresnet_s", targets="soft", hard_mix=0.5, aux_weight=1.0, aux_unlabelled=True,
        other_class=True, tta_flip=True, progress=False,
    )  # fmt: skip
    return {"seed": seed, "bundled": bundled}


def time_training(config: TrainConfig, dataset, run_dir: Path, warmup: int, steps: int):
    """Images/s of ``steps`` training steps after ``warmup`` ones, and the learner."""
    device = resolve_device(config.device)
    timer = StepTimer(device, warmup, steps)
    train_idx = dataset.split_indices("train")
    learner = Learner(config, dataset, train_idx, dataset.split_indices("val"), run_dir,
                      callbacks=[timer])  # fmt: skip
    needed = (warmup + steps) * config.batch_size
    if learner.steps_per_epoch * config.batch_size < needed:
        raise SystemExit(f"{len(train_idx)} training images are too few for {needed}")
    with contextlib.suppress(Enough):
        train_one_epoch(learner)
    return timer.images / timer.seconds, learner


def check_on_cpu(learner: Learner, dataset) -> tuple[float, float]:
    """Max |Δp| between the trained model on its device and its saved checkpoint on the CPU:
    with the device's defaults (TF32 convolutions on recent NVIDIA GPUs) and in full fp32."""
    faces = torch.from_numpy(np.ascontiguousarray(dataset.images[dataset.split_indices("val")]))
    faces = faces[:CHECK_FACES]
    n = len(learner.classes)
    path = learner.save_model("bench")
    on_cpu, _ = classify_batches(load_checkpoint(path, device="cpu").model, faces, n)
    diffs = []
    saved = torch.backends.cudnn.allow_tf32
    for tf32 in (saved, False):
        torch.backends.cudnn.allow_tf32 = tf32
        on_device, _ = classify_batches(learner.model, faces, n)
        diffs.append(float((on_device - on_cpu).abs().max()))
    torch.backends.cudnn.allow_tf32 = saved
    return diffs[0], diffs[1]


def cpu_name() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor() or platform.machine()
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return names[0] if names else platform.machine()


def conv_cost(name: str) -> float:
    parsed = parse_seed_name(name)
    return parsed["blocks"] * parsed["channels"] ** 2 * parsed["kernel"] ** 2


def hours(images_per_s: float, epochs: int, n_train: int) -> float:
    return epochs * n_train / images_per_s / 3600


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("prepared/ferplus"),
                        help="prepared dataset (default prepared/ferplus)")  # fmt: skip
    parser.add_argument("--device", default="auto", help="best device (default auto)")
    parser.add_argument("--steps", type=int, default=3, help="timed CPU steps (default 3)")
    parser.add_argument("--gpu-steps", type=int, default=100, help="timed GPU steps")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    parser.add_argument("--recipes", nargs="+", default=["seed", "bundled"],
                        choices=["seed", "bundled"])  # fmt: skip
    parser.add_argument("--all-grid-models", action="store_true",
                        help="time each of the 12 grid models on the best device")  # fmt: skip
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        dataset = load_prepared(args.data, mmap=True)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}\n(prepare it: aiducation prepare --ferplus-dir "
              f"../shared/data/ferplus --out {args.data})", file=sys.stderr)  # fmt: skip
        return 2
    best = resolve_device(args.device)
    devices = [best] if best.type == "cpu" else [best, torch.device("cpu")]
    n_train = len(dataset.split_indices("train"))
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {cpu_name()}, "
          f"{torch.get_num_threads()} CPU threads, torch "
          f"{torch.__version__}, data {args.data} ({n_train} training images)")  # fmt: skip
    if best.type == "cpu":
        print("no GPU found (CUDA or MPS): CPU only; projections are for the CPU")
    speeds: dict[tuple[str, str], float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.recipes:
            for device in devices:
                steps = args.steps if device.type == "cpu" else args.gpu_steps
                config = replace(recipes()[name], device=str(device))
                speed, learner = time_training(config, dataset, Path(tmp) / name, args.warmup,
                                               steps)  # fmt: skip
                speeds[name, str(device)] = speed
                print(f"{name:8s} {config.model:20s} {describe_device(device):28s} bf16 "
                      f"{'on ' if learner.bf16 else 'off'} batch {config.batch_size:3d}: "
                      f"{speed:8.1f} images/s ({steps} steps)")  # fmt: skip
                if device != torch.device("cpu"):
                    default, fp32 = check_on_cpu(learner, dataset)
                    verdict = "OK" if fp32 <= TOLERANCE else "FAILED"
                    print(f"  {describe_device(device)}-trained checkpoint on the CPU: max |Δp| "
                          f"{fp32:.2e} in fp32 ({verdict}, tolerance {TOLERANCE:g}); "
                          f"{default:.2e} with the GPU's default TF32 convolutions")  # fmt: skip
                    if fp32 > TOLERANCE:
                        return 1
        if "seed" in args.recipes:
            seed_speed = speeds["seed", str(best)]
            grid = {m: seed_speed * conv_cost(SEED_MODEL) / conv_cost(m) for m in seed_grid_names()}
            how = "scaled by N·B²·K² from " + SEED_MODEL
            if args.all_grid_models:
                how = "each model timed"
                for model in seed_grid_names():
                    config = replace(recipes()["seed"], model=model, device=str(best))
                    steps = args.steps if best.type == "cpu" else args.gpu_steps
                    grid[model], _ = time_training(config, dataset, Path(tmp) / model,
                                                   args.warmup, steps)  # fmt: skip
            grid_h = sum(hours(s, GRID_EPOCHS, n_train) for s in grid.values())
            kfold_h = KFOLD_FOLDS * hours(seed_speed, KFOLD_EPOCHS, n_train)
            print(f"projected on {describe_device(best)} (training steps only): grid 12 × "
                  f"{GRID_EPOCHS} epochs {grid_h:.1f} h ({how}); {KFOLD_FOLDS}-fold CV of "
                  f"{SEED_MODEL} × {KFOLD_EPOCHS} epochs {kfold_h:.1f} h (folds train on ≈ "
                  "the official training split's size)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
