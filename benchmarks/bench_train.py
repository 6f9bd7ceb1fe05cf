"""Training throughput: our data path versus a re-creation of the report's, same model/machine.

Report's path (re-created): one PNG file per image read with PIL inside a ``Dataset``,
per-sample transforms (random horizontal flip, random rotation ±10°, to fp32 tensor) and a
``DataLoader`` (batch 64, shuffled, no workers), fp32 NCHW model, Adam lr 1e-3, wd 1e-4.
Ours: the prepared uint8 array in memory, batched tensor augmentation, channels-last,
bf16 autocast where the CPU has native bf16 (``aiducation.training.learner.train_one_epoch``).

Both paths train the same architecture from the same initial weights for the same number of
images; the paths alternate (A B A B ...) so machine load affects both alike. Throughput is
training images per second, end to end (data loading + forward + backward + optimiser step);
the per-epoch time is extrapolated to the 12,923 training images.

    .venv/bin/python benchmarks/bench_train.py --data prepared/ferplus --steps 8 --repeats 2
    .venv/bin/python benchmarks/bench_train.py --mode layout --model faceresnet_s --hidden none
    .venv/bin/python benchmarks/bench_train.py --mode accuracy --config RECIPE.json
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from aiducation.data.dataset import load_prepared
from aiducation.models import count_parameters, create_model
from aiducation.models.predict import classify_batches
from aiducation.training.callbacks import Callback
from aiducation.training.config import TrainConfig
from aiducation.training.evaluation import score
from aiducation.training.learner import Learner, default_callbacks, fit, train_one_epoch
from aiducation.training.optim import cpu_has_native_bf16


class PngFaces(Dataset):
    """The report's dataset: a PNG per face, decoded and transformed one sample at a time."""

    def __init__(self, files: list[Path], labels: np.ndarray) -> None:
        self.files, self.labels = files, labels

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        image = Image.open(self.files[i]).convert("L")
        if random.random() < 0.5:
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        image = image.rotate(random.uniform(-10, 10))
        x = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255).unsqueeze(0)
        return x, int(self.labels[i])


def report_epoch(model: torch.nn.Module, loader: DataLoader) -> int:
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    model.train()
    seen = 0
    for x, y in loader:
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        seen += len(y)
    return seen


def layout_precision(args: argparse.Namespace, data) -> dict:
    """Our path with channels-last on/off × bf16 on/off, same model and images."""
    n = args.steps * args.batch_size
    train_idx = data.split_indices("train")[:n]
    kwargs = {} if args.hidden == "none" else {"hidden": _hidden(args.hidden)}
    rates: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeats):
            for channels_last in (False, True):
                for bf16 in ("off", "on"):
                    config = TrainConfig(
                        model=args.model, model_kwargs=kwargs, epochs=1,
                        batch_size=args.batch_size, schedule="constant", progress=False,
                        bf16=bf16, channels_last=channels_last, threads=args.threads,
                    )  # fmt: skip
                    learner = Learner(config, data, train_idx, train_idx[:1], Path(tmp) / "r")
                    start = time.perf_counter()
                    train_one_epoch(learner)
                    layout = "channels_last" if channels_last else "nchw"
                    key = f"{layout}+{'bf16' if bf16 == 'on' else 'fp32'}"
                    rates.setdefault(key, []).append(n / (time.perf_counter() - start))
                    print(f"{key}: {rates[key][-1]:.1f} images/s", flush=True)
    return {"model": args.model, "images_per_s": rates, "native_bf16": cpu_has_native_bf16()}


class TestAccuracyClock(Callback):
    """Benchmark-only: held-out test accuracy after every epoch, against training wall time."""

    def __init__(self, data, target: float) -> None:
        self.test_idx = data.split_indices("test")
        self.images = torch.from_numpy(np.ascontiguousarray(data.images[self.test_idx]))
        self.labels, self.classes, self.target = data.labels[self.test_idx], data.classes, target
        self.rows: list[dict] = []

    def on_epoch_end(self, learner: Learner, row: dict) -> None:
        probs, _ = classify_batches(learner.model, self.images, len(learner.classes))
        metrics = score(probs.numpy(), self.labels, self.classes)
        self.rows.append({"epoch": row["epoch"], "train_s": round(row["elapsed_s"], 1),
                          "val_accuracy": round(row["val_accuracy"], 4),
                          "test_accuracy": round(metrics["accuracy"], 4)})  # fmt: skip
        print(self.rows[-1], flush=True)


