"""The report's Table 2.2 (12-model grid) and Table 3.2 (10-fold CV of the grid's validation
winner) at the report's budget on one GPU, resumable across short device calls.

Each model and fold is trained by the package's own ``run_grid_trial`` / ``run_fold_trial``
(``aiducation grid --preset seed`` / ``aiducation kfold --from-grid``: the same registry models,
Adam 1e-3, weight decay 1e-4, batch 64, cross-entropy on the rule labels, constant learning
rate, 100 epochs, checkpoint chosen on validation, test evaluated once), several trials at once
on the GPU, each pausing at an epoch boundary before the call's deadline. A call:

1. unpacks ``--state`` (the archive the last call gave back) into ``--work``;
2. once per experiment on a GPU: ``bench_device.py`` (throughput, CUDA→CPU check) and
   :mod:`_seed_gpu_measure` (bf16, channels-last, cuDNN autotune, torch.compile, trials at
   once), whose decisions the ``auto`` options follow;
3. prints a projection from a short timed warm-up of every pending model;
4. trains the grid, then the CV, until ``--minutes`` are nearly spent;
5. packs the experiment into ``--out``: ``state.tar.gz`` (carry it next time),
   ``checkpoints.tar`` and ``tables.md`` (docs/results.md's tables beside the report's).

    bash benchmarks/seed_tables_gpu.sh run --minutes 9     # on the device: docs/experiments.md
    .venv/bin/python benchmarks/seed_tables_gpu.py tables   # here, from the carried archive
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import torch
from _seed_gpu_experiment import FINISH_S, Experiment
from _seed_gpu_state import MARKER, MIB, SCRATCH, export_results, seed_work, unpack_state
from _seed_gpu_tables import tables_markdown

from aiducation.atomic import write_json, write_text
from aiducation.devices import describe_device
from aiducation.experiments.grid import SEED_PRESET
from aiducation.models.seed_family import seed_grid_names

MEASURE_SHARE = 0.5  # measuring stops starting new measurements after half the call


def run_once(path: Path, make, again: bool = False) -> dict:
    """``make()``'s result, kept as ``path``: made once per experiment (or ``again``)."""
    if again or not path.is_file():
        write_json(path, make())
    return json.loads(path.read_text())


def run(args: argparse.Namespace) -> int:
    """One device call (see the module doc)."""
    from _seed_gpu_measure import bench_device, measure

    started = time.time()
    if args.state.is_file():
        unpack_state(args.state, args.work)
    elif (args.results / MARKER).is_file() and not (args.work / MARKER).is_file():
        seed_work(args.results, args.work)  # a new checkout: start from the committed results
        print(f"no {args.state}: starting from the committed results in {args.results}")
    args.work.mkdir(parents=True, exist_ok=True)
    try:
        experiment = Experiment(args, started + 60 * args.minutes - FINISH_S)
        gpu = experiment.device.type == "cuda"
        print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))}: "
              f"{describe_device(experiment.device)}, torch {torch.__version__}, data "
              f"{args.data} ({len(experiment.dataset.meta)} images), {args.minutes:g} min",
              flush=True)  # fmt: skip
        if args.bench_device == "on" or (args.bench_device == "auto" and gpu):
            run_once(args.work / "bench_device.json", lambda: bench_device(args.data),
                     again=args.bench_device == "on")  # fmt: skip
        if args.measure == "on" or (args.measure == "auto" and gpu):
            levels = [int(v) for v in args.measure_levels.split(",")]
            experiment.measured = run_once(args.work / "measure.json", lambda: measure(
                experiment.config, experiment.dataset, args.data, args.models,
                args.warmup_steps, args.measure_steps, levels, args.measure_seconds,
                args.work / SCRATCH, args.compile != "off",
                deadline=started + 60 * args.minutes * MEASURE_SHARE),
                again=args.measure == "on")  # fmt: skip
            experiment.configure()
        experiment.commit()
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        experiment.train()
    finally:
        experiment.record(started)
        experiment.pack()
    print(tables_markdown(args.work), flush=True)
    return 0


def tables(args: argparse.Namespace) -> int:
    """docs/results.md's tables from ``--state``, else ``--work``, else ``--results``."""
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work if (args.work / MARKER).is_file() else args.results
        if args.state.is_file():
            work = Path(tmp) / "work"
            unpack_state(args.state, work)
        text = tables_markdown(work)
    if args.out:
        write_text(args.out, text)
    print(text, end="")
    return 0


def prepare_carry(args: argparse.Namespace) -> int:
    """Copy what training reads of a prepared dataset to ``--data`` and say what a call with
    it and ``--state`` carried would take along (the device tool's limit: 64 MiB)."""
    from _seed_gpu_state import slim_dataset, travel_bytes

    try:
        data_bytes = slim_dataset(args.source, args.data)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    repo = Path(__file__).resolve().parents[1]
    carried = [p for p in (args.data, args.state.parent) if p.exists()]
    total = travel_bytes(repo, carried)
    print(
        f"{args.data}: {data_bytes / MIB:.1f} MiB; a call carrying "
        f"{' and '.join(map(str, carried))} takes {total / MIB:.1f} MiB along (limit 64 MiB)"
    )
    return 0 if total <= 64 * MIB else 1


