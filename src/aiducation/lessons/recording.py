"""``aiducation analyze --lesson NAME``: each analysed video recorded as one lesson.

The database is opened before any work (a bad ``--database`` or ``--date`` fails at once), one
:class:`~aiducation.lessons.records.LessonRecord` is kept per analysed video (pictures are not
lessons), and the lessons are written only once the analysis finished and its output folder
is complete. With several videos each becomes its own lesson, named ``NAME (file name)``.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from aiducation.errors import InputError
from aiducation.lessons.records import MAX_NAME, LessonRecord, lesson_record

if TYPE_CHECKING:
    from aiducation.inference.pipeline import SourceResult

DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# what of AnalyzeConfig is not a setting of the analysis (paths, display, the model itself)
NOT_SETTINGS = ("inputs", "out", "overwrite", "progress", "show", "checkpoint", "legend")


def add_lesson_arguments(parser: argparse.ArgumentParser) -> None:
    """``--lesson``, ``--course``, ``--date`` and ``--database`` of ``analyze``."""
    group = parser.add_argument_group(
        "lesson history", "record each analysed video as a lesson (docs/lessons.md)"
    )
    group.add_argument(
        "--lesson", metavar="NAME",
        help="record each video's aggregates (shares per minute, students, model, settings) "
        "as a lesson of this name; several videos: one lesson each, named 'NAME (file)'",
    )  # fmt: skip
    group.add_argument("--course", metavar="NAME", help="the lesson's course (with --lesson)")
    group.add_argument(
        "--date", metavar="YYYY-MM-DD", help="the lesson's date (with --lesson; default today)"
    )
    add_database_argument(group)


def add_database_argument(parser) -> None:
    parser.add_argument(
        "--database", metavar="PATH|URL",
        help="lesson database: a SQLite file or postgresql://USER@HOST/NAME (default: "
        "lessons.sqlite in the user's data directory)",
    )  # fmt: skip


def parse_day(text: str, option: str = "--date") -> datetime.date:
    """``YYYY-MM-DD`` as a date; anything else is one :class:`InputError` line."""
    try:
        if not DATE.fullmatch(text.strip()):
            raise ValueError(text)
        return datetime.date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(
            f"{option} {text!r}: expected a date YYYY-MM-DD (e.g. 2025-03-14)"
        ) from None


@dataclass(frozen=True)
class LessonOptions:
    """What ``--lesson``, ``--course``, ``--date`` and ``--database`` asked for."""

    name: str
    course: str | None
    day: datetime.date
    database: str | None


def lesson_options(args: argparse.Namespace) -> LessonOptions | None:
    """The lesson options of ``analyze`` checked (one clear line each), or None without
    ``--lesson``."""
    if args.lesson is None:
        given = [f"--{n}" for n in ("course", "date", "database") if getattr(args, n) is not None]
        if given:
            raise InputError(f"{', '.join(given)}: only with --lesson NAME (what to record)")
        return None
    name, course = args.lesson.strip(), (args.course or "").strip() or None
    if not name or len(name) > MAX_NAME:
        raise InputError(f"--lesson {args.lesson!r}: expected a name of 1 to {MAX_NAME} characters")
    if course is not None and len(course) > MAX_NAME:
        raise InputError(f"--course: expected at most {MAX_NAME} characters")
    day = parse_day(args.date) if args.date is not None else datetime.date.today()
    return LessonOptions(name, course, day, args.database)


def model_info(checkpoint: str | Path | None) -> dict:
    """The model a lesson was analysed with: name (architecture), where it came from, the
    aiducation version, and its weights' SHA-256 (which model exactly)."""
    from aiducation import __version__
    from aiducation.models.checkpoint import (
        MODEL_CONFIG_FILE,
        WEIGHTS_FILE,
        resolve_checkpoint_dir,
    )

    folder = resolve_checkpoint_dir(checkpoint)
    config = json.loads((folder / MODEL_CONFIG_FILE).read_text())
    digest = hashlib.sha256()
    with open(folder / WEIGHTS_FILE, "rb") as weights:
        for chunk in iter(lambda: weights.read(1 << 20), b""):
            digest.update(chunk)
    return {
        "name": config.get("arch", folder.name),
        "source": "bundled" if checkpoint is None else str(checkpoint),
        "version": __version__,
        "checksum": f"sha256:{digest.hexdigest()}",
    }


def start_recording(options: LessonOptions | None, config) -> LessonRecorder | None:
    """A recorder for an ``analyze`` run (an ``AnalyzeConfig``), checked before any work: the
    inputs hold a video (or it is a webcam), the model is known, the database opens."""
    if options is None:
        return None
    if config.webcam is None:
        from aiducation.inference.runner import expand_inputs
        from aiducation.inference.video import VIDEO_SUFFIXES

        files, _ = expand_inputs(config.inputs)
        if not any(path.suffix.lower() in VIDEO_SUFFIXES for path, _ in files):
            raise InputError(
                "--lesson: a lesson is a video (or --webcam), and no video is among the inputs"
            )
    try:
        model = model_info(config.checkpoint)
    except FileNotFoundError as exc:
        raise InputError(f"checkpoint {config.checkpoint or 'bundled'}: {exc}") from None
    return LessonRecorder(options, config, model)


def recorded_lines(saved: list[tuple[int, LessonRecord]], label: str) -> list[str]:
    """What ``analyze`` prints about the lessons it recorded."""
    if not saved:
        return ["no lesson recorded: no video could be analysed"]
    lines = [
        f"lesson {lesson_id} recorded: {record.name!r}"
        + (f", course {record.course!r}" if record.course else "")
        + f", {record.day.isoformat()}, {record.frames} frames of {record.duration_s:.0f} s"
        for lesson_id, record in saved
    ]
    return [*lines, f"lessons in {label} (aiducation lessons list)"]


class LessonRecorder:
    """Keeps one lesson per analysed video and stores them when the analysis is done."""

    def __init__(self, options: LessonOptions, config, model: dict) -> None:
        self.options = options
        self.settings = {k: v for k, v in asdict(config).items() if k not in NOT_SETTINGS}
        self.model = model
        self.records: list[LessonRecord] = []
        from aiducation.lessons.store import LessonStore

        self.store = LessonStore.open(options.database)  # a bad database fails before any work

    def keep(self, result: SourceResult) -> None:
        """The aggregates of one analysed video (pictures are not lessons)."""
        if result.kind == "image":
            return
        record = lesson_record(
            result, name=self.options.name, course=self.options.course, day=self.options.day,
            model=self.model, settings=self.settings,
        )  # fmt: skip
        self.records.append(record)

    def save(self) -> list[tuple[int, LessonRecord]]:
        """Store the kept lessons (each in one transaction); return ``(id, record)`` pairs."""
        records = self.records
        if len(records) > 1:
            records = [replace(r, name=_numbered(r.name, r.source)) for r in records]
        try:
            return [(self.store.add_lesson(record), record) for record in records]
        finally:
            self.close()

    def close(self) -> None:
        self.store.close()


def _numbered(name: str, source: str) -> str:
    """``NAME (file)``, cut to the longest name the database keeps."""
    suffix = f" ({PurePath(source).name})"[: MAX_NAME // 2]
    return name[: MAX_NAME - len(suffix)] + suffix