def time_to_accuracy(args: argparse.Namespace, data) -> dict:
    """Train the recipe in ``--config`` and report when test accuracy first reaches targets."""
    config = TrainConfig.load(args.config) if args.config else TrainConfig()
    config.threads, config.progress = args.threads, False
    clock = TestAccuracyClock(data, args.target)
    with tempfile.TemporaryDirectory() as tmp:
        callbacks = [*default_callbacks(config, Path(tmp)), clock]
        fit(config, data, data.split_indices("train"), data.split_indices("val"), Path(tmp),
            callbacks=callbacks, resume=False)  # fmt: skip
    reached = {
        str(t): next((r["train_s"] for r in clock.rows if r["test_accuracy"] >= t), None)
        for t in (args.target, 0.70)
    }
    return {"config": config.to_dict(), "epochs": clock.rows, "seconds_to_test_accuracy": reached}


def _hidden(value: str) -> int | str:
    return value if value == "seed" else int(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--mode",
        choices=("report", "layout", "accuracy"),
        default="report",
        help="report: ours vs report's data path; layout: channels-last × bf16; "
        "accuracy: held-out test accuracy against training time for --config",
    )
    parser.add_argument("--config", type=Path, help="TrainConfig JSON for --mode accuracy")
    parser.add_argument("--target", type=float, default=0.623, help="test accuracy to time")
    parser.add_argument("--data", type=Path, default=Path("prepared/ferplus"))
    parser.add_argument("--model", default="B16_N8_FC2_K5_AP20")
    parser.add_argument(
        "--hidden", default="seed", help="hidden FC width ('seed' = B·AP², 'none' in layout mode)"
    )
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=8, help="optimiser steps per measurement")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--bf16", choices=("auto", "on", "off"), default="auto")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    data = load_prepared(args.data)
    if args.mode == "accuracy":
        print(json.dumps(time_to_accuracy(args, data), indent=2))
        return
    if args.mode == "layout":
        print(
            json.dumps(
                {
                    "date": datetime.now(UTC).isoformat(timespec="seconds"),
                    "threads": args.threads,
                    **layout_precision(args, data),
                },
                indent=2,
            )
        )
        return
    n = args.steps * args.batch_size
    train_idx = data.split_indices("train")[:n]
    hidden = _hidden(args.hidden)
    config = TrainConfig(
        model=args.model, model_kwargs={"hidden": hidden}, epochs=1, batch_size=args.batch_size,
        optimizer="adam", lr=1e-3, weight_decay=1e-4, schedule="constant", progress=False,
        bf16=args.bf16, threads=args.threads,
    )  # fmt: skip
    results: dict[str, list[float]] = {"report": [], "ours": []}
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i in train_idx:
            path = Path(tmp) / f"{i}.png"
            Image.fromarray(data.images[i]).save(path)
            files.append(path)
        loader = DataLoader(
            PngFaces(files, data.labels[train_idx]), batch_size=args.batch_size, shuffle=True
        )
        for _ in range(args.repeats):
            torch.manual_seed(0)
            model = create_model(args.model, hidden=hidden)
            start = time.perf_counter()
            seen = report_epoch(model, loader)
            results["report"].append(seen / (time.perf_counter() - start))

            learner = Learner(config, data, train_idx, train_idx[:1], Path(tmp) / "run")
            start = time.perf_counter()
            train_one_epoch(learner)
            results["ours"].append(len(train_idx) / (time.perf_counter() - start))
    best = {k: max(v) for k, v in results.items()}
    params = count_parameters(create_model(args.model, hidden=hidden))
    summary = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} threads, torch {torch.__version__}",
        "model": args.model,
        "hidden": args.hidden,
        "parameters": params,
        "images_per_measurement": n,
        "bf16": learner.bf16,
        "images_per_s": results,
        "best_images_per_s": best,
        "epoch_s_extrapolated": {k: 12923 / v for k, v in best.items()},
        "speedup": best["ours"] / best["report"],
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
