"""``aiducation train``: train a model on a prepared dataset, then evaluate it on the test split."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from aiducation.defaults import DATA_DIR, DEFAULT_THREADS, RUNS_DIR
from aiducation.errors import InputError
from aiducation.training.flags import add_train_arguments

HELP = "Train a model on a prepared dataset (run dir: config, log, checkpoints, plots, test)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--data", type=Path, default=DATA_DIR, help=f"prepared dataset (default {DATA_DIR})")
    add("--out", type=Path, help=f"run directory (default {RUNS_DIR}/<model>-seed<seed>)")
    add("--resume", type=Path, metavar="RUN_DIR", help="continue an interrupted run")
    add("--overwrite", action="store_true", help="start over in an existing run directory")
    add(
        "--reserve",
        nargs="+",
        metavar="CSV",
        help="attribute files (e.g. age.csv gender.csv) whose images, and every duplicate of "
        "them, are held out of training and validation for a bias study (recorded in split.csv)",
    )
    add("--id-column", default="image", help="image id column of the --reserve files")
    add_train_arguments(parser)


def train_config(args: argparse.Namespace):
    """The TrainConfig of the flags, with the measured thread default when none is set."""
    from aiducation.training.flags import config_from_args

    config = config_from_args(args, warm_start=True)
    if not config.threads:  # unset or 0 ("torch's choice": 2 on 2 cores)
        config = replace(config, threads=DEFAULT_THREADS)
    return config


def warm_start_checkpoint(config):
    """The checkpoint of ``--init`` (``None`` without one), loaded once and checked to fit
    before any output is written; the run's warm start and its reservation check use it."""
    from aiducation.models.checkpoint import warm_start_source

    if not config.init_from:
        return None
    try:
        return warm_start_source(config.model, config.model_kwargs, config.init_from)
    except (FileNotFoundError, ValueError) as exc:
        raise InputError(f"--init: {exc}") from None


def run(args: argparse.Namespace) -> int:
    from functools import partial

    from aiducation.data.dataset import load_prepared
    from aiducation.outdir import claim
    from aiducation.rundir import RunDir
    from aiducation.training.config import TrainConfig

    warm, check = None, None  # a resumed run is its own: nothing to check again
    if args.resume is not None:
        saved = RunDir(args.resume)
        described = saved.read_config()
        if described is None:
            raise InputError(
                f"--resume {args.resume}: no {saved.config.name}; is it a run directory?"
            )
        config = TrainConfig.from_dict(described["train"])
        data_dir, run_dir = Path(described.get("data", args.data)), args.resume
        reserve = described.get("reserve", {})
    else:
        config, data_dir = train_config(args), args.data
        warm = warm_start_checkpoint(config)
        reserve = {"files": args.reserve, "id_column": args.id_column} if args.reserve else {}
        run_dir = args.out or RUNS_DIR / f"{config.model}-seed{config.seed}"
        check = partial(
            check_new_run, run_dir, args.overwrite, [data_dir, *reserve.get("files", [])],
            [config.init_from],
        )  # fmt: skip
        check()
    try:
        dataset = load_prepared(data_dir)
    except (FileNotFoundError, ValueError) as exc:
        raise InputError(str(exc)) from None
    with claim(run_dir, check=check):  # one run at a time
        train_claimed(args, config, dataset, run_dir, reserve, warm)
    return 0


def check_new_run(run_dir: Path, overwrite: bool, inputs: list, checkpoints: list) -> None:
    """Refuse a folder holding another run (unless ``overwrite``) or a bad ``--out``."""
    from aiducation.outdir import check_output_dir
    from aiducation.rundir import RunDir

    if RunDir(run_dir).config.exists() and not overwrite:
        raise InputError(
            f"{run_dir} already holds a run: continue it with --resume {run_dir}, "
            "pass --overwrite to start over, or choose another --out"
        )
    check_output_dir(run_dir, overwrite=overwrite, inputs=inputs, checkpoints=checkpoints)


def train_claimed(
    args: argparse.Namespace, config, dataset, run_dir: Path, reserve: dict, warm
) -> None:
    """Train into ``run_dir``, which this process has claimed, holding out the images of
    ``reserve`` (see :func:`aiducation.fairness.holdout.reserved_run`); ``warm``: the loaded
    ``--init`` checkpoint of a new run (a resumed one checked it when it began, and its source
    may be gone)."""
    from aiducation.fairness.holdout import reserved_run
    from aiducation.training.run import train_run

    try:
        with reserved_run(dataset, reserve, run_dir, warm.path if warm else None) as subset:
            train_run(
                config, dataset, run_dir, resume=args.resume is not None, subset=subset,
                described={"reserve": reserve} if reserve else None, warm_source=warm,
            )  # fmt: skip
    except ValueError as exc:  # configuration that does not fit the data or the model
        raise InputError(str(exc)) from None
    except KeyboardInterrupt:
        print(f"\nstopped; continue with: aiducation train --resume {run_dir}", flush=True)
        raise
