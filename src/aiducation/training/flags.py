"""The training flags of ``train``, ``grid``, ``kfold`` and ``mitigate``, written once.

Every flag sets one :class:`~aiducation.training.config.TrainConfig` field (``augment.X``: a
field of its augmentation); :func:`add_train_arguments` adds them to a parser and
:func:`config_from_args` turns the parsed values into a config: defaults ← preset ←
``--config`` file ← flags (a later layer wins; ``model_kwargs`` and ``augment`` merge key by
key). The flags of retired options (:data:`~aiducation.training.choices.RETIRED`) stay hidden
and refuse with one line. No heavy imports here, so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aiducation.errors import InputError
from aiducation.training.choices import (
    BF16_MODES,
    OPTIMIZERS,
    RETIRED,
    SCHEDULES,
    TARGETS,
    retired_note,
)

NO_AUGMENT = {"flip": False, "max_shift": 0.0, "max_rotate": 0.0, "max_scale": 0.0,
              "erase_prob": 0.0}  # fmt: skip


@dataclass(frozen=True)
class Flag:
    """One command-line flag and the TrainConfig field it sets."""

    field: str  # TrainConfig field; "augment.erase_prob": a field of its AugmentConfig
    type: Callable | None = None  # None: a switch that sets ``value``
    help: str | None = None
    choices: tuple[str, ...] | None = None
    metavar: str | None = None
    name: str = ""  # flag spelling when it is not the field's (``--tta``)
    value: object = True  # what a switch sets

    @property
    def key(self) -> str:
        return (self.name or self.field).replace("-", "_")

    @property
    def dest(self) -> str:
        return f"train_{self.key}"


TRAIN_FLAGS = (
    Flag("model", str, "registry name, e.g. faceresnet_s (default) or B16_N8_FC2_K5_AP20"),
    Flag(
        "init_from",
        str,
        "warm start from this checkpoint (or run dir) of the same architecture, e.g. one "
        "trained on FER+ 8-class majority labels; a head for other classes starts afresh",
        metavar="CHECKPOINT",
        name="init",
    ),
    Flag("epochs", int, "passes over the training images"),
    Flag("batch_size", int),
    Flag("optimizer", str, choices=OPTIMIZERS),
    Flag("lr", float, "peak learning rate"),
    Flag("weight_decay", float),
    Flag("schedule", str, choices=SCHEDULES),
    Flag("label_smoothing", float),
    Flag("targets", str, "rule labels or vote re-sampling soft labels", choices=TARGETS),
    Flag(
        "hard_mix",
        float,
        "with soft targets: mix in the rule label with weight A (0 = pure soft, 1 = hard)",
        metavar="A",
    ),
    Flag(
        "aux_weight",
        float,
        "weight of an auxiliary head that learns each face's FER+ vote shares (0 = off)",
        metavar="W",
    ),
    Flag("aux_unlabelled", help="also train the auxiliary head on the unlabelled training images"),
    Flag(
        "other_class",
        help='a fifth class "Other" learnt from the unlabelled images (needs --aux-unlabelled)',
    ),
    Flag("patience", int, "early stopping after N epochs without improvement"),
    Flag("max_minutes", float, "stop after the epoch that passes this wall time"),
    Flag("seed", int, "seed of weights, shuffling, augmentation and dropout"),
    Flag("threads", int, "torch threads (train: default 1, measured in docs/benchmarks.md)"),
    Flag(
        "device",
        str,
        "auto (CUDA, then Apple MPS, then CPU; default), cpu, cuda, cuda:N or mps",
        metavar="DEVICE",
    ),
    Flag(
        "bf16",
        str,
        "bfloat16 autocast (auto: CUDA GPUs with bf16, CPUs with native bf16)",
        choices=BF16_MODES,
    ),
    Flag("augment", name="no-augment", value=NO_AUGMENT, help="train without augmentation"),
    Flag(
        "augment.erase_prob",
        float,
        "random-erasing probability per image",
        metavar="P",
        name="erase",
    ),
    Flag("tta_flip", name="tta", help="test-time flip averaging for val/test metrics"),
    Flag("progress", name="no-progress", value=False, help="no progress bar"),
)


def add_train_arguments(
    parser: argparse.ArgumentParser,
    *,
    skip: tuple[str, ...] = (),
    options: dict[str, str] | None = None,
) -> None:
    """``--config``, ``--model-arg`` and every flag of :data:`TRAIN_FLAGS` except the fields in
    ``skip``; ``options`` respells flags by field (``{"seed": "--train-seed"}``)."""
    add = parser.add_argument
    add("--config", type=Path, help="TrainConfig JSON, or a run's config.json (flags override it)")
    add("--model-arg", action="append", default=[], metavar="KEY=JSON",
        help="model constructor argument, e.g. width=24 or hidden='\"seed\"'")  # fmt: skip
    for flag in TRAIN_FLAGS:
        if flag.field in skip:
            continue
        option = (options or {}).get(flag.field, "--" + flag.key.replace("_", "-"))
        if flag.type is None:
            add(option, dest=flag.dest, action="store_const", const=flag.value, help=flag.help)
        else:
            metavar = flag.metavar or (
                None if flag.choices else option[2:].upper().replace("-", "_")
            )
            add(option, dest=flag.dest, type=flag.type, choices=flag.choices,
                metavar=metavar, help=flag.help)  # fmt: skip
    for retired in RETIRED:  # hidden: refused with one line that says why
        add(retired.flag, nargs="*", action=RetiredFlag, dest=argparse.SUPPRESS,
            help=argparse.SUPPRESS)  # fmt: skip


class RetiredFlag(argparse.Action):
    """A flag of a retired option: exits with status 2 and one ``error:`` line."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        retired = next(r for r in RETIRED if r.flag == self.option_strings[0])
        parser.exit(2, f"error: {retired.flag} ({retired.what}) was {retired_note()}\n")


