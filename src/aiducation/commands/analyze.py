"""``aiducation analyze``: learning states in classroom photos, folders, videos or a webcam."""

from __future__ import annotations

import argparse
import math

from aiducation.arguments import add_checkpoint_argument, add_device_argument, device_from_args
from aiducation.defaults import (
    DEFAULT_DETECTOR,
    DEFAULT_THREADS,
    DWELL_SECONDS,
    MIN_STUDENT_SECONDS,
    RUNS_DIR,
)
from aiducation.errors import InputError
from aiducation.lessons.recording import add_lesson_arguments, lesson_options
from aiducation.limits import MAX_PIXELS

HELP = "Analyse photos, folders, videos or a webcam: each face's learning state + class summary."
DESCRIPTION = (
    "Analyse photos, folders, videos or a webcam: each face is labelled Angry, Bored, Focused, "
    "Neutral, or Other for a face outside these four learning states (a smile, surprise, ...; "
    "its FER+ expression is recorded), and the class is summarised (share of each state, per "
    "frame and per student of a video)."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "inputs", nargs="*", metavar="PATH",
        help="image files, folders (recursive) or video files; none: the bundled demo photo",
    )  # fmt: skip
    parser.add_argument(
        "--out", default=str(RUNS_DIR / "analyze"), help="output folder (default %(default)s)"
    )
    parser.add_argument(
        "--overwrite", action="store_true",
        help="write into an existing non-empty --out (replaces only analyze's own files)",
    )  # fmt: skip
    add_checkpoint_argument(parser)
    add_device_argument(parser)
    parser.add_argument(
        "--detector", default=DEFAULT_DETECTOR, help="face detector: yunet (default), haar"
    )
    parser.add_argument(
        "--scheme",
        choices=("other", "seed4"),
        default="other",
        help='other (default): Angry, Bored, Focused, Neutral, or "Other" for faces outside '
        "them (smiles, surprise, ...); seed4: always one of the report's four states",
    )
    parser.add_argument(
        "--margin", type=float, default=0.0,
        help="grow each (squared) face box by this fraction of its side per side (default 0)",
    )  # fmt: skip
    sampling = parser.add_mutually_exclusive_group()
    sampling.add_argument("--every", type=int, default=1, help="analyse every N-th video frame")
    sampling.add_argument("--fps", type=float, help="analyse about this many video frames per s")
    parser.add_argument("--webcam", type=int, metavar="INDEX", help="analyse camera INDEX live")
    parser.add_argument("--max-frames", type=int, help="stop a video/webcam after N frames")
    parser.add_argument(
        "--max-megapixels", type=float, default=MAX_PIXELS / 1e6, metavar="MP",
        help="skip pictures and videos whose frames are larger (checked before decoding; "
        "default %(default)g)",
    )  # fmt: skip
    parser.add_argument("--show", action="store_true", help="live window (needs GUI OpenCV)")
    parser.add_argument(
        "--aggregate-only", action="store_true",
        help="class shares over time only: no per-face records, annotated media or crops",
    )  # fmt: skip
    parser.add_argument("--blur", action="store_true", help="blur faces in annotated outputs")
    parser.add_argument(
        "--save-crops", action="store_true",
        help="also write the 48x48 face crops (and a thumbnail per student of a video)",
    )  # fmt: skip
    parser.add_argument(
        "--legend", action=argparse.BooleanOptionalAction, default=True,
        help="a legend of what each state means below annotated pictures and videos "
        "(default; --no-legend drops it)",
    )  # fmt: skip
    parser.add_argument(
        "--gate", action=argparse.BooleanOptionalAction, default=True,
        help="answer faces too small, blurred or turned away 'Uncertain' (default; thresholds "
        "measured, docs/analyze.md); --no-gate answers every face",
    )  # fmt: skip
    parser.add_argument(
        "--exclude", type=int, nargs="+", default=[], metavar="TRACK",
        help="video: leave these people out (their track ids: the track column of students.csv, "
        "face_id of faces.csv), e.g. the speaker on stage; the summary is computed without them",
    )  # fmt: skip
    parser.add_argument(
        "--smoothing", choices=("hmm", "none"), default="hmm",
        help="hmm (default): each student's answer over time from their whole track (a hidden "
        "Markov model, parameters in seconds, docs/analyze.md); none: every frame on its own",
    )  # fmt: skip
    parser.add_argument(
        "--dwell-seconds", type=float, default=DWELL_SECONDS, metavar="S",
        help="smoothing: mean time a student stays in one state (default %(default)g s)",
    )  # fmt: skip
    parser.add_argument(
        "--min-student-seconds", type=float, default=MIN_STUDENT_SECONDS, metavar="S",
        help="video: tracks seen for less time are not counted as students (default %(default)g)",
    )  # fmt: skip
    parser.add_argument(
        "--threads", type=int, default=DEFAULT_THREADS,
        help="CPU threads for PyTorch and OpenCV (default %(default)s: fastest as measured, "
        "see docs/benchmarks.md)",
    )  # fmt: skip
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    add_lesson_arguments(parser)


