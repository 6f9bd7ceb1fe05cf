"""The ``aiducation`` command: thin subcommands, each defined in ``aiducation.commands.<name>``.

A command module provides ``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``
(and may provide ``DESCRIPTION``, a longer text for its ``--help``);
it keeps heavy imports (torch, cv2, ...) inside ``run`` so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from aiducation import __version__, commands
from aiducation.errors import InputError

COMMAND_ORDER = (
    "prepare", "train", "evaluate", "grid", "kfold", "bias", "mitigate",
    "annotate", "analyze", "lessons", "serve", "report",
)  # fmt: skip


def _command_modules() -> dict[str, object]:
    available = {m.name for m in pkgutil.iter_modules(commands.__path__)}
    ordered = [n for n in COMMAND_ORDER if n in available]
    ordered += sorted(available - set(ordered))
    return {name: importlib.import_module(f"aiducation.commands.{name}") for name in ordered}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aiducation",
        description="Learning-state recognition from faces: Angry, Bored, Focused, Neutral, or "
        "Other for a face outside them (a smile, surprise, ...).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module in _command_modules().items():
        # argparse %-formats help strings but prints descriptions as they are
        description = getattr(module, "DESCRIPTION", module.HELP)
        cmd = sub.add_parser(name, help=module.HELP.replace("%", "%%"), description=description)
        module.add_arguments(cmd)
        cmd.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
