"""Trials of ``benchmarks/seed_tables_gpu.py``: one job per grid model or CV fold, several at once.

A job runs the package's own :func:`~aiducation.experiments.grid.run_grid_trial` or
:func:`~aiducation.experiments.kfold.run_fold_trial` (same models, recipe, checkpoint choice and
result files as ``aiducation grid`` / ``aiducation kfold``) with two extra training callbacks:

- :class:`RuntimeHook` applies run-time choices that leave the recipe alone (cuDNN autotuning,
  ``torch.compile`` of the model in place, so its checkpoints keep their parameter names);
- :class:`PauseAt` stops the trial at an epoch boundary, after the checkpointer has written the
  epoch's resume state (atomically), once the next epoch would end after the call's deadline or
  after ``stop_after`` epochs; the job then reports ``paused`` and a later call resumes it.

Jobs run in spawned processes (several on one GPU) or, with one slot, in this process; each
trial's output goes to its own log file.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aiducation.training.callbacks import Callback
from aiducation.training.config import TrainConfig

EPOCH_MARGIN = 1.5  # a trial pauses when now + 1.5 × its last epoch's seconds passes the deadline
SAVE_SECONDS = 2.0  # plus this, for writing the epoch's checkpoints


@dataclass
class Runtime:
    """Run-time choices that leave the recipe (the TrainConfig) alone."""

    compile: bool = False  # torch.compile the model in place (nn.Module.compile)
    cudnn_benchmark: bool = False  # cuDNN autotuning, nondeterministic algorithms allowed


def apply_runtime(learner, runtime: Runtime) -> None:
    """Apply ``runtime`` to a learner built by the package (after its deterministic defaults)."""
    if learner.device.type == "cuda" and runtime.cudnn_benchmark:
        torch.backends.cudnn.deterministic = False
        torch.backends.cudnn.benchmark = True
    if runtime.compile:
        import torch._dynamo as dynamo

        # one graph per model, mode (train/eval) and batch shape, several models per process
        dynamo.config.cache_size_limit = max(64, dynamo.config.cache_size_limit)
        learner.model.compile()


class RuntimeHook(Callback):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def on_fit_start(self, learner) -> None:
        apply_runtime(learner, self.runtime)


class Paused(Exception):
    """A trial stopped at an epoch boundary; its resume state is on disk."""


class PauseAt(Callback):
    """Pause after an epoch once the next one would end after ``stop_at`` (``time.time()``)
    or after ``stop_after`` epochs in this call (0: no limit); never after the last epoch."""

    def __init__(self, stop_at: float, stop_after: int = 0) -> None:
        self.stop_at, self.stop_after = stop_at, stop_after
        self.first: int | None = None
        self.last: int | None = None

    def on_fit_start(self, learner) -> None:
        self.first = self.last = learner.epoch

    def on_epoch_end(self, learner, row: dict) -> None:
        self.last = learner.epoch
        if learner.epoch >= learner.config.epochs:
            return
        if self.stop_after and self.last - self.first >= self.stop_after:
            raise Paused
        if time.time() + EPOCH_MARGIN * row["seconds"] + SAVE_SECONDS > self.stop_at:
            raise Paused


@dataclass
class Job:
    """One trial for one call: picklable."""

    phase: str  # grid | kfold
    name: str  # model (grid) or fold_<i> (kfold)
    trial: Any  # GridTrial | FoldTrial
    log: str  # the trial's output is appended here
    stop_at: float  # time.time() after which no epoch may end
    stop_after: int = 0  # epochs in this call (0: no limit)
    runtime: Runtime = field(default_factory=Runtime)


@dataclass
class Outcome:
    phase: str
    name: str
    status: str  # finished | paused | failed
    first_epoch: int | None  # completed epochs when the job started (None: nothing trained)
    last_epoch: int | None  # completed epochs when it returned
    seconds: float
    row: dict | None = None  # the Table 2.2 / 3.2 row once finished
    error: str = ""

    @property
    def epochs_done(self) -> int:
        return 0 if self.first_epoch is None else self.last_epoch - self.first_epoch


def run_job(job: Job) -> Outcome:
    """Train (or resume) one trial until it finishes or pauses; never raises for a trial."""
    from aiducation.experiments.grid import run_grid_trial
    from aiducation.experiments.kfold import run_fold_trial
    from aiducation.training.learner import default_callbacks

    config = TrainConfig.from_dict(job.trial.config)
    pause = PauseAt(job.stop_at, job.stop_after)
    callbacks = [*default_callbacks(config, Path(job.trial.run_dir)), RuntimeHook(job.runtime),
                 pause]  # fmt: skip
    run = run_grid_trial if job.phase == "grid" else run_fold_trial
    status, row, error = "finished", None, ""
    start = time.perf_counter()
    Path(job.log).parent.mkdir(parents=True, exist_ok=True)
    with open(job.log, "a") as log, redirect_stdout(log), redirect_stderr(log):
        print(
            f"--- {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}: {job.name}", flush=True
        )
        try:
            row = run(job.trial, callbacks=callbacks)
        except Paused:
            status = "paused"
            print(f"paused after epoch {pause.last}", flush=True)
        except Exception as exc:  # one trial's failure must not stop the others
            traceback.print_exc()
            status, error = "failed", f"{type(exc).__name__}: {exc}"
    return Outcome(job.phase, job.name, status, pause.first, pause.last,
                   time.perf_counter() - start, row, error)  # fmt: skip


class InlineExecutor:
    """:class:`ProcessPoolExecutor`'s ``submit`` for one job at a time, in this process."""

    def submit(self, fn: Callable, *args) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args))
        except BaseException as exc:
            future.set_exception(exc)
        return future

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        return None


