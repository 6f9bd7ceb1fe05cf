"""Measure the GPU choices of ``benchmarks/seed_tables_gpu.py`` instead of guessing them.

Two short measurements on the device, with the package's own learner and training loop:

- **variants**: training images/s of a few grid models (the cheapest and the costliest by
  default) under the package's defaults (bf16 autocast where supported, channels-last,
  deterministic cuDNN, eager) and with one change each: bf16 off, channels-last off, cuDNN
  autotuning, ``torch.compile`` (its compile time reported apart);
- **concurrency**: aggregate images/s of 1, 2, 4, 8 trials at once on the one GPU (spawned
  processes, started together behind a barrier), for one mid-sized model.

:func:`decide` turns them into the run's choices (see its rules); ``seed_tables_gpu.py run``
measures once, stores ``measure.json`` in the experiment folder and reuses it afterwards.
"""

from __future__ import annotations

import time
from dataclasses import replace
from multiprocessing import get_context
from pathlib import Path
from queue import Empty

import numpy as np
import torch
from _seed_gpu_trials import Enough, Runtime, apply_runtime, time_steps

from aiducation.training.callbacks import Callback
from aiducation.training.config import TrainConfig

VARIANTS = {  # name: (TrainConfig changes, run-time choices)
    "package defaults": ({}, Runtime()),
    "bf16 off": ({"bf16": "off"}, Runtime()),
    "channels-last off": ({"channels_last": False}, Runtime()),
    "cuDNN autotune": ({}, Runtime(cudnn_benchmark=True)),
    "torch.compile": ({}, Runtime(compile=True)),
}
GAIN = 1.05  # a change is taken when it is at least 5 % faster (geometric mean over models)
COMPILE_GAIN = 1.15  # compiling must pay for its compile time and recompiles


def measure_variants(
    config: TrainConfig, dataset, models: list[str], names: list[str], warmup: int, steps: int,
    scratch: Path, deadline: float = float("inf"), bases: dict | None = None,
) -> list[dict]:  # fmt: skip
    """Images/s of each model under each variant in ``names`` (ratio: to the package defaults,
    measured first into ``bases``); measurements after ``deadline`` are skipped."""
    train, val = dataset.split_indices("train"), dataset.split_indices("val")
    bases = {} if bases is None else bases
    rows = []
    for name in names:
        changes, runtime = VARIANTS[name]
        for model in models:
            row = {"model": model, "variant": name}
            rows.append(row)
            if time.time() > deadline:
                row["error"] = "skipped: the call's measuring time is spent"
                continue
            try:
                timing = time_steps(replace(config, model=model, **changes), dataset, train, val,
                                    runtime, warmup, steps, scratch, val=False)  # fmt: skip
            except Exception as exc:  # e.g. no compiler for torch.compile: that choice is off
                row["error"] = f"{type(exc).__name__}: {exc}"[:500]
                print(f"  {model:20s} {name:18s} failed: {row['error']}", flush=True)
                continue
            images_s = config.batch_size / timing.step_s
            bases.setdefault(model, images_s)
            row.update(images_s=images_s, ratio=images_s / bases[model],
                       warmup_s=timing.warmup_s)  # fmt: skip
            print(f"  {model:20s} {name:18s} {images_s:9.1f} images/s ({row['ratio']:4.2f}×), "
                  f"build + warm-up {timing.warmup_s:5.1f} s", flush=True)  # fmt: skip
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    return rows


class _Window(Callback):
    """After ``warmup`` steps: wait at the barrier, then count images for ``seconds``."""

    def __init__(self, warmup: int, seconds: float, barrier) -> None:
        self.warmup, self.seconds, self.barrier = warmup, seconds, barrier
        self.done, self.images, self.t0, self.t1 = 0, 0, 0.0, 0.0

    def on_batch_end(self, learner, loss: float, correct: int, size: int) -> None:
        self.done += 1
        if self.done == self.warmup:
            _sync(learner.device)
            self.barrier.wait(timeout=300)
            self.t0 = time.perf_counter()
        elif self.done > self.warmup:
            self.images += learner.config.batch_size
            if time.perf_counter() - self.t0 >= self.seconds:
                _sync(learner.device)
                self.t1 = time.perf_counter()
                raise Enough


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _throughput_worker(config: dict, data: str, runtime: Runtime, warmup: int, seconds: float,
                       scratch: str, barrier, queue) -> None:  # fmt: skip
    from aiducation.data.dataset import load_prepared
    from aiducation.training.learner import Learner, train_one_epoch

    torch.set_num_threads(max(1, config["threads"]))  # as fit does in a trial
    try:
        dataset = load_prepared(data)
        window = _Window(warmup, seconds, barrier)
        train, val = dataset.split_indices("train"), dataset.split_indices("val")
        learner = Learner(TrainConfig.from_dict(config), dataset, train, val, Path(scratch),
                          callbacks=[window])  # fmt: skip
        apply_runtime(learner, runtime)
        try:
            while True:
                train_one_epoch(learner)
        except Enough:
            pass
        queue.put(window.images / (window.t1 - window.t0))
    except Exception as exc:  # reported by the parent
        barrier.abort()
        queue.put(f"{type(exc).__name__}: {exc}")


