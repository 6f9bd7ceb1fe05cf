"""``aiducation annotate``: label an attribute (e.g. gender) for a class-stratified sample of
images in the terminal; resumable, never changes earlier labels."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from aiducation.defaults import DATA_DIR

HELP = "Annotate an attribute (e.g. gender) of a class-stratified image sample; resumable."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--data", type=Path, default=DATA_DIR, help=f"prepared dataset (default {DATA_DIR})")
    add("--out", type=Path, required=True, help="attribute CSV to create or extend")
    add("--attribute", required=True, help="column to fill, e.g. gender")
    add("--choices", nargs="+", required=True, help="allowed values, e.g. female male")
    add(
        "--images", type=Path, metavar="CSV",
        help="annotate exactly the images of this CSV (its 'image' column, e.g. age.csv to "
        "extend gender.csv) instead of a class-stratified sample",
    )  # fmt: skip
    add("--per-class", type=int, default=100, help="images per class in the sample")
    add("--splits", nargs="+", default=["train", "val", "test"], help="splits to sample from")
    add("--seed", type=int, default=0, help="seed of the sample (keep it to resume)")
    add(
        "--no-art", action="store_true",
        help="do not draw the face in the terminal (it is drawn only when the output is one)",
    )  # fmt: skip
    add("--preview", type=Path, help="also write the face, enlarged, to this PNG each time")


def read_key(prompt: str, single: bool = True) -> str:
    """One key press from a terminal (no Enter needed; Ctrl-C still works), or one line when
    the input is not a terminal (a pipe, a file) or ``single`` is False. End of input: "q"."""
    stream = sys.stdin
    if single and stream.isatty():
        import termios
        import tty

        print(prompt, end="", flush=True)
        fd = stream.fileno()
        saved = termios.tcgetattr(fd)
        try:
            tty.setcbreak(fd)
            key = stream.read(1)
        finally:
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        print(key if key.isprintable() else "", flush=True)
        return key.lower() if key else "q"
    try:
        return input(prompt).strip().lower()
    except EOFError:
        return "q"


def run(args: argparse.Namespace) -> int:
    from aiducation.data.dataset import load_prepared
    from aiducation.errors import InputError
    from aiducation.fairness.annotate import (
        UNSURE,
        AnnotationSession,
        half_block_art,
        save_preview,
    )
    from aiducation.outdir import check_output_path

    check_output_path(args.out, [args.data])  # never a file of the dataset itself
    try:
        dataset = load_prepared(args.data, mmap=True)
    except (FileNotFoundError, ValueError) as exc:
        raise InputError(str(exc)) from exc
    images = None
    if args.images:
        from aiducation.fairness.inputs import read_attributes

        images = tuple(read_attributes(args.images).index)
    session = AnnotationSession(
        dataset,
        args.out,
        args.attribute,
        tuple(args.choices),
        per_class=args.per_class,
        splits=tuple(args.splits),
        seed=args.seed,
        images=images,
    )
    if images is not None and len(session.queue) < len(images):
        print(f"{len(images) - len(session.queue)} images of {args.images} are not labelled "
              f"faces of {args.data}; left out")  # fmt: skip
    keys = {str(i + 1): choice for i, choice in enumerate(session.choices)} | {"c": UNSURE}
    menu = "  ".join(f"[{k}] {v}" for k, v in keys.items()) + "  [q] quit"
    # colour-escape face art only for a terminal, never into a pipe, file or log
    art = not args.no_art and sys.stdout.isatty()
    if args.preview:
        print(f"each face is written to {args.preview} (open it in an image viewer)")
    while (row := session.next_item()) is not None:
        done, total = session.progress()
        meta = dataset.meta.iloc[row]
        face = dataset.images[row]
        if art:
            print(half_block_art(face))
        if args.preview:
            save_preview(face, args.preview)
        print(f"{done + 1}/{total}  {meta['image_name']}  ({meta['label']})  {menu}")
        answer = read_key(f"{args.attribute}> ", single=len(session.choices) <= 9)
        if answer == "q":
            break
        if answer not in keys:
            print(f"unknown key {answer!r}")
            continue
        if not session.record(row, keys[answer], exists_ok=True):  # labelled meanwhile
            print(f"{meta['image_name']} was labelled meanwhile (the web page or another "
                  "terminal on the same file); that label is kept")  # fmt: skip
    done, total = session.progress()
    print(f"{done}/{total} labelled; saved in {args.out}")
    return 0
