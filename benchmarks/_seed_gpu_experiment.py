"""The experiment of one device call of ``benchmarks/seed_tables_gpu.py``: its options (as
asked, else as measured, else defaults), the timed warm-up and projection, the grid then CV
phases with several trials at once, and the record of each call (``progress.json``)."""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch
from _seed_gpu_state import MARKER, MIB, SCRATCH, pack_checkpoints, pack_state
from _seed_gpu_tables import tables_markdown
from _seed_gpu_trials import Job, Outcome, Runtime, make_executor, run_jobs, time_steps

from aiducation.atomic import write_json, write_text
from aiducation.data.dataset import load_prepared
from aiducation.devices import describe_device, resolve_device
from aiducation.experiments.backends import BackendConfig, available_cores
from aiducation.experiments.grid import SEED_PRESET, GridSpec, run_grid
from aiducation.experiments.kfold import KFoldSpec, fold_plan, fold_trials, run_kfold
from aiducation.experiments.runs import check_unchanged, comparable_config, read_result
from aiducation.models import count_parameters, create_model
from aiducation.training.config import TrainConfig

FINISH_S = 45.0  # kept after the last epoch: final evaluations, tables, packing
SETUP_S = 5.0  # a job's start in a worker: dataset, learner, first cuDNN calls
RESULTS_MIB = 4  # room kept in the state archive for the result files


def data_digest(data: Path) -> str:
    return hashlib.sha256((data / "meta.csv").read_bytes()).hexdigest()[:16]


def choice(value: str, measured: dict, key: str, default):
    """``on``/``off`` as asked; ``auto``: the measured decision, else ``default``."""
    return {"on": True, "off": False}.get(value, measured.get(key, default))


def read_json(path: Path, default=None):
    return json.loads(path.read_text()) if path.is_file() else default


