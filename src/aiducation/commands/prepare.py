"""``aiducation prepare``: FER2013 + FER+ → the 4-class prepared dataset (SPEC §1)."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "Turn FER2013 + FER+ votes into a cleaned, labelled, split dataset (images + metadata)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_argument_group("input (either the CSV pair or the PNG folders)")
    source.add_argument(
        "--fer2013",
        type=Path,
        metavar="CSV",
        help="fer2013.csv ([emotion,]pixels,Usage), joined to --ferplus by row",
    )
    source.add_argument(
        "--ferplus-dir",
        type=Path,
        metavar="DIR",
        help="FER+ folders FER2013Train/Valid/Test with *.png and label.csv",
    )
    source.add_argument(
        "--ferplus",
        type=Path,
        metavar="CSV",
        help="FER+ vote file fer2013new.csv (default: DIR/fer2013new.csv)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="DIR",
        help="output directory (written atomically)",
    )
    parser.add_argument(
        "--rule-set", default="seed", help="labelling rule set: seed (default) or ferplus-majority"
    )
    parser.add_argument(
        "--split",
        choices=("official", "random"),
        default="official",
        help="official FER2013 split (default) or seeded, stratified, "
        "duplicate-grouped random split",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random split")
    parser.add_argument(
        "--fractions",
        type=float,
        nargs=3,
        default=(0.7, 0.15, 0.15),
        metavar=("TRAIN", "VAL", "TEST"),
        help="random split fractions",
    )
    parser.add_argument(
        "--export-png",
        type=Path,
        metavar="DIR",
        help="also write the labelled images as DIR/<class>/<name>.png",
    )
    parser.add_argument(
        "--no-report", action="store_true", help="skip the report (plots, tables, sample faces)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from aiducation.data.prepare import PrepareConfig, prepare

    config = PrepareConfig(
        out=args.out,
        ferplus=args.ferplus,
        ferplus_dir=args.ferplus_dir,
        fer2013=args.fer2013,
        rule_set=args.rule_set,
        split=args.split,
        seed=args.seed,
        fractions=tuple(args.fractions),
        export_png=args.export_png,
        report=not args.no_report,
        overwrite=args.overwrite,
        progress=not args.quiet,
    )
    summary = prepare(config)
    print(
        f"{summary['rows_total']:,} rows → {summary['rows_after_nf']:,} after NF → "
        f"{summary['rows_after_unknown']:,} after unknown → {summary['images']:,} labelled"
    )
    print("classes: " + ", ".join(f"{c} {n:,}" for c, n in summary["class_counts"].items()))
    print("splits: " + ", ".join(f"{s} {n:,}" for s, n in summary["split_sizes"].items()))
    unlabelled = summary["unlabelled_split_sizes"]
    print(
        "unlabelled (kept for auxiliary training, `train --aux-unlabelled`): "
        + ", ".join(f"{s} {n:,}" for s, n in unlabelled.items())
    )
    print(f"wrote {args.out}")
    return 0
