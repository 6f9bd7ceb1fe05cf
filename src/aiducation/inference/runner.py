"""Batch analysis behind ``aiducation analyze``: many inputs in, one output folder out.

Inputs are image files, folders (searched recursively), video files or a webcam. Each source
is analysed on its own: a bad file (unreadable, over the pixel cap, or failing for any other
reason) is reported in ``summary.json["errors"]`` with the reason and the others still run;
:class:`InputError` is raised only when nothing could be processed.

Output folder: ``annotated/`` (images, ``.mp4`` per video), ``faces.csv`` + ``faces.json``
(one row per face), ``summary.json`` (shares, per-frame counts, config), per video a
``timeline_<name>.png`` + ``.csv``, ``students.csv`` (one row per tracked student of each
video/webcam source), and ``crops/`` + ``students/`` thumbnails only with ``save_crops``.
``aggregate_only`` writes no per-face data at all: only summary.json and the timelines.
The folder follows the output-folder rule of :mod:`aiducation.outdir` (``overwrite``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path, PurePosixPath

import cv2
import numpy as np
from tqdm import tqdm

from aiducation.atomic import write_json
from aiducation.defaults import RUNS_DIR
from aiducation.errors import InputError
from aiducation.figures import save_figure
from aiducation.inference.api import Analyzer
from aiducation.inference.detectors import DEFAULT_DETECTOR
from aiducation.inference.images import read_image
from aiducation.inference.outputs import (
    VideoSink,
    write_image,
    write_json_rows,
    write_table,
    write_table_rows,
)
from aiducation.inference.pipeline import (
    USE_NOTICE,
    OutputPolicy,
    Progress,
    SourceResult,
    analyze_capture,
    analyze_picture,
    demo_image_path,
)
from aiducation.inference.preprocess import DEFAULT_MARGIN
from aiducation.inference.quality import QualityGate
from aiducation.inference.results import (
    FrameResult,
    iter_face_records,
    record_columns,
    summarize,
)
from aiducation.inference.smoothing import SmoothingConfig
from aiducation.inference.students import (
    StudentRules,
    student_columns,
)
from aiducation.inference.video import (
    VIDEO_SUFFIXES,
    frame_step,
    open_video,
    open_webcam,
    video_fps,
)
from aiducation.limits import MAX_PIXELS, megapixels
from aiducation.outdir import check_output_dir, output_dir

OnVideo = Callable[[SourceResult], None]
WRITABLE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"})
IMAGE_SUFFIXES = WRITABLE_SUFFIXES | {".gif"}


@dataclass
class AnalyzeConfig:
    """Everything one ``analyze`` run depends on (saved into summary.json)."""

    inputs: list[str] = field(default_factory=list)  # empty and no webcam: the demo photo
    out: str = str(RUNS_DIR / "analyze")
    checkpoint: str | None = None  # checkpoint or run folder; None: the bundled model
    device: str = "auto"  # where the model runs: auto (CUDA, then MPS, then CPU), cpu, cuda...
    detector: str = DEFAULT_DETECTOR
    margin: float = DEFAULT_MARGIN  # box growth on each side, fraction of its side
    scheme: str = "other"  # other: a state or "Other" per face; seed4: always one of the four
    every: int = 1  # analyse every N-th video frame ...
    fps: float | None = None  # ... or about this many frames per second
    webcam: int | None = None
    max_frames: int | None = None  # stop a video/webcam after this many analysed frames
    max_pixels: int = MAX_PIXELS  # larger pictures / video frames are skipped, not decoded
    show: bool = False  # live window for the webcam (needs a GUI build of OpenCV)
    aggregate_only: bool = False
    blur: bool = False
    save_crops: bool = False
    progress: bool = True
    legend: bool = True  # a legend of the states' meanings below annotated pictures
    min_student_seconds: float = StudentRules.min_seconds  # shorter tracks are not students
    gate: bool = True  # faces too small, blurred or turned away are answered "Uncertain"
    exclude: list[int] = field(default_factory=list)  # video track ids left out (a speaker...)
    smoothing: str = "hmm"  # each track's answers over time (hmm), or each frame alone (none)
    dwell_seconds: float = SmoothingConfig.dwell_seconds  # smoothing: mean time in one state
    overwrite: bool = False  # write into a non-empty ``out`` (replacing only our own files)


def expand_inputs(inputs: list[str]) -> tuple[list[tuple[Path, str]], list[dict]]:
    """``(file, output name)`` pairs for files and folders (recursive), plus missing paths."""
    found: list[tuple[Path, str]] = []
    errors: list[dict] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            media = sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES
            )
            if not media:
                errors.append({"source": item, "error": "folder holds no image or video file"})
            found += [(p, p.relative_to(path).as_posix()) for p in media]
        elif path.is_file():
            found.append((path, path.name))
        else:
            errors.append({"source": item, "error": "no such file or folder"})
    names: set[str] = set()
    unique = []
    for path, name in found:  # keep output names distinct when inputs share a file name
        stem, n = name, 1
        while name in names:
            name, n = f"{Path(stem).with_suffix('')}_{n}{Path(stem).suffix}", n + 1
        names.add(name)
        unique.append((path, name))
    return unique, errors


class _Run:
    """Output writing for one run; one method per kind of source."""

    def __init__(
        self, config: AnalyzeConfig, analyzer: Analyzer, out: Path, on_video: OnVideo | None = None
    ) -> None:
        self.config, self.analyzer = config, analyzer
        self.on_video = on_video  # each video's result, once its outputs are written
        self.out = out  # the staging folder of :func:`aiducation.outdir.output_dir`
        self.frames: list[FrameResult] = []
        self.sources: list[dict] = []
        self.students: list[dict] | None = None  # rows of students.csv once a video ran
        self.policy = OutputPolicy(
            aggregate_only=config.aggregate_only, blur=config.blur, legend=config.legend,
            crops=config.save_crops, thumbnails=config.save_crops, preview=config.show,
            student_rules=StudentRules(
                min_seconds=config.min_student_seconds, exclude=frozenset(config.exclude)
            ),
        )  # fmt: skip
        self.smoothing = SmoothingConfig(config.smoothing, config.dwell_seconds)
        self._taken: set[str] = set()  # output names given out, case-folded

    def _unique(self, name: str) -> str:
        """``name``, or ``<stem>_<n><suffix>`` when an earlier input already took it: two
        inputs (``a.gif`` → ``a.gif.png`` and ``a.gif.png``) never share an output name. Names
        are compared case-folded, as on macOS and Windows file systems."""
        path, n = PurePosixPath(name), 1
        while name.casefold() in self._taken:
            name, n = str(path.with_name(f"{path.stem}_{n}{path.suffix}")), n + 1
        self._taken.add(name.casefold())
        return name

    def _crop_writer(self, stem: str):
        """Writes crops as ``crops/<stem>_f<frame>_id<face>.png`` (``stem`` keeps folders)."""

        def write(result: FrameResult, crops: np.ndarray) -> None:
            for face, crop in zip(result.faces, crops, strict=True):
                crop_name = f"{stem}_f{result.frame:06d}_id{face.face_id}.png"
                write_image(self.out / "crops" / crop_name, crop)

        return write

    def image(self, path: Path, name: str) -> None:
        image = read_image(path, self.config.max_pixels)
        if Path(name).suffix.lower() not in WRITABLE_SUFFIXES:  # e.g. GIF: write PNG
            name = f"{name}.png"
        name = self._unique(f"annotated/{name}").removeprefix("annotated/")

        def write(shown: np.ndarray, _: FrameResult) -> None:
            write_image(self.out / "annotated" / name, shown)

        done = analyze_picture(
            image, str(path), self.analyzer, self.policy, write, self._crop_writer(
                _without_suffix(name))
        )  # fmt: skip
        self._add(done)

    def file(self, path: Path, name: str) -> None:
        """One image or video file, written under ``name`` in the output folder."""
        if path.suffix.lower() in VIDEO_SUFFIXES:
            reopen = partial(open_video, path, self.config.max_pixels)
            self.video(reopen(), str(path), name, reopen=reopen)
        else:
            self.image(path, name)

    def video(self, capture, source: str, name: str, live: bool = False, reopen=None) -> None:
        rate = video_fps(capture)
        step = frame_step(rate, self.config.every, self.config.fps)
        video_name = name if name.lower().endswith(".mp4") else f"{name}.mp4"
        video_name = self._unique(f"annotated/{video_name}").removeprefix("annotated/")
        stem = self._unique(f"timeline_{_without_suffix(name).replace('/', '_')}")
        stem = stem.removeprefix("timeline_")
        sink = VideoSink(self.out / "annotated" / video_name, rate / step)
        bar = tqdm(desc=Path(name).name[-30:], unit="frame", leave=False,
                   disable=not self.config.progress)  # fmt: skip

        def shown(picture: np.ndarray, _: FrameResult) -> None:
            if self.policy.per_face:
                sink.write(picture)
            if self.config.show:
                _show(picture)

        try:
            with sink:
                done = analyze_capture(
                    capture, source, self.analyzer, self.policy, rate=rate, step=step,
                    max_frames=self.config.max_frames, live=live, on_annotated=shown,
                    smoothing=self.smoothing, reopen=reopen,
                    on_crops=self._crop_writer(_without_suffix(video_name)),
                    progress=_progress_bar(bar),
                )  # fmt: skip
        finally:
            capture.release()
            bar.close()
        write_table(self.out / f"timeline_{stem}.csv", done.timeline())
        save_figure(done.timeline_figure(name), self.out / f"timeline_{stem}.png")
        write_table(self.out / f"minutes_{stem}.csv", done.minutes)
        save_figure(done.minutes_figure(name), self.out / f"minutes_{stem}.png")
        if self.policy.per_face:
            self.students = self.students or []
            for student, row in zip(done.students, done.student_rows(), strict=True):
                crop = done.thumbnails.get(student.student)
                if crop is not None:
                    row["thumbnail"] = f"students/{stem}_id{student.student}.png"
                    write_image(self.out / row["thumbnail"], crop)
                self.students.append(row)
        coverage = done.coverage(f"--max-frames {self.config.max_frames}")
        self._add(
            done, students=done.n_students, tracks=done.tracks, shot_cuts=done.cuts,
            per_minute=done.minutes, coverage=coverage,
        )  # fmt: skip
        if self.on_video is not None:
            self.on_video(done)

    def _add(self, done: SourceResult, **extra) -> None:
        self.frames += done.frames
        summary = {k: v for k, v in done.summary.items() if k not in ("per_frame", "sources")}
        self.sources.append({"source": done.source, "kind": done.kind, **extra, **summary})

    def finish(self, errors: list[dict]) -> dict:
        classes = self.analyzer.classes
        if self.policy.per_face:
            rows = partial(iter_face_records, self.frames, classes)  # written as they come
            write_table_rows(self.out / "faces.csv", rows(), record_columns(classes))
            write_json_rows(self.out / "faces.json", rows())
        if self.students is not None:
            columns = student_columns(classes) + (
                ["thumbnail"] if self.policy.keep_thumbnails else []
            )
            write_table(self.out / "students.csv", self.students, columns)
        summary = {
            "classes": classes,
            **summarize(self.frames, classes),
            "per_source": self.sources,
            "errors": errors,
            "config": asdict(self.config),
            "notice": USE_NOTICE,
        }
        write_json(self.out / "summary.json", summary)
        return summary


def _progress_bar(bar: tqdm) -> Callable[[Progress], None]:
    """What moves a video's progress bar (frames done of the expected total, with its ETA);
    the drawing pass of a recording starts it again, named."""
    stage = None

    def advance(progress: Progress) -> None:
        nonlocal stage
        if progress.stage != stage:
            stage = progress.stage
            bar.reset(total=progress.total)
            bar.set_postfix_str(stage, refresh=False)
        elif progress.total != bar.total:
            bar.total = progress.total
        bar.update(progress.done - bar.n)

    return advance


def _without_suffix(name: str) -> str:
    return str(PurePosixPath(name).with_suffix(""))


def _show(frame: np.ndarray) -> None:
    try:
        cv2.imshow("aiducation analyze (Ctrl-C to stop)", frame)
        cv2.waitKey(1)
    except cv2.error as exc:
        raise InputError(
            "--show needs an OpenCV build with a GUI (opencv-python, not -headless)"
        ) from exc


def _attempt(source: str, work: Callable[[], None], errors: list[dict]) -> None:
    """Run ``work``; if it fails, record the reason for ``source`` and carry on.

    Bad input (:class:`InputError`) keeps its message; anything else (an OpenCV error, an
    overflow, memory) is reported as a failure of that file, so one file never stops a batch.
    """
    try:
        work()
        return
    except InputError as exc:
        reason = str(exc)
    except Exception as exc:  # reported per file in summary.json
        detail = " ".join(str(exc).split()) or "no details"
        reason = f"{source}: analysis failed ({type(exc).__name__}: {detail})"
    errors.append({"source": source, "error": reason})
    _warn(errors[-1])


def describe(error: dict) -> str:
    """``source: reason``, naming the source once (most reasons already start with it)."""
    source, reason = str(error["source"]), str(error["error"])
    return reason if reason.startswith(source) else f"{source}: {reason}"


def _warn(error: dict) -> None:
    print(f"warning: skipped {describe(error)}", file=sys.stderr)


def run_analysis(
    config: AnalyzeConfig, analyzer: Analyzer | None = None, on_video: OnVideo | None = None
) -> dict:
    """Analyse ``config``'s inputs into ``config.out``; return the summary written there.
    ``on_video`` receives each analysed video's (or webcam's) result after its outputs are
    written into the staging folder (``analyze --lesson`` keeps its aggregates)."""
    if not config.inputs and config.webcam is None:  # the bundled demo: summary.json names it
        config = replace(config, inputs=[str(demo_image_path())])
    if config.max_pixels <= 0:
        raise InputError(f"--max-megapixels must be positive, got {megapixels(config.max_pixels)}")
    check_output_dir(  # before any work
        config.out,
        overwrite=config.overwrite,
        inputs=config.inputs,
        checkpoints=[config.checkpoint],
    )
    analyzer = analyzer or Analyzer.load(
        config.checkpoint,
        config.detector,
        config.margin,
        scheme=config.scheme,
        device=config.device,
        gate=QualityGate() if config.gate else None,
    )
    with output_dir(
        config.out, owner="analyze", overwrite=config.overwrite, inputs=config.inputs
    ) as out:
        return _analyze(config, _Run(config, analyzer, out, on_video))


def _analyze(config: AnalyzeConfig, run: _Run) -> dict:
    if config.webcam is not None:  # one live source: its errors are the command's
        run.video(open_webcam(config.webcam), f"webcam:{config.webcam}", "webcam", live=True)
        return run.finish([])
    files, errors = expand_inputs(config.inputs)
    for error in errors:  # missing paths, empty folders
        _warn(error)
    bar = tqdm(files, desc="analyze", unit="file", disable=not config.progress or len(files) < 2)
    for path, name in bar:
        bar.set_postfix_str(name[-30:])
        _attempt(str(path), partial(run.file, path, name), errors)
    if not run.sources:
        details = "; ".join(describe(e) for e in errors) or "no input"
        raise InputError(f"nothing could be processed ({details})")
    return run.finish(errors)