def export(args: argparse.Namespace) -> int:
    """The finished pieces of ``--state`` (results, logs, no checkpoints or resume states) into
    ``--results``, to commit: a later call on any checkout starts from them."""
    with tempfile.TemporaryDirectory() as tmp:
        unpack_state(args.state, Path(tmp) / "work")
        size = export_results(Path(tmp) / "work", args.results)
    print(f"{args.state} → {args.results} ({size / MIB:.1f} MiB)")
    return 0


def unpack(args: argparse.Namespace) -> int:
    """Extract ``--state`` into ``--work`` here (to read its logs and plots)."""
    unpack_state(args.state, args.work)
    print(f"{args.state} → {args.work}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    out = os.environ.get("OUT")
    for name, function, help_ in (
        ("run", run, "one device call: train until --minutes are nearly spent, pack --out"),
        ("tables", tables, "docs/results.md's tables from --state, else --work, else --results"),
        ("prepare-carry", prepare_carry, "copy a prepared dataset's training files to --data"),
        ("unpack", unpack, "extract --state into --work"),
        ("export-results", export, "the finished pieces of --state into --results, to commit"),
    ):
        sub = commands.add_parser(name, help=help_)
        sub.set_defaults(function=function)
        sub.add_argument(
            "--data",
            type=Path,
            default=Path("prepared/seed-gpu"),
            help="prepared dataset, carried (default prepared/seed-gpu)",
        )
        sub.add_argument(
            "--state",
            type=Path,
            default=Path("runs/seed-gpu/state.tar.gz"),
            help="the last call's archive, carried (default "
            "runs/seed-gpu/state.tar.gz; absent: a new experiment)",
        )
        sub.add_argument(
            "--work",
            type=Path,
            default=Path("runs/seed-gpu-work"),
            help="experiment folder (default runs/seed-gpu-work; not carried)",
        )
        sub.add_argument(
            "--results",
            type=Path,
            default=Path("benchmarks/results/seed-gpu"),
            help="committed results (default benchmarks/results/seed-gpu): where export-results "
            "writes and where run starts from when --state is absent",
        )
    add = commands.choices["tables"].add_argument
    add("--out", type=Path, help="also write the Markdown here")
    add = commands.choices["prepare-carry"].add_argument
    add(
        "--from",
        dest="source",
        type=Path,
        default=Path("prepared/ferplus"),
        help="prepared dataset to copy from (default prepared/ferplus)",
    )
    add = commands.choices["run"].add_argument
    add(
        "--out",
        type=Path,
        default=Path(out) if out else None,
        help="where the archives go (default $OUT; none: no packing)",
    )
    add("--minutes", type=float, default=9.0, help="wall time of this call, packing included")
    add("--models", nargs="+", default=seed_grid_names(), help="grid (default the report's 12)")
    add("--epochs", type=int, default=SEED_PRESET["epochs"], help="epochs per trial (100)")
    add("--folds", type=int, default=10, help="CV folds (default 10)")
    add("--device", default="auto", help="auto (default), cuda, cuda:N or cpu")
    add("--parallel", default="auto", help="trials at once (auto: measured; else 4 on a GPU)")
    add("--threads", type=int, default=0, help="torch CPU threads per trial (0: cores/parallel)")
    for flag in ("--compile", "--cudnn-benchmark", "--channels-last"):
        add(
            flag,
            choices=("auto", "on", "off"),
            default="auto",
            help="auto: as measured (channels-last: as the experiment began)",
        )
    add("--bf16", choices=("auto", "on", "off"), default="auto", help="the TrainConfig's bf16")
    for flag in ("--measure", "--bench-device"):
        add(
            flag,
            choices=("auto", "on", "off"),
            default="auto",
            help="once per experiment; auto: on a GPU",
        )
    add("--measure-steps", type=int, default=30, help="timed steps per measured variant")
    add("--measure-levels", default="1,2,4,8", help="trials at once to measure")
    add("--measure-seconds", type=float, default=6.0, help="timed seconds per level")
    add("--warmup-steps", type=int, default=5, help="untimed steps before timing")
    add("--timed-steps", type=int, default=20, help="timed steps per model (projection)")
    add("--stop-after", type=int, default=0, help="pause each trial after N epochs (tests)")
    add("--state-budget-mb", type=int, default=16, help="state archive's size (MiB)")
    add("--checkpoint-budget-mb", type=int, default=16, help="checkpoints.tar's size (MiB)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.function(args)


if __name__ == "__main__":
    raise SystemExit(main())
