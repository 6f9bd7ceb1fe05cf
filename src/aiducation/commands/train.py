"""``aiducation train``: train a model on a prepared dataset, then evaluate it on the test split."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from aiducation.errors import InputError

HELP = "Train a model on a prepared dataset (run dir: config, log, checkpoints, plots, test)."

DEFAULT_DATA = Path("prepared/ferplus")

# CLI flag → TrainConfig field (flags left unset keep the config file's or the default value).
FLAG_FIELDS = {
    "model": "model",
    "epochs": "epochs",
    "batch_size": "batch_size",
    "optimizer": "optimizer",
    "lr": "lr",
    "weight_decay": "weight_decay",
    "schedule": "schedule",
    "label_smoothing": "label_smoothing",
    "targets": "targets",
    "hard_mix": "hard_mix",
    "aux_weight": "aux_weight",
    "ema_decay": "ema_decay",
    "teacher": "teachers",
    "distill_weight": "distill_weight",
    "patience": "patience",
    "max_minutes": "max_minutes",
    "seed": "seed",
    "threads": "threads",
    "bf16": "bf16",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--model", help="registry name, e.g. faceresnet_s (default) or B16_N8_FC2_K5_AP20")
    add(
        "--data", type=Path, default=DEFAULT_DATA, help=f"prepared dataset (default {DEFAULT_DATA})"
    )
    add("--out", type=Path, help="run directory (default runs/<model>-seed<seed>)")
    add("--resume", type=Path, metavar="RUN_DIR", help="continue an interrupted run")
    add("--config", type=Path, help="TrainConfig JSON (flags below override it)")
    add("--model-arg", action="append", default=[], metavar="KEY=JSON",
        help="model constructor argument, e.g. width=24 or hidden='\"seed\"'")  # fmt: skip
    add("--epochs", type=int)
    add("--batch-size", type=int)
    add("--optimizer", choices=("adamw", "adam", "sgd"))
    add("--lr", type=float, help="peak learning rate")
    add("--weight-decay", type=float)
    add("--schedule", choices=("onecycle", "cosine", "constant"))
    add("--label-smoothing", type=float)
    add("--targets", choices=("hard", "soft"), help="rule labels or vote re-sampling soft labels")
    add(
        "--hard-mix",
        type=float,
        metavar="A",
        help="with soft targets: mix in the rule label with weight A (0 = pure soft, 1 = hard)",
    )
    add(
        "--aux-weight",
        type=float,
        metavar="W",
        help="weight of an auxiliary head that learns each face's FER+ vote shares (0 = off)",
    )
    add(
        "--aux-unlabelled",
        action="store_true",
        help="also train the auxiliary head on the unlabelled training images",
    )
    add(
        "--other-class",
        action="store_true",
        help='a fifth class "Other" learnt from the unlabelled images (needs --aux-unlabelled)',
    )
    add(
        "--teacher",
        action="extend",
        nargs="+",
        metavar="CHECKPOINT",
        help="distil from these checkpoints (or run dirs): their mean probabilities on the "
        "training images join the targets (needs --distill-weight)",
    )
    add(
        "--distill-weight",
        type=float,
        metavar="A",
        help="weight of the teachers' probabilities in the targets (0-1)",
    )
    add(
        "--ema-decay",
        type=float,
        metavar="D",
        help="keep an exponential moving average of the weights (per step, e.g. 0.999); "
        "validation, checkpoints and test use it (0 = off)",
    )
    add("--patience", type=int, help="early stopping after N epochs without improvement")
    add("--max-minutes", type=float, help="stop after the epoch that passes this wall time")
    add("--seed", type=int)
    add("--threads", type=int, help="torch threads (default: torch's choice)")
    add("--bf16", choices=("auto", "on", "off"), help="bfloat16 autocast (auto: native CPUs)")
    add("--no-augment", action="store_true", help="train without augmentation")
    add("--erase", type=float, metavar="P", help="random-erasing probability per image")
    add("--tta", action="store_true", help="test-time flip averaging for val/test metrics")
    add("--no-progress", action="store_true", help="no progress bar")
    add("--overwrite", action="store_true", help="start over in an existing run directory")


def build_config(args: argparse.Namespace):
    """TrainConfig from defaults ← ``--config`` file ← explicit flags."""
    from aiducation.models import is_model
    from aiducation.training.config import TrainConfig

    data = {}
    if args.config is not None:
        try:
            data = json.loads(Path(args.config).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(
                f"--config {args.config}: cannot read a JSON TrainConfig ({exc})"
            ) from None
        data = data.get("train", data)  # accept a run's config.json too
    data.update(
        {f: getattr(args, a) for a, f in FLAG_FIELDS.items() if getattr(args, a) is not None}
    )
    kwargs = dict(data.get("model_kwargs", {}))
    for item in args.model_arg:
        key, sep, value = item.partition("=")
        try:
            kwargs[key] = json.loads(value)
        except json.JSONDecodeError:
            if not sep:
                raise InputError(f"--model-arg {item!r}: expected KEY=JSON") from None
            kwargs[key] = value
    data["model_kwargs"] = kwargs
    augment = dict(data.get("augment", {}))
    if args.no_augment:
        augment.update(flip=False, max_shift=0.0, max_rotate=0.0, max_scale=0.0, erase_prob=0.0)
    if args.erase is not None:
        augment["erase_prob"] = args.erase
    data["augment"] = augment
    if args.tta:
        data["tta_flip"] = True
    if args.aux_unlabelled:
        data["aux_unlabelled"] = True
    if args.other_class:
        data["other_class"] = True
    if args.no_progress:
        data["progress"] = False
    try:
        config = TrainConfig.from_dict(data)
    except (TypeError, ValueError) as exc:
        raise InputError(f"invalid training configuration: {exc}") from None
    if not is_model(config.model):
        from aiducation.models import list_family_examples, list_models

        known = ", ".join(list_models() + list_family_examples())
        raise InputError(f"--model {config.model!r}: unknown model; known: {known}")
    return config


def run(args: argparse.Namespace) -> int:
    from aiducation.data.dataset import load_prepared
    from aiducation.outdir import check_output_dir
    from aiducation.training.config import TrainConfig
    from aiducation.training.learner import CONFIG_FILE
    from aiducation.training.run import train_run

    if args.resume is not None:
        saved = args.resume / CONFIG_FILE
        if not saved.is_file():
            raise InputError(f"--resume {args.resume}: no {CONFIG_FILE}; is it a run directory?")
        described = json.loads(saved.read_text())
        config = TrainConfig.from_dict(described["train"])
        data_dir, run_dir = Path(described.get("data", args.data)), args.resume
    else:
        config, data_dir = build_config(args), args.data
        run_dir = args.out or Path("runs") / f"{config.model}-seed{config.seed}"
        if (run_dir / CONFIG_FILE).exists() and not args.overwrite:
            raise InputError(
                f"{run_dir} already holds a run: continue it with --resume {run_dir}, "
                "pass --overwrite to start over, or choose another --out"
            )
        check_output_dir(run_dir, overwrite=args.overwrite, inputs=[data_dir])
    try:
        dataset = load_prepared(data_dir)
    except (FileNotFoundError, ValueError) as exc:
        raise InputError(str(exc)) from None
    try:
        train_run(config, dataset, run_dir, resume=args.resume is not None)
    except ValueError as exc:  # configuration that does not fit the data or the model
        raise InputError(str(exc)) from None
    except KeyboardInterrupt:
        print(f"\nstopped; continue with: aiducation train --resume {run_dir}", flush=True)
        raise
    return 0
