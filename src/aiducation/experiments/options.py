"""Command-line options shared by ``aiducation grid`` and ``aiducation kfold``.

Training flags are those of ``aiducation train`` (same names, same meaning) and are turned into
a :class:`TrainConfig` by the train command's own ``build_config``; a preset fills the fields
that neither ``--config`` nor a flag set. No heavy imports here: ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from aiducation.errors import InputError

DEFAULT_DATA = Path("prepared/ferplus")


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add(
        "--data", type=Path, default=DEFAULT_DATA, help=f"prepared dataset (default {DEFAULT_DATA})"
    )
    add(
        "--limit",
        type=int,
        default=0,
        metavar="N",
        help="use a random subset of N images (smoke runs on small machines; 0 = all)",
    )
    add("--config", type=Path, help="TrainConfig JSON (flags below override it)")
    add(
        "--model-arg",
        action="append",
        default=[],
        metavar="KEY=JSON",
        help="model constructor argument for every model, e.g. hidden=256",
    )
    add("--epochs", type=int, help="epochs per run (overrides the preset)")
    add("--max-minutes", type=float, help="stop each run after the epoch passing this wall time")
    add("--batch-size", type=int)
    add("--optimizer", choices=("adamw", "adam", "sgd"))
    add("--lr", type=float, help="(peak) learning rate")
    add("--weight-decay", type=float)
    add("--schedule", choices=("onecycle", "cosine", "constant"))
    add("--label-smoothing", type=float)
    add("--targets", choices=("hard", "soft"))
    add("--patience", type=int, help="early stopping after N epochs without improvement")
    add("--seed", type=int)
    add("--bf16", choices=("auto", "on", "off"))
    add("--no-augment", action="store_true", help="train without augmentation")
    add("--erase", type=float, metavar="P", help="random-erasing probability per image")
    add("--tta", action="store_true", help="test-time flip averaging")
    add("--no-progress", action="store_true", help="no per-epoch progress bars")


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
    add("--gpus", type=float, default=0.0, help="GPUs per Ray task")


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
    """The TrainConfig for ``model``: preset ← ``--config`` ← flags (later ones win)."""
    from dataclasses import replace

    from aiducation.commands.train import FLAG_FIELDS, build_config

    values = vars(args)
    unset = dict.fromkeys([*FLAG_FIELDS, "resume", "out", "overwrite"])  # train-only flags
    unset["aux_unlabelled"] = unset["other_class"] = False  # (set through --config here)
    merged = argparse.Namespace(**{**unset, **values, "model": model, "threads": None})
    config = build_config(merged)
    from_file = set()
    if args.config is not None:
        data = json.loads(Path(args.config).read_text())
        from_file = set(data.get("train", data))
    flagged = {field for flag, field in FLAG_FIELDS.items() if values.get(flag) is not None}
    keep = from_file | flagged
    overrides = {k: v for k, v in (preset or {}).items() if k not in keep}
    return replace(config, **overrides)


def check_models(models: list[str]) -> list[str]:
    from aiducation.models import is_model, list_family_examples, list_models

    unknown = [m for m in models if not is_model(m)]
    if unknown:
        known = ", ".join(list_models() + list_family_examples())
        raise InputError(f"unknown model(s) {', '.join(unknown)}; known: {known}")
    if len(set(models)) != len(models):
        raise InputError(f"model list has repeats: {' '.join(models)}")
    return models


def check_data(data: Path) -> None:
    from aiducation.data.dataset import load_prepared

    try:
        load_prepared(data, mmap=True)
    except (FileNotFoundError, ValueError) as exc:
        raise InputError(str(exc)) from None
