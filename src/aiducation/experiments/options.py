"""Command-line options shared by ``aiducation grid`` and ``aiducation kfold``.

Training flags are those of ``aiducation train`` (same names, same meaning, from
:mod:`aiducation.training.flags`); a preset fills the fields that neither ``--config`` nor a
flag set. No heavy imports here: ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from aiducation.defaults import DATA_DIR
from aiducation.errors import InputError
from aiducation.training.flags import add_train_arguments, config_from_args


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    """``--data``, ``--limit`` and the training flags of ``aiducation train`` but ``--model``
    (chosen per command) and ``--threads`` (a backend option here)."""
    add = parser.add_argument
    add("--data", type=Path, default=DATA_DIR, help=f"prepared dataset (default {DATA_DIR})")
    add(
        "--limit",
        type=int,
        default=0,
        metavar="N",
        help="use a random subset of N images (smoke runs on small machines; 0 = all)",
    )
    add_train_arguments(parser, skip=("model", "threads", "init_from"))


def add_backend_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add(
        "--backend",
        choices=("local", "ray"),
        default="local",
        help="local processes (default) or Ray tasks on a cluster",
    )
    add(
        "--workers",
        type=int,
        default=0,
        help="runs at once (local default 1; Ray default: as many as the cluster fits)",
    )
    add(
        "--threads",
        type=int,
        default=0,
        help="torch threads (Ray: CPUs) per run (default: cores // workers locally, 1 on Ray)",
    )
    add("--address", help="Ray cluster address, e.g. auto or ray://head:10001 (default: local)")
    add(
        "--gpus",
        type=float,
        default=0.0,
        help="GPUs reserved per Ray task (e.g. 0.5: two trials per GPU); the trial runs on its "
        "GPU with --device auto or cuda",
    )


def backend_from_args(args: argparse.Namespace):
    from aiducation.experiments.backends import BackendConfig

    try:
        return BackendConfig(
            name=args.backend,
            workers=args.workers,
            threads=args.threads,
            address=args.address,
            gpus=args.gpus,
        )
    except ValueError as exc:
        raise InputError(f"invalid backend options: {exc}") from None


def build_base_config(args: argparse.Namespace, model: str, preset: dict | None = None):
    """The TrainConfig for ``model``: preset ← ``--config`` ← flags (later ones win); its device
    checked here for local runs, against ``--gpus`` for Ray (whose workers may have GPUs this
    machine lacks)."""
    from aiducation.experiments.backends import trial_devices

    config = config_from_args(args, model=model, preset=preset, here=args.backend == "local")
    try:
        trial_devices(backend_from_args(args), config.device, 1)
    except ValueError as exc:
        raise InputError(f"--device: {exc}") from None
    return config


def check_models(models: list[str]) -> list[str]:
    from aiducation.models import describe_families, is_model

    unknown = [m for m in models if not is_model(m)]
    if unknown:
        raise InputError(f"unknown model(s) {', '.join(unknown)}; known: {describe_families()}")
    if len(set(models)) != len(models):
        raise InputError(f"model list has repeats: {' '.join(models)}")
    return models


def check_data(data: Path) -> None:
    from aiducation.data.dataset import load_prepared

    try:
        load_prepared(data, mmap=True)
    except (FileNotFoundError, ValueError) as exc:
        raise InputError(str(exc)) from None
