"""``aiducation bias``: per-group metrics, gaps, intervals and tests for annotated images."""

from __future__ import annotations

import argparse

from aiducation.arguments import add_checkpoint_argument, add_device_argument, device_from_args
from aiducation.defaults import RUNS_DIR

HELP = "Bias analysis: metrics per attribute group (e.g. age), gaps, 95% CIs, permutation tests."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--attributes", required=True, nargs="+", metavar="CSV",
        help="attribute CSVs (image id + columns), e.g. age.csv gender.csv; joined on the image",
    )  # fmt: skip
    parser.add_argument("--id-column", default="image", help="image id column (default: image)")
    parser.add_argument(
        "--columns", nargs="+", help="attributes to analyse (default: all but id/split columns)"
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--predictions", help="predictions CSV: image_name, y_true/label, y_pred/predicted"
    )
    add_checkpoint_argument(source, old_spelling=False, default_help="needs --data")
    parser.add_argument("--data", help="prepared dataset directory (with --checkpoint)")
    add_device_argument(parser)  # with --checkpoint: where it predicts
    parser.add_argument(
        "--tta", action="store_true", help="with --checkpoint: average with the mirrored faces"
    )
    parser.add_argument(
        "--trained-on", metavar="SPLITS",
        help="comma-separated splits the checkpoint USED: fitted on, or chose its checkpoint or "
        "Other threshold on (e.g. train,val); only asked when neither its run (split.csv, "
        "config.json) nor its model.json says so. Used images are never counted as held out",
    )  # fmt: skip
    parser.add_argument(
        "--assume-held-out",
        action="store_true",
        help="predictions are known to be on images the model never trained on",
    )
    parser.add_argument(
        "--held-out-only",
        action="store_true",
        help="drop images the model trained on (known from split.csv/--trained-on) and report "
        "on the rest",
    )
    parser.add_argument(
        "--force", action="store_true", help="report even on images the model trained on"
    )
    parser.add_argument(
        "--out", default=str(RUNS_DIR / "bias"), help="output directory (default %(default)s)"
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="write into an existing non-empty --out (replaces only bias's own files)",
    )
    parser.add_argument("--title", default="Bias analysis", help="title of report.md")
    parser.add_argument("--min-group-size", type=int, default=30)
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples")
    parser.add_argument("--permutations", type=int, default=2000, help="permutation shuffles")
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-intersections", action="store_true")


def run(args: argparse.Namespace) -> int:
    from aiducation.errors import InputError
    from aiducation.fairness.bias import BiasConfig, analyze_bias, table_3_3
    from aiducation.fairness.inputs import read_attribute_files
    from aiducation.fairness.report import write_bias_report
    from aiducation.fairness.sources import (
        annotated_predictions,
        from_checkpoint,
        from_predictions_csv,
    )
    from aiducation.outdir import check_output_dir
    from aiducation.tables import markdown_table

    sources = [*args.attributes, args.predictions, args.data]
    check_output_dir(
        args.out, overwrite=args.overwrite, inputs=sources, checkpoints=[args.checkpoint]
    )
    device = device_from_args(args) if args.checkpoint else None  # predicts only from one

    attributes = read_attribute_files(args.attributes, args.id_column, args.columns)
    if args.checkpoint:
        if not args.data:
            raise InputError("--checkpoint needs --data (the prepared dataset directory)")
        from aiducation.data.dataset import load_prepared

        dataset = load_prepared(args.data)
        classes = dataset.classes
        declared = args.trained_on.split(",") if args.trained_on else None
        frame, how = from_checkpoint(
            args.checkpoint, dataset, attributes, declared, tta_flip=args.tta,
            device=device,
        )  # fmt: skip
    else:
        from aiducation.data.labels import LEARNING_STATES

        classes = list(LEARNING_STATES)
        frame, how = from_predictions_csv(args.predictions, classes)
    frame, joined, held_out = annotated_predictions(
        frame, how, attributes, ", ".join(args.attributes), held_out_only=args.held_out_only,
        force=args.force, assume_held_out=args.assume_held_out,
    )  # fmt: skip
    config = BiasConfig(
        min_group_size=args.min_group_size,
        n_bootstrap=args.bootstrap,
        n_permutations=args.permutations,
        alpha=args.alpha,
        intersections=not args.no_intersections,
        seed=args.seed,
    )
    called_other = frame["called_other"].to_numpy(bool) if "called_other" in frame else None
    report = analyze_bias(frame["y_true"], frame["y_pred"], joined, classes, config, called_other)
    report.notes.insert(0, held_out)
    inputs = {
        "attributes": args.attributes,
        "predictions": args.predictions,
        "checkpoint": args.checkpoint,
        "data": args.data,
        "n_images": len(frame),
        "held_out": held_out,
    }
    out = write_bias_report(args.out, report, inputs, args.title, overwrite=args.overwrite)
    print(markdown_table(table_3_3(report.groups)))
    print(held_out)
    for _, row in report.gaps[report.gaps["metric"] == "accuracy"].iterrows():
        verdict = "SIGNIFICANT" if row["significant"] else "not significant"
        print(
            f"{row['attribute']}: accuracy gap {row['gap']:.4f} "
            f"[{row['gap_ci_low']:.4f}, {row['gap_ci_high']:.4f}], p={row['p_value']:.4f} "
            f"(Holm {row['p_holm']:.4f}) {verdict}"
        )
    print(f"wrote {out}")
    return 0
