"""``aiducation kfold``: k-fold cross-validation of one model → Table 3.2, out-of-fold CSV."""

from __future__ import annotations

import argparse
import json
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

HELP = "K-fold cross-validation (stratified, duplicate-aware) → Table 3.2, out-of-fold predictions."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    model = parser.add_mutually_exclusive_group(required=True)
    model.add_argument("--model", help="registry name, e.g. B16_N8_FC2_K5_AP20")
    model.add_argument(
        "--from-grid",
        type=Path,
        metavar="GRID_DIR",
        help="the best model of a finished grid, with the grid's training options",
    )
    add("--preset", choices=("seed",), help="seed: the report's hyper-parameters")
    add("--folds", type=int, default=10, help="number of folds (default 10)")
    add("--fold-seed", type=int, default=0, help="seed of the fold assignment and inner splits")
    add(
        "--val-fraction",
        type=float,
        default=0.1,
        help="inner validation share of each fold's training images (default 0.1)",
    )
    add(
        "--splits",
        default="train,val,test",
        help="prepared splits pooled into the folds (default train,val,test)",
    )
    add(
        "--out",
        type=Path,
        default=Path("runs/kfold"),
        help="k-fold directory (default runs/kfold); re-running resumes it",
    )
    add_training_arguments(parser)
    add_backend_arguments(parser)


def best_of_grid(grid_dir: Path) -> tuple[str, dict]:
    """The grid's best model (chosen on validation) and the grid's training options."""
    from aiducation.rundir import BEST_MODEL_FILE, GRID_FILE

    path = grid_dir / BEST_MODEL_FILE
    if not path.is_file():
        raise InputError(f"--from-grid {grid_dir}: no {BEST_MODEL_FILE}; has the grid finished?")
    config = json.loads((grid_dir / GRID_FILE).read_text())["config"]
    return json.loads(path.read_text())["model"], config


def base_config(args: argparse.Namespace):
    """TrainConfig: the grid's options (``--from-grid``) or a preset ← ``--config`` ← flags."""
    from aiducation.experiments.grid import SEED_PRESET

    preset = SEED_PRESET if args.preset == "seed" else None
    model = args.model
    if args.from_grid:
        model, grid_config = best_of_grid(args.from_grid)
        skip = {"model", "threads", "progress", *(["model_kwargs"] if args.model_arg else [])}
        preset = {**{k: v for k, v in grid_config.items() if k not in skip}, **(preset or {})}
    check_models([model])
    return build_base_config(args, model, preset)


def run(args: argparse.Namespace) -> int:
    from functools import partial

    from aiducation.data.dataset import SPLITS
    from aiducation.experiments.kfold import KFoldSpec, run_kfold
    from aiducation.outdir import check_output_dir, claim
    from aiducation.rundir import KFOLD_FILE

    check = partial(
        check_output_dir, args.out, inputs=[args.data, args.from_grid], marker=KFOLD_FILE
    )
    check()
    check_data(args.data)
    splits = tuple(s.strip() for s in args.splits.split(",") if s.strip())
    if not splits or set(splits) - set(SPLITS):
        raise InputError(f"--splits {args.splits!r}: expected a comma list of {', '.join(SPLITS)}")
    if not 0 < args.val_fraction < 1:
        raise InputError(f"--val-fraction {args.val_fraction}: expected a number in (0, 1)")
    if args.folds < 2:
        raise InputError(f"--folds {args.folds}: expected at least 2")
    config = base_config(args)
    spec = KFoldSpec(
        config=config,
        data=args.data,
        out=args.out,
        folds=args.folds,
        seed=args.fold_seed,
        val_fraction=args.val_fraction,
        splits=splits,
        limit=args.limit,
        backend=backend_from_args(args),
    )
    try:
        with claim(args.out, check=check):  # one run at a time
            table = run_kfold(spec)
    except ValueError as exc:
        raise InputError(f"{exc} (re-run with the same options, or choose another --out)") from None
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"wrote {args.out}/table_3_2.csv, table_3_2.md, oof_predictions.csv and plots/")
    return 0
