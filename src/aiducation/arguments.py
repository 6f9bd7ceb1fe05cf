"""Command-line options that several commands share, spelled one way.

Naming: ``--model NAME`` is a registry name (what ``train``, ``grid``, ``kfold`` and
``mitigate`` build); ``--checkpoint PATH`` a checkpoint or run directory (what ``evaluate``,
``analyze``, ``serve`` and ``bias`` load). ``evaluate``, ``analyze`` and ``serve`` still
accept their old spelling ``--model PATH`` until 0.3.
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
