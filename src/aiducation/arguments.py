"""Command-line options that several commands share, spelled one way.

Naming: ``--model NAME`` is a registry name (what ``train``, ``grid``, ``kfold`` and
``mitigate`` build); ``--checkpoint PATH`` a checkpoint or run directory (what ``evaluate``,
``analyze``, ``serve`` and ``bias`` load). ``evaluate``, ``analyze`` and ``serve`` still
accept their old spelling ``--model PATH`` until 0.3. ``--device`` is spelled one way on
every command that runs a model (``train``, ``grid``, ``kfold`` and ``mitigate`` get it from the
training flags).
"""

from __future__ import annotations

import argparse


def add_checkpoint_argument(
    parser: argparse.ArgumentParser | argparse._MutuallyExclusiveGroup,
    *,
    old_spelling: bool = True,
    default_help: str = "default: the bundled model",
) -> None:
    """``--checkpoint PATH`` (``dest="checkpoint"``), with ``--model`` as the old spelling."""
    names = ["--checkpoint", "--model"] if old_spelling else ["--checkpoint"]
    old = " (old spelling: --model)" if old_spelling else ""
    parser.add_argument(
        *names,
        dest="checkpoint",
        metavar="PATH",
        help=f"checkpoint directory or run directory (its checkpoints/best); {default_help}{old}",
    )


def add_device_argument(parser: argparse.ArgumentParser) -> None:
    """``--device`` (``dest="device"``, default ``auto``): where the model runs."""
    parser.add_argument(
        "--device",
        default="auto",
        metavar="DEVICE",
        help="where the model runs: auto (CUDA, then Apple MPS, then CPU; default), cpu, cuda, "
        "cuda:N or mps",
    )


def device_from_args(args: argparse.Namespace):
    """The torch device of ``--device``; one :class:`InputError` when it is absent or unknown."""
    from aiducation.devices import resolve_device
    from aiducation.errors import InputError

    try:
        return resolve_device(args.device)
    except ValueError as exc:
        raise InputError(f"--device: {exc}") from None
