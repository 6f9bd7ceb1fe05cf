"""Training throughput of the report's 12 models, and what the full experiments would cost.

Times optimiser steps (forward, cross-entropy, backward, Adam; batch 64 of 48×48 images, the
seed preset) per model after a warm-up step, then projects minutes per epoch on the official
training split (12,923 images) and hours for the seed grid (12 × 100 epochs) and a 10-fold CV
of one model (10 × 100 epochs on ~13,200 images). CPU numbers on a shared machine are noisy.

    .venv/bin/python benchmarks/bench_experiments.py --threads 2 --steps 3
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from datetime import UTC, datetime

import torch
import torch.nn.functional as F

from aiducation.models import count_parameters, create_model
from aiducation.models.seed_family import seed_grid_names

TRAIN_IMAGES = 12_923  # official Training split of the 4-class dataset
KFOLD_TRAIN_IMAGES = 13_167  # 9/10 of 16,256 minus a 10 % inner validation split


def images_per_second(name: str, steps: int, batch: int, device: str) -> float:
    torch.manual_seed(0)
    model = create_model(name).to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    x = torch.rand(batch, 1, 48, 48, device=device)
    y = torch.randint(0, 4, (batch,), device=device)

    def step() -> None:
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    step()  # warm-up
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    return steps * batch / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=seed_grid_names())
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC · {platform.processor() or platform.machine()}"
          f" · {os.cpu_count()} cores · torch {torch.__version__} · device {args.device} · "
          f"{args.threads} threads · batch {args.batch} · {args.steps} timed steps\n")  # fmt: skip
    print("| model | parameters | train img/s | min/epoch | h for 100 epochs |")
    print("|---|---|---|---|---|")
    total_hours = 0.0
    for name in args.models:
        rate = images_per_second(name, args.steps, args.batch, args.device)
        minutes = TRAIN_IMAGES / rate / 60
        total_hours += minutes * 100 / 60
        params = count_parameters(create_model(name))
        print(f"| {name} | {params:,} | {rate:.0f} | {minutes:.1f} | {minutes * 100 / 60:.1f} |",
              flush=True)  # fmt: skip
    best = "B16_N8_FC2_K5_AP20"
    kfold_hours = 0.0
    if best in args.models:
        kfold_hours = 10 * 100 * KFOLD_TRAIN_IMAGES / images_per_second(
            best, args.steps, args.batch, args.device
        ) / 3600  # fmt: skip
    print(f"\nGrid of {len(args.models)} × 100 epochs: {total_hours:.0f} h of training steps"
          + (f"; 10-fold CV of {best}: {kfold_hours:.0f} h" if kfold_hours else "")
          + " (evaluation and data loading not included).")  # fmt: skip


if __name__ == "__main__":
    main()