def measure_concurrency(
    config: TrainConfig, data: Path, levels: list[int], warmup: int, seconds: float,
    runtime: Runtime, scratch: Path,
) -> list[dict]:  # fmt: skip
    """Aggregate images/s of ``P`` processes training ``config.model`` at once, per level."""
    from aiducation.experiments.backends import available_cores

    context = get_context("spawn")
    rows, single = [], None
    for level in levels:
        barrier, queue = context.Barrier(level), context.Queue()
        threads = max(1, available_cores() // level)
        args = (replace(config, threads=threads).to_dict(), str(data), runtime, warmup, seconds,
                str(scratch), barrier, queue)  # fmt: skip
        processes = [context.Process(target=_throughput_worker, args=args) for _ in range(level)]
        for process in processes:
            process.start()
        try:
            results = [queue.get(timeout=180 + seconds) for _ in processes]
        except Empty:
            raise RuntimeError(f"{level} at once: a process gave no result in time") from None
        finally:
            for process in processes:
                process.join(timeout=30)
                if process.is_alive():
                    process.terminate()
        failed = [r for r in results if isinstance(r, str)]
        if failed:
            raise RuntimeError(f"concurrency level {level}: {failed[0]}")
        total = float(sum(results))
        single = single or total / level
        rows.append({"parallel": level, "images_s": total, "speedup": total / single})
        print(f"  {level} at once ({config.model}): {total:9.1f} images/s in all "
              f"({total / single:4.2f}× one trial)", flush=True)  # fmt: skip
    return rows


def _gain(rows: list[dict], variant: str) -> float | None:
    ratios = [r["ratio"] for r in rows if r["variant"] == variant and "ratio" in r]
    return float(np.exp(np.mean(np.log(ratios)))) if ratios else None


def compile_pays(variants: list[dict], epochs: int, n_train: int) -> bool:
    """torch.compile gains at least :data:`COMPILE_GAIN` (geometric mean) and, on every
    measured model, the time it saves over ``epochs`` epochs of ``n_train`` images exceeds
    three compilations (training graph, evaluation graph, its last batch) as timed."""
    gain = _gain(variants, "torch.compile")
    if gain is None or gain < COMPILE_GAIN:
        return False
    for model in {r["model"] for r in variants if r["variant"] == "torch.compile"}:
        rows = {r["variant"]: r for r in variants if r["model"] == model and "ratio" in r}
        if "torch.compile" not in rows or "package defaults" not in rows:
            return False
        epoch_s = n_train / rows["package defaults"]["images_s"]
        saved = epochs * epoch_s * (1 - 1 / rows["torch.compile"]["ratio"])
        if saved <= 3 * rows["torch.compile"]["warmup_s"]:
            return False
    return True


def decide(variants: list[dict], concurrency: list[dict], epochs: int, n_train: int) -> dict:
    """The run's choices: cuDNN autotuning, or channels-last off, when the geometric-mean gain
    over the measured models is at least :data:`GAIN`; torch.compile when
    :func:`compile_pays`; trials at once: the fewest within 5 % of the best throughput
    (``None`` when not measured)."""
    best = max((r["images_s"] for r in concurrency), default=0.0)
    parallel = min((r["parallel"] for r in concurrency if r["images_s"] >= best / GAIN),
                   default=None)  # fmt: skip
    return {
        "channels_last": not (_gain(variants, "channels-last off") or 0) >= GAIN,
        "cudnn_benchmark": (_gain(variants, "cuDNN autotune") or 0) >= GAIN,
        "compile": compile_pays(variants, epochs, n_train),
        "parallel": parallel,
        "bf16_off_gain": _gain(variants, "bf16 off"),  # reported only: bf16 is the recipe's
    }


def measure(
    config: TrainConfig, dataset, data: Path, models: list[str], warmup: int, steps: int,
    levels: list[int], seconds: float, scratch: Path, with_compile: bool = True,
    deadline: float = float("inf"),
) -> dict:  # fmt: skip
    """Both measurements and the decisions: the variants on the cheapest and the costliest of
    ``models`` (by parameters), trials at once with a mid-sized one, then torch.compile (the
    slowest to measure), each skipped once ``deadline`` has passed."""
    from aiducation.models import count_parameters, create_model

    order = sorted(models, key=lambda m: count_parameters(create_model(m)))
    chosen = list(dict.fromkeys([order[0], order[-1]]))
    eager = [name for name, (_, runtime) in VARIANTS.items() if not runtime.compile]
    bases: dict[str, float] = {}
    variants = measure_variants(config, dataset, chosen, eager, warmup, steps, scratch,
                                deadline, bases)  # fmt: skip
    middle = "B16_N8_FC2_K5_AP20" if "B16_N8_FC2_K5_AP20" in order else order[len(order) // 2]
    concurrency = []
    try:
        if time.time() < deadline:
            concurrency = measure_concurrency(replace(config, model=middle), data, levels,
                                              warmup, seconds, Runtime(), scratch)  # fmt: skip
    except Exception as exc:  # reported; the run then takes its default
        print(f"  trials at once: failed: {type(exc).__name__}: {exc}", flush=True)
    if with_compile:
        variants += measure_variants(config, dataset, chosen, ["torch.compile"], warmup, steps,
                                     scratch, deadline, bases)  # fmt: skip
    decisions = decide(variants, concurrency, config.epochs, len(dataset.split_indices("train")))
    print(f"decisions: {decisions}", flush=True)
    return {"variants": variants, "concurrency": concurrency, "decisions": decisions}


def bench_device(data: Path) -> dict:
    """``benchmarks/bench_device.py`` on the seed recipe (GPU throughput, CUDA→CPU check)."""
    import contextlib
    import io

    import bench_device as bench

    argv = ["--data", str(data), "--recipes", "seed", "--gpu-steps", "100", "--steps", "3"]
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        try:
            code = bench.main(argv)
        except Exception as exc:  # reported; the tables do not depend on it
            print(f"bench_device failed: {type(exc).__name__}: {exc}")
            code = -1
    print(buffer.getvalue(), end="", flush=True)
    return {"command": "benchmarks/bench_device.py " + " ".join(argv), "exit": code,
            "output": buffer.getvalue()}  # fmt: skip