class Experiment:
    """The grid and CV of one call: options, timings, jobs, and the record of each call."""

    def __init__(self, args: argparse.Namespace, stop_at: float) -> None:
        self.args, self.work, self.stop_at = args, args.work, stop_at
        self.device = resolve_device(args.device)
        self.dataset = load_prepared(args.data)
        self.measured: dict = read_json(self.work / "measure.json", {})
        self.timings: dict[str, float] = {}  # model → projected seconds per epoch, alone
        self.outcomes: list[Outcome] = []
        self.pool_s = 0.0
        self.alone: str | None = None  # a job that runs with nothing beside it
        self.configure()

    # ----- options -----
    def configure(self) -> None:
        """The recipe and the run-time choices: as asked, else as measured, else defaults;
        channels-last (a TrainConfig field) is frozen by the experiment's first call."""
        args, saved = self.args, read_json(self.work / MARKER)
        decided = self.measured.get("decisions", {})
        if args.channels_last == "auto" and saved:
            channels_last = saved["config"]["channels_last"]
        else:
            channels_last = choice(args.channels_last, decided, "channels_last", True)
        gpu_default = 4 if self.device.type == "cuda" else 1
        asked = decided.get("parallel") or gpu_default
        self.parallel = int(asked if args.parallel == "auto" else args.parallel)
        self.parallel = max(1, self.parallel)
        threads = args.threads or max(1, available_cores() // self.parallel)
        self.runtime = Runtime(
            compile=choice(args.compile, decided, "compile", False),
            cudnn_benchmark=choice(args.cudnn_benchmark, decided, "cudnn_benchmark", False),
        )
        self.config = TrainConfig(**{**SEED_PRESET, "epochs": args.epochs}, model=args.models[0],
                                  device=self.device.type, bf16=args.bf16, progress=False,
                                  channels_last=channels_last, threads=threads)  # fmt: skip
        self.backend = BackendConfig(workers=self.parallel, threads=threads)

    def commit(self) -> None:
        """Refuse options other than the experiment's first call's; record them."""
        described = {"models": self.args.models, "epochs": self.args.epochs,
                     "folds": self.args.folds, "data": str(self.args.data),
                     "data_sha256": data_digest(self.args.data),
                     "config": comparable_config(self.config)}  # fmt: skip
        check_unchanged(self.work / MARKER, described, tuple(described))
        write_json(self.work / MARKER, described)
        print(f"choices: {self.parallel} trial(s) at once, {self.config.threads} CPU threads "
              f"each, bf16 {self.config.bf16}, channels-last {self.config.channels_last}, "
              f"{asdict(self.runtime)}", flush=True)  # fmt: skip

    # ----- specs and jobs -----
    def grid_spec(self, workers: int = 0) -> GridSpec:
        backend = replace(self.backend, workers=workers or self.backend.workers)
        return GridSpec(self.args.models, self.config, self.args.data, self.work / "grid",
                        backend=backend)  # fmt: skip

    def kfold_spec(self, winner: str, workers: int = 0) -> KFoldSpec:
        backend = replace(self.backend, workers=workers or self.backend.workers)
        return KFoldSpec(replace(self.config, model=winner), self.args.data, self.work / "kfold",
                         folds=self.args.folds, backend=backend)  # fmt: skip

    def winner(self) -> str | None:
        return read_json(self.work / "grid" / "best_model.json", {}).get("model")

    def jobs(self, phase: str, trials: list) -> list[Job]:
        """Unfinished trials as jobs (the longest first, once timed)."""
        jobs = []
        for trial in trials:
            if read_result(Path(trial.run_dir)) is None:
                name = trial.model if phase == "grid" else f"fold_{trial.fold:02d}"
                log = str(self.work / "logs" / f"{phase}_{name}.log")
                jobs.append(Job(phase, name, trial, log, self.stop_at, self.args.stop_after,
                                self.runtime))  # fmt: skip
        return jobs

    def model_of(self, job: Job) -> str:
        return job.trial.config["model"]

    def epochs_left(self, job: Job) -> int:
        log = Path(job.trial.run_dir) / "log.csv"
        done = max(0, len(log.read_text().splitlines()) - 1) if log.is_file() else 0
        return max(0, self.args.epochs - done)

    def remaining_s(self, job: Job) -> float:
        return self.epochs_left(job) * self.timings.get(self.model_of(job), 0.0)

    def state_bytes(self, model: str) -> int:
        """Resume state (weights + Adam's two moments) and best checkpoint of one trial."""
        n = count_parameters(create_model(model, num_classes=len(self.dataset.classes)))
        return 16 * n + 256 * 1024

    def carriable(self, job: Job) -> bool:
        room = (self.args.state_budget_mb - RESULTS_MIB) * MIB
        return self.state_bytes(self.model_of(job)) <= room

    # ----- projection -----
    def time_models(self, models: list[str], phase: str) -> None:
        """Seconds per epoch of each model alone, from a short timed warm-up (eager: with
        torch.compile chosen, scaled by its measured gain instead of compiling here)."""
        runtime = replace(self.runtime, compile=False)
        gain = 1.0
        if self.runtime.compile:
            ratios = [r["ratio"] for r in self.measured.get("variants", [])
                      if r["variant"] == "torch.compile" and "ratio" in r]  # fmt: skip
            gain = min(ratios) if ratios else 1.0
        train, val = self.dataset.split_indices("train"), self.dataset.split_indices("val")
        for model in dict.fromkeys(models):
            if model in self.timings:
                continue
            try:
                timing = time_steps(replace(self.config, model=model), self.dataset, train,
                                    val, runtime, self.args.warmup_steps,
                                    self.args.timed_steps, self.work / SCRATCH)  # fmt: skip
            except Exception as exc:  # its trial will fail too, and say why; the others run
                print(f"  {phase:4s} {model:20s} not timed: {type(exc).__name__}: {exc}")
                self.timings[model] = 0.0
                continue
            epoch_s = (timing.steps_per_epoch * timing.step_s + timing.val_s) / gain
            self.timings[model] = epoch_s
            print(f"  {phase:4s} {model:20s} {1000 * timing.step_s:7.2f} ms/step, val "
                  f"{timing.val_s:5.2f} s: {epoch_s:6.2f} s/epoch alone (build + warm-up "
                  f"{timing.warmup_s:4.1f} s)", flush=True)  # fmt: skip

    def speedups(self) -> dict[int, float]:
        """Throughput of k trials at once over one alone, per k: measured on the device, and
        for ``parallel`` by this experiment's latest call that ran that many."""
        known = {r["parallel"]: r["speedup"] for r in self.measured.get("concurrency", [])}
        calls = read_json(self.work / "progress.json", {"calls": []})["calls"]
        mine = [c for c in calls if c.get("parallel") == self.parallel and c.get("speedup")]
        if mine:
            known[self.parallel] = mine[-1]["speedup"]
        return {1: 1.0, **known}

    def speedup(self) -> float | None:
        return self.speedups().get(self.parallel) if self.parallel > 1 else 1.0

    def slowdown(self, together: int) -> float:
        """How much slower each of ``together`` trials at once runs than alone: from the
        measured speed-ups (interpolated), else as if the GPU were shared in turns."""
        if together <= 1:
            return 1.0
        known = self.speedups()
        if together in known:
            return max(1.0, together / known[together])
        below = max((k for k in known if k < together), default=None)
        above = min((k for k in known if k > together), default=None)
        if below is None or above is None:
            return float(together)
        share = (together - below) / (above - below)
        speedup = known[below] + share * (known[above] - known[below])
        return max(1.0, together / speedup)

    def project(self, jobs: list[Job], label: str) -> None:
        serial = sum(self.remaining_s(j) for j in jobs) / 60
        speedup = self.speedup()
        if self.parallel == 1:
            estimate = f"{serial:.1f} min"
        elif speedup:
            estimate = f"≈ {serial / speedup:.1f} min at the measured {speedup:.2f}×"
        else:
            estimate = f"{serial / self.parallel:.1f} (perfect overlap) to {serial:.1f} min"
        print(f"projection, {label}: {len(jobs)} trial(s), {serial:.1f} min one after another "
              f"alone; {self.parallel} at once: {estimate}", flush=True)  # fmt: skip
        budget = 60 * self.args.minutes - FINISH_S
        for job in jobs:
            if self.carriable(job):
                continue
            alone, mib = self.remaining_s(job) / 60, self.state_bytes(self.model_of(job)) / MIB
            shared = alone * self.slowdown(self.parallel)
            if 60 * alone > budget:
                print(f"  warning: {job.name} needs {alone:.1f} min alone, more than a call, "
                      f"and its state ({mib:.0f} MiB) cannot travel: it will not be started "
                      "(raise --minutes, or --state-budget-mb if the carry limit allows)",
                      flush=True)  # fmt: skip
            elif 60 * shared > budget:
                print(f"  note: {job.name} needs {alone:.1f} min alone, ~{shared:.1f} beside "
                      f"others; its state ({mib:.0f} MiB) cannot travel, so it may run alone",
                      flush=True)  # fmt: skip

    # ----- running -----
    def admit(self, job: Job, running: int, queued: int) -> bool:
        """Start a job only if an epoch fits before the deadline, shared with the trials that
        will run beside it, and, when its state cannot travel, all its remaining epochs do;
        if they fit only alone and nothing runs, it runs alone (nothing joins it)."""
        if self.alone is not None:
            return False
        left = self.stop_at - time.time()
        solo = self.timings.get(self.model_of(job), 0.0)
        shared = solo * self.slowdown(min(self.parallel, running + 1 + queued))
        if left < SETUP_S + 1.5 * shared:
            return False
        if self.carriable(job) or SETUP_S + self.epochs_left(job) * shared <= left:
            return True
        if running == 0 and SETUP_S + self.epochs_left(job) * solo <= left:
            print(f"  {job.name} runs alone: its state cannot travel and it would not finish "
                  "beside others", flush=True)  # fmt: skip
            self.alone = job.name
            return True
        return False

    def run_phase(self, executor, jobs: list[Job], label: str) -> bool:
        """Train ``jobs`` (the longest first); True once every trial of the phase finished."""
        jobs = sorted(jobs, key=self.remaining_s, reverse=True)
        self.project(jobs, label)
        start = time.time()
        outcomes, left = run_jobs(executor, self.parallel, jobs, self.admit, self.report)
        self.pool_s += time.time() - start
        self.outcomes += outcomes
        for job in left:
            print(f"  {job.name}: not started in this call (too little time left)", flush=True)
        return not left and all(o.status == "finished" for o in outcomes)

    def report(self, outcome: Outcome, running: list[Job]) -> None:
        if outcome.name == self.alone:
            self.alone = None
        span = f" epochs {outcome.first_epoch}→{outcome.last_epoch}" if outcome.epochs_done else ""
        score = f", test accuracy {outcome.row['accuracy']:.4f}" if outcome.row else ""
        print(f"  {time.strftime('%H:%M:%S')} {outcome.phase} {outcome.name}: {outcome.status}"
              f"{span} in {outcome.seconds:.0f} s{score} {outcome.error}", flush=True)  # fmt: skip
        # what is finished comes back even if the call is killed
        self.pack(final=False, busy=[Path(job.trial.run_dir) for job in running])

    def train(self) -> None:
        grid_jobs = self.jobs("grid", self.grid_spec().trials())
        print("warm-up, each pending model alone:", flush=True)
        self.time_models([self.model_of(j) for j in grid_jobs], "grid")
        executor = make_executor(self.parallel)
        try:
            if grid_jobs and not self.run_phase(executor, grid_jobs, "grid"):
                return
            if grid_jobs or self.winner() is None:
                run_grid(self.grid_spec(workers=1))  # all finished: Table 2.2, plots, winner
            winner = self.winner()
            spec = self.kfold_spec(winner)
            fold_jobs = self.jobs("kfold", fold_trials(spec, fold_plan(self.dataset, spec)))
            self.time_models([winner] if fold_jobs else [], "cv")
            if fold_jobs and not self.run_phase(executor, fold_jobs, f"CV of {winner}"):
                return
            written = [self.work / "kfold" / n for n in ("oof_predictions.csv", "table_3_2.csv")]
            if fold_jobs or not all(path.is_file() for path in written):
                run_kfold(self.kfold_spec(winner, workers=1))
        finally:
            executor.shutdown(wait=True)

    # ----- records -----
    def record(self, started: float) -> None:
        """Append this call to ``progress.json`` (device, choices, epochs, measured speed-up)."""

        def model(o: Outcome) -> str:
            return o.name if o.phase == "grid" else (self.winner() or "")

        done = sum(o.epochs_done * self.timings.get(model(o), 0.0) for o in self.outcomes)
        speedup = done / self.pool_s if done and self.pool_s > 0 and self.parallel > 1 else None
        progress = read_json(self.work / "progress.json", {"calls": []})
        progress["calls"].append({
            "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
            "device": describe_device(self.device), "torch": torch.__version__,
            "parallel": self.parallel, "runtime": asdict(self.runtime),
            "wall_s": round(time.time() - started, 1), "training_wall_s": round(self.pool_s, 1),
            "epochs": {f"{o.phase}/{o.name}": [o.first_epoch, o.last_epoch]
                       for o in self.outcomes},
            "status": {f"{o.phase}/{o.name}": o.status for o in self.outcomes},
            "speedup": round(speedup, 3) if speedup else None,
        })  # fmt: skip
        write_json(self.work / "progress.json", progress)

    def pack(self, final: bool = True, busy: list[Path] | None = None) -> None:
        """``state.tar.gz`` into ``--out`` (and at the end the checkpoints and tables.md)."""
        out = self.args.out
        if not out:
            return
        out.mkdir(parents=True, exist_ok=True)
        budget = self.args.state_budget_mb * MIB
        state = pack_state(self.work, out / "state.tar.gz", budget, busy)
        if not final:
            return
        winner = self.winner()
        kept = pack_checkpoints(
            self.work,
            out / "checkpoints.tar",
            self.args.checkpoint_budget_mb * MIB,
            [winner] if winner else [],
        )
        write_text(out / "tables.md", tables_markdown(self.work))
        print(f"packed {state.path} ({state.bytes / MIB:.1f} MiB; resumable: "
              f"{', '.join(state.carried) or 'none'}; restarting next time: "
              f"{', '.join(state.dropped) or 'none'}) and {kept.path} ({kept.bytes / MIB:.1f} "
              f"MiB, {len(kept.carried)} best checkpoints)", flush=True)  # fmt: skip
