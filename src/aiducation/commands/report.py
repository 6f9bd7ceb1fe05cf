"""``aiducation report``: one self-contained HTML page of the dataset and the experiments."""

from __future__ import annotations

import argparse
import re
import subprocess
from pathlib import Path

from aiducation.defaults import DATA_DIR, RUNS_DIR
from aiducation.errors import InputError

HELP = "Write one self-contained HTML report (dataset, runs, Table 2.2/3.2, plots, bias tables)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--data", type=Path, default=DATA_DIR, help=f"prepared dataset (default {DATA_DIR})")
    add("--grid", type=Path, default=RUNS_DIR / "grid", help="output of `aiducation grid`")
    add("--kfold", type=Path, default=RUNS_DIR / "kfold", help="output of `aiducation kfold`")
    add(
        "--bias", type=Path, nargs="+", action="extend", default=[], metavar="DIR",
        help="outputs of `aiducation bias`: --bias A B, or --bias A --bias B",
    )  # fmt: skip
    add(
        "--mitigation", type=Path, nargs="+", action="extend", default=[], metavar="DIR",
        help="outputs of `aiducation mitigate`: --mitigation A B, or repeated",
    )  # fmt: skip
    add("--title", default="A.I.ducation Analytics: experiment report")
    add("--out", type=Path, default=RUNS_DIR / "report.html", help="HTML file to write")
    add("--check", action="store_true", help="render the file in headless Chromium afterwards")


def run(args: argparse.Namespace) -> int:
    from aiducation.experiments.report import ReportInputs, render_in_chromium, write_report
    from aiducation.outdir import check_output_path

    for name in ("data", "grid", "kfold"):
        path = getattr(args, name)
        if path is not None and path.exists() and not path.is_dir():
            raise InputError(f"--{name} {path}: expected a directory")
    if args.out.is_dir():
        raise InputError(f"--out {args.out}: is a folder; expected the HTML file to write")
    check_output_path(args.out, [args.data, args.grid, args.kfold, *args.bias, *args.mitigation])
    for flag, command, paths in (
        ("bias", "bias", args.bias), ("mitigation", "mitigate", args.mitigation)
    ):  # fmt: skip
        for path in paths:
            if not path.is_dir():
                raise InputError(
                    f"--{flag} {path}: no such directory (an `aiducation {command}` output)"
                )
    inputs = ReportInputs(
        data=args.data if args.data.is_dir() else None,
        grid=args.grid if args.grid.is_dir() else None,
        kfold=args.kfold if args.kfold.is_dir() else None,
        bias=list(args.bias),
        mitigation=list(args.mitigation),
        title=args.title,
    )
    try:
        out = write_report(inputs, args.out)
    except OSError as exc:
        raise InputError(f"--out {args.out}: cannot write there ({exc.strerror or exc})") from None
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    if args.check:
        try:
            dom = render_in_chromium(out)
        except (FileNotFoundError, RuntimeError, subprocess.TimeoutExpired) as exc:
            raise InputError(f"--check: {exc} (the report itself is written: {out})") from None
        match = re.search(r'data-images="(\d+)/(\d+)"', dom)
        if match is None or match.group(1) != match.group(2):
            raise InputError(
                f"{out}: Chromium rendered it but not every image decoded "
                f"({match and match.group(0)})"
            )
        print(f"Chromium rendered it: {match.group(1)} images decoded")
    return 0