def check_options(args: argparse.Namespace) -> None:
    """Refuse option values that would crash or silently mislead (one clear line each)."""
    if not (math.isfinite(args.margin) and 0 <= args.margin <= 1):
        raise InputError(f"--margin {args.margin}: expected a fraction from 0 to 1")
    if args.webcam is not None and args.webcam < 0:
        raise InputError(f"--webcam {args.webcam}: expected a camera index ≥ 0")
    if args.max_frames is not None and args.max_frames < 1:
        raise InputError(f"--max-frames {args.max_frames}: expected at least 1")
    if not (math.isfinite(args.dwell_seconds) and args.dwell_seconds > 0):
        raise InputError(f"--dwell-seconds {args.dwell_seconds}: expected a positive number")
    if not (math.isfinite(args.min_student_seconds) and args.min_student_seconds >= 0):
        raise InputError(f"--min-student-seconds {args.min_student_seconds}: expected ≥ 0")
    if args.threads < 1:
        raise InputError(f"--threads {args.threads}: expected at least 1")


def run(args: argparse.Namespace) -> int:
    check_options(args)
    lesson = lesson_options(args)  # --lesson, --course, --date, --database: checked first
    device_from_args(args)  # an absent device is one clear error before any work
    import cv2
    import torch

    from aiducation.inference.runner import AnalyzeConfig, run_analysis

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    config = AnalyzeConfig(
        inputs=list(args.inputs),
        out=args.out,
        checkpoint=args.checkpoint,
        device=args.device,
        detector=args.detector,
        margin=args.margin,
        scheme=args.scheme,
        every=args.every,
        fps=args.fps,
        webcam=args.webcam,
        max_frames=args.max_frames,
        max_pixels=round(args.max_megapixels * 1e6),
        show=args.show,
        aggregate_only=args.aggregate_only,
        blur=args.blur,
        save_crops=args.save_crops,
        legend=args.legend,
        min_student_seconds=args.min_student_seconds,
        gate=args.gate,
        exclude=list(args.exclude),
        smoothing=args.smoothing,
        dwell_seconds=args.dwell_seconds,
        progress=not args.no_progress,
        overwrite=args.overwrite,
    )
    from aiducation.lessons.recording import recorded_lines, start_recording

    recorder = start_recording(lesson, config)  # the database opens before any work
    try:
        summary = run_analysis(config, on_video=recorder.keep if recorder else None)
    except BaseException:
        if recorder is not None:
            recorder.close()  # nothing is recorded from an analysis that did not finish
        raise
    shares = ", ".join(f"{c} {s:.0%}" for c, s in summary["state_shares"].items())
    print(
        f"{summary['sources']} source(s), {summary['frames']} frame(s), "
        f"{summary['faces_seen']} face(s): {shares}"
    )
    for source in summary["per_source"]:
        if "students" in source:
            print(
                f"{source['source']}: {source['students']} student(s) seen for at least "
                f"{config.min_student_seconds:g} s ({source['tracks']} track(s))"
            )
        if not source.get("coverage", {"complete": True})["complete"]:
            print(f"{source['source']}: {coverage_line(source['coverage'])}")
    if summary["errors"]:
        print(f"{len(summary['errors'])} input(s) skipped: see summary.json")
    print(f"results in {config.out}/")
    if recorder is not None:  # the output folder is complete: now the lessons
        print("\n".join(recorded_lines(recorder.save(), recorder.store.label)))
    return 0


def coverage_line(coverage: dict) -> str:
    """``analysed up to 114.7 s of 147.0 s (--max-frames 240)``: what a cut left out."""
    shown = coverage["analysed_to_s"]
    whole = "" if coverage["duration_s"] is None else f" of {coverage['duration_s']:.1f} s"
    return f"analysed up to {shown or 0:.1f} s{whole} only ({coverage['reason']})"