def flag_values(args: argparse.Namespace) -> dict:
    """The TrainConfig fields the parsed flags set (nested for ``augment``/``model_kwargs``)."""
    values: dict = {}
    for flag in TRAIN_FLAGS:
        value = getattr(args, flag.dest, None)
        if value is not None:
            head, _, tail = flag.field.partition(".")
            _merge(values, {head: {tail: value}} if tail else {head: value})
    if getattr(args, "model_arg", None):
        values["model_kwargs"] = model_args(args.model_arg)
    return values


def model_args(items: list[str]) -> dict:
    """``KEY=JSON`` items as a dict (a value that is not JSON stays a string)."""
    kwargs = {}
    for item in items:
        key, sep, value = item.partition("=")
        try:
            kwargs[key] = json.loads(value)
        except json.JSONDecodeError:
            if not sep:
                raise InputError(f"--model-arg {item!r}: expected KEY=JSON") from None
            kwargs[key] = value
    return kwargs


def read_config_file(path: Path) -> dict:
    """TrainConfig fields from a JSON file: a TrainConfig, or a run's config.json."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"--config {path}: cannot read a JSON TrainConfig ({exc})") from None
    if not isinstance(data, dict):
        raise InputError(f"--config {path}: expected a JSON object of TrainConfig fields")
    return data.get("train", data)


def config_from_args(
    args: argparse.Namespace,
    *,
    model: str | None = None,
    preset: dict | None = None,
    here: bool = True,
    warm_start: bool = False,
):
    """The TrainConfig of the parsed flags: defaults ← ``preset`` ← ``--config`` ← flags ←
    ``model``; an invalid value, an unknown model, (``here``: the run is on this machine) a
    device this machine lacks or (without ``warm_start``) an ``init_from`` is one
    :class:`InputError`."""
    from aiducation.models import describe_families, is_model
    from aiducation.training.config import TrainConfig

    data: dict = {}
    config_file = getattr(args, "config", None)
    for layer in (
        preset or {},
        read_config_file(config_file) if config_file is not None else {},
        flag_values(args),
        {"model": model} if model else {},
    ):
        _merge(data, layer)
    try:
        config = TrainConfig.from_dict(data)
    except (TypeError, ValueError) as exc:
        raise InputError(f"invalid training configuration: {exc}") from None
    if config.init_from and not warm_start:
        raise InputError(
            f"init_from {config.init_from!r}: a warm start is only for `train` on the official "
            "split; the checkpoint was trained on images this command holds out"
        )
    if not is_model(config.model):
        raise InputError(f"--model {config.model!r}: unknown model; known: {describe_families()}")
    if here:
        from aiducation.devices import resolve_device

        try:
            resolve_device(config.device)
        except ValueError as exc:
            raise InputError(f"--device: {exc}") from None
    return config


def _merge(into: dict, layer: dict) -> None:
    """``into`` updated by ``layer``; dict values (``model_kwargs``, ``augment``) key by key."""
    for key, value in layer.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            into[key] = {**into[key], **value}
        else:
            into[key] = dict(value) if isinstance(value, dict) else value
