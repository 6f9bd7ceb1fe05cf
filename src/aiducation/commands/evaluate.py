"""``aiducation evaluate``: metrics of a checkpoint on a split of a prepared dataset."""

from __future__ import annotations

import argparse
from pathlib import Path

from aiducation.arguments import add_checkpoint_argument, add_device_argument, device_from_args
from aiducation.defaults import DATA_DIR, EVAL_BATCH_SIZE, RUNS_DIR
from aiducation.errors import InputError

HELP = "Evaluate a run or checkpoint on a prepared split: metrics.json, tables, confusion plot."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_checkpoint_argument(parser)
    add_device_argument(parser)
    parser.add_argument(
        "--data", type=Path, default=DATA_DIR, help=f"prepared dataset (default {DATA_DIR})"
    )
    parser.add_argument("--split", choices=("train", "val", "test"), default="test")
    parser.add_argument(
        "--out", type=Path, help=f"output directory (default {RUNS_DIR}/evaluate-<split>)"
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="write into an existing non-empty --out (replaces only evaluate's own files)",
    )
    parser.add_argument("--tta", action="store_true", help="average with the mirrored faces")
    parser.add_argument("--batch-size", type=int, default=EVAL_BATCH_SIZE)


def run(args: argparse.Namespace) -> int:
    from aiducation.data.dataset import load_prepared
    from aiducation.metrics import format_metrics
    from aiducation.models.checkpoint import load_checkpoint
    from aiducation.outdir import check_output_dir
    from aiducation.training.evaluation import evaluate_checkpoint, write_evaluation
    from aiducation.training.scheme import scheme_markdown

    out = args.out or RUNS_DIR / f"evaluate-{args.split}"
    check_output_dir(
        out, overwrite=args.overwrite, inputs=[args.data], checkpoints=[args.checkpoint]
    )
    try:
        checkpoint = load_checkpoint(args.checkpoint, device=device_from_args(args))
    except (FileNotFoundError, ValueError) as exc:
        raise InputError(f"--checkpoint: {exc}") from None
    try:
        dataset = load_prepared(args.data)
    except (FileNotFoundError, ValueError) as exc:
        raise InputError(f"--data: {exc}") from None
    if len(dataset.split_indices(args.split)) == 0:
        raise InputError(f"--split {args.split}: {args.data} has no images in that split")
    try:
        metrics, predictions = evaluate_checkpoint(
            checkpoint, dataset, split=args.split, tta_flip=args.tta, batch_size=args.batch_size
        )
    except ValueError as exc:
        raise InputError(str(exc)) from None
    metrics.update(split=args.split, checkpoint=str(checkpoint.path), tta_flip=args.tta)
    title = f"{checkpoint.config['arch']}: {args.split}"
    write_evaluation(
        out, metrics, predictions, title, overwrite=args.overwrite, inputs=(args.data,)
    )
    print(f"{checkpoint.path} on {args.data} [{args.split}]\n{format_metrics(metrics)}")
    if "out_of_scheme" in metrics:
        print(scheme_markdown(metrics["out_of_scheme"], checkpoint.classes[:-1]))
    print(f"wrote {out}/metrics.json, metrics.md, confusion.png, predictions.csv")
    return 0