def make_executor(slots: int):
    """Spawned processes for several jobs at once (no CUDA or thread state inherited)."""
    if slots <= 1:
        return InlineExecutor()
    return ProcessPoolExecutor(slots, mp_context=get_context("spawn"))


def run_jobs(
    executor,
    slots: int,
    jobs: list[Job],
    admit: Callable[[Job, int, int], bool],
    on_outcome: Callable[[Outcome, list[Job]], None],
) -> tuple[list[Outcome], list[Job]]:
    """Run ``jobs``, at most ``slots`` at once: whenever a slot is free, the first job in
    order that ``admit(job, running, others_queued)`` accepts starts.
    ``on_outcome(outcome, running_jobs)`` follows each job's end. Returns the outcomes and the
    jobs never started (once nothing runs and no job is admitted), left for a later call."""
    queue = list(jobs)
    running: dict[Future, Job] = {}
    outcomes: list[Outcome] = []
    try:
        while True:
            while len(running) < slots:
                job = next((j for j in queue if admit(j, len(running), len(queue) - 1)), None)
                if job is None:
                    break
                queue.remove(job)
                running[executor.submit(run_job, job)] = job
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                running.pop(future)
                outcome = future.result()
                outcomes.append(outcome)
                on_outcome(outcome, list(running.values()))
    except BaseException:
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    return outcomes, queue


class Enough(Exception):
    """Raised by :class:`StepClock` once its steps are timed."""


class StepClock(Callback):
    """Times optimiser steps ``warmup + 1 … warmup + steps`` (device synchronised)."""

    def __init__(self, device: torch.device, warmup: int, steps: int) -> None:
        self.device, self.warmup, self.steps = device, warmup, steps
        self.done, self.marks = 0, [time.perf_counter()]

    def on_batch_end(self, learner, loss: float, correct: int, size: int) -> None:
        self.done += 1
        if self.done in (self.warmup, self.warmup + self.steps):
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            self.marks.append(time.perf_counter())
            if len(self.marks) == 3:
                raise Enough


@dataclass
class Timing:
    step_s: float  # seconds per training step (batch), after the warm-up
    val_s: float  # seconds per validation pass
    warmup_s: float  # seconds to build the learner and run the warm-up steps (compiling too)
    steps_per_epoch: int


def time_steps(
    config: TrainConfig,
    dataset,
    train_idx: np.ndarray,
    val_idx: np.ndarray,
    runtime: Runtime,
    warmup: int,
    steps: int,
    scratch: Path,
    val: bool = True,
) -> Timing:
    """Time ``steps`` training steps after ``warmup`` ones and, with ``val``, one validation
    pass (after an untimed one), of ``config`` with the package's own learner and loop."""
    from aiducation.training.learner import Learner, evaluate_val, train_one_epoch

    start = time.perf_counter()
    clock = StepClock(torch.device("cpu"), max(1, warmup), max(1, steps))
    learner = Learner(config, dataset, train_idx, val_idx, scratch, callbacks=[clock])
    clock.device = learner.device
    apply_runtime(learner, runtime)
    clock.marks = [start]
    try:
        while True:  # as many epochs as the steps need
            train_one_epoch(learner)
    except Enough:
        pass
    val_s = 0.0
    if val:
        evaluate_val(learner)
        t0 = time.perf_counter()
        evaluate_val(learner)  # classify_batches returns CPU tensors: synchronised
        val_s = time.perf_counter() - t0
    del learner
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    first, warm, end = clock.marks
    return Timing((end - warm) / clock.steps, val_s, warm - first,
                  -(-len(train_idx) // config.batch_size))  # fmt: skip
