"""``aiducation train``: train a model on a prepared dataset, then evaluate it on the test split."""

from __future__ import annotations

import argparse
import json
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
    from aiducation.models.checkpoint import warm_start_source
    from aiducation.training.flags import config_from_args

    config = config_from_args(args, warm_start=True)
    if config.init_from:  # checked before any output is written
        try:
            warm_start_source(config.model, config.model_kwargs, config.init_from)
        except (FileNotFoundError, ValueError) as exc:
            raise InputError(f"--init: {exc}") from None
    if not config.threads:  # unset or 0 ("torch's choice": 2 on 2 cores)
        config = replace(config, threads=DEFAULT_THREADS)
    return config


def run(args: argparse.Namespace) -> int:
    from aiducation.data.dataset import load_prepared
    from aiducation.outdir import claim
    from aiducation.training.config import TrainConfig
    from aiducation.training.learner import CONFIG_FILE

    if args.resume is not None:
        saved = args.resume / CONFIG_FILE
        if not saved.is_file():
            raise InputError(f"--resume {args.resume}: no {CONFIG_FILE}; is it a run directory?")
        described = json.loads(saved.read_text())
        config = TrainConfig.from_dict(described["train"])
        data_dir, run_dir = Path(described.get("data", args.data)), args.resume
        reserve = described.get("reserve", {})
    else:
        config, data_dir = train_config(args), args.data
        reserve = {"files": args.reserve, "id_column": args.id_column} if args.reserve else {}
        run_dir = args.out or RUNS_DIR / f"{config.model}-seed{config.seed}"
        check_new_run(
            run_dir, args.overwrite, [data_dir, *reserve.get("files", [])], [config.init_from]
        )
    try:
        dataset = load_prepared(data_dir)
    except (FileNotFoundError, ValueError) as exc:
        raise InputError(str(exc)) from None
    with claim(run_dir):  # one run at a time; a new run is checked again under the claim
        if args.resume is None:
            check_new_run(
                run_dir, args.overwrite, [data_dir, *reserve.get("files", [])], [config.init_from]
            )
        train_claimed(args, config, dataset, run_dir, reserve)
    return 0


def check_new_run(run_dir: Path, overwrite: bool, inputs: list, checkpoints: list) -> None:
    """Refuse a folder holding another run (unless ``overwrite``) or a bad ``--out``."""
    from aiducation.outdir import check_output_dir
    from aiducation.training.learner import CONFIG_FILE

    if (run_dir / CONFIG_FILE).exists() and not overwrite:
        raise InputError(
            f"{run_dir} already holds a run: continue it with --resume {run_dir}, "
            "pass --overwrite to start over, or choose another --out"
        )
    check_output_dir(run_dir, overwrite=overwrite, inputs=inputs, checkpoints=checkpoints)


def train_claimed(args: argparse.Namespace, config, dataset, run_dir: Path, reserve: dict) -> None:
    """Train into ``run_dir``, which this process has claimed."""
    from aiducation.training.learner import CONFIG_FILE
    from aiducation.training.run import train_run

    made_run_dir = not run_dir.exists()
    # a resumed run checked its warm start's reservation when it began (its source may be gone)
    init_from = config.init_from if args.resume is None else ""
    subset = reserved_subset(dataset, reserve, run_dir, init_from) if reserve else None
    try:
        train_run(
            config, dataset, run_dir, resume=args.resume is not None, subset=subset,
            described={"reserve": reserve} if reserve else None,
        )  # fmt: skip
    except ValueError as exc:  # configuration that does not fit the data or the model
        if reserve and not (run_dir / CONFIG_FILE).exists():  # refused before the run began
            discard_split_table(run_dir, made_run_dir)
        raise InputError(str(exc)) from None
    except KeyboardInterrupt:
        print(f"\nstopped; continue with: aiducation train --resume {run_dir}", flush=True)
        raise


def reserved_subset(dataset, reserve: dict, run_dir: Path, init_from: str = ""):
    """``(train_idx, val_idx, exclude_groups)`` without the images of ``reserve["files"]``;
    writes the roles of every image to ``run_dir/split.csv`` (read by ``aiducation bias``).
    A warm start (``init_from``) must come from a run that reserved at least those images."""
    from aiducation.atomic import write_text
    from aiducation.csvfiles import to_csv
    from aiducation.fairness.holdout import SPLIT_FILE, reserve_images

    keys = reserved_keys(reserve)
    if init_from:
        check_warm_start(init_from, keys)
    reservation = reserve_images(dataset, keys)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_text(run_dir / SPLIT_FILE, to_csv(reservation.split_table(dataset)))
    print(
        f"reserved {len(reservation.reserved)} annotated images "
        f"(+{reservation.n_unlabelled} unlabelled, {len(reservation.excluded)} duplicates): "
        f"train {len(reservation.train_idx)}, val {len(reservation.val_idx)}",
        flush=True,
    )
    return reservation.train_idx, reservation.val_idx, reservation.exclude_groups


def discard_split_table(run_dir: Path, made_run_dir: bool) -> None:
    """Remove the split.csv that :func:`reserved_subset` wrote for a run whose config was then
    refused, and ``run_dir`` too if this command made it and nothing else is in it."""
    from aiducation.fairness.holdout import SPLIT_FILE

    (run_dir / SPLIT_FILE).unlink(missing_ok=True)
    if made_run_dir and run_dir.is_dir() and not any(run_dir.iterdir()):
        run_dir.rmdir()


def reserved_keys(reserve: dict) -> set[str]:
    """Image keys of the attribute files of a ``reserve`` entry (``files``, ``id_column``)."""
    from aiducation.fairness.inputs import read_attributes

    keys: set[str] = set()
    for path in reserve["files"]:
        keys |= set(read_attributes(path, reserve["id_column"]).index)
    return keys


def check_warm_start(init_from: str, keys: set[str]) -> None:
    """Refuse a warm start whose run may have trained on an image of ``keys``: it must have
    been trained with ``--reserve`` files that name every one of them."""
    from aiducation.fairness.holdout import run_dir_of
    from aiducation.models.checkpoint import resolve_checkpoint_dir
    from aiducation.training.learner import CONFIG_FILE

    run = run_dir_of(resolve_checkpoint_dir(init_from))
    config_file = run / CONFIG_FILE
    reserve = json.loads(config_file.read_text()).get("reserve") if config_file.is_file() else None
    if not reserve:
        raise InputError(
            f"--init {init_from} with --reserve: {run} was not trained with --reserve, so it "
            "may have trained on the images this run holds out"
        )
    missing = sorted(keys - reserved_keys(reserve))
    if missing:
        raise InputError(
            f"--init {init_from}: its run did not reserve {len(missing)} of the images reserved "
            f"here (e.g. {missing[0]}), so it may have trained on them"
        )
