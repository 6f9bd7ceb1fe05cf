"""``aiducation lessons list | show | export | delete``: the lesson history (docs/lessons.md)."""

from __future__ import annotations

import argparse
import datetime
from pathlib import Path

from aiducation.errors import InputError
from aiducation.lessons.recording import add_database_argument, parse_day

HELP = "The lesson history recorded by analyze --lesson: list, show, export or delete lessons."
DESCRIPTION = (
    "The lesson history: each lesson recorded by `aiducation analyze --lesson NAME` (or the "
    "web app) keeps its aggregates only: each state's share per minute and over the lesson, "
    "per-student rows (numbers valid within the lesson), the model and the settings. SQLite in "
    "the user's data directory by default; --database PATH or postgresql://USER@HOST/NAME."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="a table of the lessons, newest first")
    listing.add_argument("--course", metavar="NAME", help="only this course's lessons")
    show = actions.add_parser("show", help="one lesson: its states, minutes and students")
    show.add_argument("id", type=int, metavar="ID", help="the lesson's id (see list)")
    export = actions.add_parser("export", help="write lessons to a CSV or JSON file")
    export.add_argument("out", type=Path, metavar="FILE", help="the file to write (.csv, .json)")
    export.add_argument(
        "ids", type=int, nargs="*", metavar="ID", help="these lessons (default all)"
    )
    export.add_argument("--course", metavar="NAME", help="only this course's lessons")
    export.add_argument(
        "--format", choices=("csv", "json"),
        help="csv or json (default: from the file's suffix); json holds every lesson whole",
    )  # fmt: skip
    export.add_argument(
        "--table", choices=("lessons", "minutes", "students"), default="lessons",
        help="csv: one row per lesson (default), per lesson minute, or per lesson student",
    )  # fmt: skip
    delete = actions.add_parser(
        "delete", help="delete lessons for good (by id, or --older-than for a retention rule)"
    )
    delete.add_argument("ids", type=int, nargs="*", metavar="ID", help="lessons to delete")
    delete.add_argument(
        "--older-than", metavar="DAYS|DATE",
        help="also delete every lesson dated more than DAYS days ago, or before DATE (YYYY-MM-DD)",
    )  # fmt: skip
    for action in (listing, show, export, delete):
        add_database_argument(action)


def older_than(text: str, today: datetime.date | None = None) -> datetime.date:
    """The first day kept by ``--older-than``: ``DAYS`` before today, or a date."""
    today = today or datetime.date.today()
    if text.strip().isdigit():
        return today - datetime.timedelta(days=int(text))
    try:
        return parse_day(text, "--older-than")
    except InputError:
        raise InputError(
            f"--older-than {text!r}: expected a number of days (e.g. 365) or a date YYYY-MM-DD"
        ) from None


def run(args: argparse.Namespace) -> int:
    if args.action == "delete" and not args.ids and args.older_than is None:
        raise InputError("lessons delete: name the lessons' ids or give --older-than DAYS|DATE")
    cutoff = older_than(args.older_than) if getattr(args, "older_than", None) else None
    if args.action == "export":
        fmt = check_export(args)
    from aiducation.lessons.store import LessonStore

    with LessonStore.open(args.database) as store:
        if args.action == "list":
            return list_lessons(store, args.course)
        if args.action == "show":
            return show_lesson(store, args.id)
        if args.action == "export":
            return export_lessons(store, args, fmt)
        return delete_lessons(store, args.ids, cutoff)


def list_lessons(store, course: str | None) -> int:
    from aiducation.lessons.tables import list_frame
    from aiducation.tables import markdown_table

    lessons = store.list_lessons(course)
    if not lessons:
        where = f" of course {course!r}" if course is not None else ""
        print(f"no lessons{where} in {store.label}")
        return 0
    print(markdown_table(list_frame(lessons)), end="")
    print(f"{len(lessons)} lesson(s) in {store.label}")
    return 0


def show_lesson(store, lesson_id: int) -> int:
    from aiducation.lessons.tables import (
        clock,
        minutes_frame,
        states_frame,
        students_frame,
    )
    from aiducation.tables import markdown_table

    lesson = store.get_lesson(lesson_id)
    course = f", course {lesson.course}" if lesson.course else ""
    cut = (
        ""
        if lesson.analysed_s >= lesson.duration_s - 1
        else f" (analysed {clock(lesson.analysed_s)})"
    )
    print(f"# Lesson {lesson.id}: {lesson.name}{course}, {lesson.day.isoformat()}\n")
    print(
        f"{lesson.source}: {clock(lesson.duration_s)}{cut}, {lesson.frames} frames analysed, "
        f"{lesson.faces_answered} of {lesson.faces_seen} faces answered, {lesson.students} "
        f"student(s); model {lesson.model.get('name', '?')} "
        f"({str(lesson.model.get('checksum', ''))[:19]}); recorded "
        f"{lesson.created:%Y-%m-%d %H:%M} UTC\n"
    )
    print("## Each state over the lesson\n")
    print(markdown_table(states_frame(lesson)))
    print("## Per minute (share of the faces answered)\n")
    print(markdown_table(minutes_frame(lesson)))
    print("## Students (numbers valid within this lesson only)\n")
    if lesson.student_rows:
        print(markdown_table(students_frame(lesson), digits=1), end="")
    else:
        print("none kept (analysed with --aggregate-only, or no face seen long enough)")
    return 0


def check_export(args: argparse.Namespace) -> str:
    """The export's format, and its file checked before the database is opened."""
    from aiducation.outdir import check_output_path

    fmt = args.format or args.out.suffix.lower().lstrip(".")
    if fmt not in ("csv", "json"):
        raise InputError(f"{args.out}: expected a .csv or .json file (or --format csv|json)")
    if args.out.is_dir():
        raise InputError(f"{args.out}: is a folder; expected the file to write")
    if not args.out.parent.is_dir():
        raise InputError(f"{args.out}: folder {args.out.parent} does not exist")
    database = args.database
    inputs = [database] if database and "://" not in database else []
    check_output_path(args.out, inputs, option="lessons export")
    return fmt


def export_lessons(store, args: argparse.Namespace, fmt: str) -> int:
    from aiducation.atomic import write_json
    from aiducation.csvfiles import write_csv
    from aiducation.lessons.tables import export_frame

    if args.ids:
        lessons = [store.get_lesson(i) for i in dict.fromkeys(args.ids)]  # unknown: an error
        lessons = [x for x in lessons if args.course is None or x.course == args.course]
    else:
        lessons = [store.get_lesson(x.id) for x in store.list_lessons(args.course)]
    if not lessons:
        raise InputError(f"no lesson to export from {store.label}")
    if fmt == "json":
        write_json(args.out, [lesson.to_json() for lesson in lessons])
    else:
        write_csv(export_frame(lessons, args.table), args.out)
    what = "" if fmt == "json" else f" ({args.table})"
    print(f"{len(lessons)} lesson(s){what} written to {args.out}")
    return 0


def delete_lessons(store, ids: list[int], cutoff: datetime.date | None) -> int:
    for lesson_id in ids:
        store.get_lesson(lesson_id)  # an unknown id: one clear line, nothing deleted
    deleted = store.delete_lessons(ids)
    if cutoff is not None:
        deleted += store.delete_older_than(cutoff)
    rule = f" (dated before {cutoff.isoformat()})" if cutoff is not None else ""
    print(f"deleted {deleted} lesson(s){rule} from {store.label}")
    return 0
