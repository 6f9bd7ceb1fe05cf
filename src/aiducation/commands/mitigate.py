"""``aiducation mitigate``: retrain with a bias-mitigation strategy and compare before/after on
the same held-out annotated images (Table 3.4, deltas with CIs, accuracy cost)."""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path

from aiducation.defaults import DATA_DIR, RUNS_DIR
from aiducation.training.flags import add_train_arguments, config_from_args

HELP = "Bias mitigation: train baseline + mitigated models, compare on the same held-out images."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add(
        "--attributes", required=True, nargs="+", metavar="CSV",
        help="attribute CSVs (image id + attribute columns), e.g. age.csv gender.csv",
    )  # fmt: skip
    add(
        "--attribute", nargs="+", default=["age"],
        help="attributes to balance and compare (default: age); several are balanced together "
        "(raked weights, joint group prior) and compared one by one",
    )  # fmt: skip
    add("--id-column", default="image", help="image id column of the attribute CSV")
    add("--data", type=Path, default=DATA_DIR, help=f"prepared dataset (default {DATA_DIR})")
    add("--out", type=Path, default=RUNS_DIR / "mitigate", help="experiment directory")
    add(
        "--strategy",
        nargs="+",
        default=["oversample"],
        help="strategies by name: oversample, reweight, group_prior (several allowed)",
    )
    add("--folds", type=int, default=2, help="annotated images split into K folds (default 2)")
    add("--run-folds", type=int, default=1, help="folds to hold out in turn (= --folds: OOF)")
    add("--seed", type=int, default=0, help="seed of the folds and the bootstrap")
    add("--bootstrap", type=int, default=1000, help="bootstrap resamples for the CIs")
    add("--permutations", type=int, default=2000, help="permutations for the gap tests")
    add("--min-group-size", type=int, default=30)
    # --seed: folds and bootstrap; no --init: its source may have trained on the held-out fold
    add_train_arguments(parser, skip=("init_from",), options={"seed": "--train-seed"})


def run(args: argparse.Namespace) -> int:
    from aiducation.data.dataset import load_prepared
    from aiducation.errors import InputError
    from aiducation.fairness.bias import BiasConfig
    from aiducation.fairness.experiment import MitigateConfig, run_mitigation
    from aiducation.fairness.inputs import read_attribute_files
    from aiducation.outdir import check_output_dir, claim
    from aiducation.rundir import MITIGATE_FILE
    from aiducation.tables import markdown_table

    check = partial(
        check_output_dir, args.out, inputs=[args.data, *args.attributes], marker=MITIGATE_FILE
    )
    check()
    train = config_from_args(args).to_dict()
    try:
        config = MitigateConfig(
            attributes=tuple(args.attribute),
            strategies=tuple(args.strategy),
            folds=args.folds,
            run_folds=args.run_folds,
            seed=args.seed,
            train=train,
            bias=BiasConfig(
                n_bootstrap=args.bootstrap,
                n_permutations=args.permutations,
                min_group_size=args.min_group_size,
                intersections=False,
                seed=args.seed,
            ),
        )
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    try:
        dataset = load_prepared(args.data)
    except (FileNotFoundError, ValueError) as exc:
        raise InputError(str(exc)) from exc
    attributes = read_attribute_files(args.attributes, args.id_column, args.attribute)
    with claim(args.out, check=check):  # one run at a time
        comparison, cost = run_mitigation(config, dataset, attributes, args.out)
    print(markdown_table(comparison.table))
    accuracy = cost[cost["metric"] == "accuracy"] if len(cost) else cost
    for _, row in accuracy.iterrows():
        print(
            f"{row['model']} on {row['images']}: accuracy {row['before']:.4f} -> "
            f"{row['after']:.4f} ({row['delta']:+.4f} [{row['delta_ci_low']:+.4f}, "
            f"{row['delta_ci_high']:+.4f}])"
        )
    print(f"wrote {args.out / 'report'}")
    return 0
