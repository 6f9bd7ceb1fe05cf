"""``aiducation grid``: train a list of models (e.g. the report's 12) and write Table 2.2."""

from __future__ import annotations

import argparse
from pathlib import Path

from aiducation.errors import InputError
from aiducation.experiments.options import (
    add_backend_arguments,
    add_training_arguments,
    backend_from_args,
    build_base_config,
    check_data,
    check_models,
)

HELP = "Train a grid of models (--preset seed: the report's 12) → Table 2.2, comparison plots."

PRESETS = ("seed",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--preset", choices=PRESETS, help="seed: the report's 12 models and hyper-parameters"
    )
    parser.add_argument(
        "--models",
        nargs="+",
        metavar="NAME",
        help="models to train (default with --preset seed: the report's 12)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("runs/grid"),
        help="grid directory (default runs/grid); re-running resumes it",
    )
    parser.add_argument(
        "--budget-minutes",
        type=float,
        default=0.0,
        help="total wall time to share between the runs (sets --max-minutes)",
    )
    parser.add_argument(
        "--train-limit",
        type=int,
        default=0,
        metavar="N",
        help="train on a seeded random subset of N training images; validation and test stay "
        "whole (reduced budgets on small machines; 0 = all)",
    )
    add_training_arguments(parser)
    add_backend_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace
    from functools import partial

    from aiducation.experiments.grid import SEED_PRESET, GridSpec, run_grid
    from aiducation.models.seed_family import seed_grid_names
    from aiducation.outdir import check_output_dir, claim
    from aiducation.rundir import GRID_FILE

    check = partial(check_output_dir, args.out, inputs=[args.data], marker=GRID_FILE)
    check()
    if not args.preset and not args.models:
        raise InputError("give --preset seed or --models NAME [NAME ...]")
    models = check_models(args.models or seed_grid_names())
    check_data(args.data)
    backend = backend_from_args(args)
    config = build_base_config(args, models[0], SEED_PRESET if args.preset == "seed" else None)
    if args.budget_minutes > 0:
        rounds = -(-len(models) // max(1, backend.workers))
        config = replace(config, max_minutes=args.budget_minutes / rounds)
    spec = GridSpec(
        models, config, args.data, args.out, args.limit, backend, train_limit=args.train_limit
    )
    try:
        with claim(args.out, check=check):  # one run at a time
            table = run_grid(spec)
    except ValueError as exc:  # e.g. a resumed run whose saved config differs
        raise InputError(f"{exc} (re-run with the same options, or choose another --out)") from None
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"wrote {args.out}/table_2_2.csv, table_2_2.md and plots/")
    return 0
