"""``aiducation serve``: the local web app (Analyse, Jobs, Experiments, Annotate, Model)."""

from __future__ import annotations

import argparse
import os

from aiducation.arguments import add_checkpoint_argument, add_device_argument, device_from_args
from aiducation.defaults import DEFAULT_DETECTOR, DEFAULT_THREADS, RUNS_DIR
from aiducation.limits import MAX_PIXELS
from aiducation.web.security import TOKEN_ENV  # fixes the access token

HELP = "Start the local web app: analyse media, browse experiments, annotate, model card."
DESCRIPTION = (
    "Start the local web app: analyse photos, videos or the webcam (each face Angry, Bored, "
    "Focused, Neutral, or Other for a face outside these four states), browse experiments, "
    "annotate attributes, read the model card."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s)")
    parser.add_argument("--port", type=int, default=8000, help="port (default %(default)s)")
    parser.add_argument(
        "--allow-host", action="append", default=[], metavar="NAME",
        help="also accept requests for this host name (or name:port), e.g. behind a proxy; "
        "repeatable (default: 127.0.0.1, localhost, ::1 and --host)",
    )  # fmt: skip
    parser.add_argument(
        "--results",
        default=str(RUNS_DIR),
        help="folder with runs and reports (default %(default)s)",
    )
    add_checkpoint_argument(parser)
    add_device_argument(parser)
    parser.add_argument("--detector", default=DEFAULT_DETECTOR, help="face detector: yunet, haar")
    parser.add_argument(
        "--scheme",
        choices=("other", "seed4"),
        default="other",
        help='other (default): Angry, Bored, Focused, Neutral or "Other" (a face outside the '
        "four states) per face; seed4: always one of the four states",
    )
    parser.add_argument("--max-upload-mb", type=float, default=50.0, help="upload size limit")
    parser.add_argument(
        "--max-lesson-mb", type=float, default=8192.0, metavar="MB",
        help="size limit of a whole-lesson upload (a background job; default %(default)g MiB)",
    )  # fmt: skip
    parser.add_argument(
        "--jobs-dir", metavar="DIR",
        help="where uploaded lesson recordings wait for their job and job results are kept "
        "(default: jobs/ in the user's data directory, beside the lesson database)",
    )  # fmt: skip
    parser.add_argument(
        "--keep-results", type=float, metavar="DAYS",
        help="delete the result files of jobs done more than DAYS days ago (the annotated video "
        "shows faces), at start and once an hour; their lessons stay (default: keep them)",
    )  # fmt: skip
    parser.add_argument(
        "--max-megapixels", type=float, default=MAX_PIXELS / 1e6, metavar="MP",
        help="refuse pictures and videos whose frames are larger (checked before decoding; "
        "default %(default)g)",
    )  # fmt: skip
    parser.add_argument(
        "--video-fps", type=float, default=2.0, help="video frames analysed per second of video"
    )
    parser.add_argument("--max-frames", type=int, default=240, help="analysed frames per video")
    parser.add_argument("--data", help="prepared dataset whose images the Annotate page shows")
    parser.add_argument(
        "--annotations", default="annotations/attributes.csv",
        help="attribute CSV written by the Annotate page (default %(default)s)",
    )  # fmt: skip
    parser.add_argument("--attributes", help="JSON file defining the attributes to label")
    parser.add_argument(
        "--threads", type=int, default=DEFAULT_THREADS,
        help="CPU threads (default %(default)s: measured fastest, docs/benchmarks.md)",
    )  # fmt: skip
    from aiducation.lessons.recording import add_database_argument

    add_database_argument(parser)


def run(args: argparse.Namespace) -> int:
    import torch
    import uvicorn

    from aiducation.errors import InputError
    from aiducation.web.app import WebConfig, create_app
    from aiducation.web.server import uvicorn_options

    if not 0 < args.port < 65536:
        raise InputError(f"--port must be between 1 and 65535, got {args.port}")
    if args.max_upload_mb <= 0:
        raise InputError(f"--max-upload-mb must be positive, got {args.max_upload_mb}")
    if args.max_lesson_mb <= 0:
        raise InputError(f"--max-lesson-mb must be positive, got {args.max_lesson_mb:g}")
    if args.keep_results is not None and not 0 < args.keep_results <= 100_000:
        raise InputError(
            f"--keep-results: expected a positive number of days (at most 100000), "
            f"got {args.keep_results:g}"
        )
    if args.max_megapixels <= 0:
        raise InputError(f"--max-megapixels must be positive, got {args.max_megapixels:g}")
    if args.data:  # the Annotate page rewrites its CSV: never a file of the dataset
        from aiducation.outdir import check_output_path

        check_output_path(args.annotations, [args.data], option="--annotations")
    token = os.environ.get(TOKEN_ENV) or None
    if token is not None:
        from aiducation.web.security import check_token

        try:
            check_token(token)
        except ValueError as exc:
            raise InputError(f"{TOKEN_ENV}: {exc}") from None
    device_from_args(args)
    torch.set_num_threads(max(1, args.threads))
    config = WebConfig(
        results=args.results,
        host=args.host,
        port=args.port,
        allowed_hosts=tuple(args.allow_host),
        model=args.checkpoint,
        device=args.device,
        detector=args.detector,
        scheme=args.scheme,
        max_upload_mb=args.max_upload_mb,
        max_pixels=round(args.max_megapixels * 1e6),
        video_fps=args.video_fps,
        max_frames=args.max_frames,
        annotate_data=args.data,
        annotate_out=args.annotations,
        annotate_config=args.attributes,
        token=token,
        database=args.database,
        jobs_dir=args.jobs_dir,
        max_lesson_mb=args.max_lesson_mb,
        keep_results_days=args.keep_results,
    )
    app = create_app(config)
    app.state.web.jobs.store  # noqa: B018 (a bad --database is one clear line, before serving)
    for line in start_lines(args.host, args.port, app.state.web.token, from_env=token is not None):
        print(line)
    uvicorn.run(app, host=args.host, port=args.port, **uvicorn_options())
    return 0


def start_lines(host: str, port: int, token: str | None, from_env: bool = False) -> list[str]:
    """What ``serve`` prints when it starts: the address (with its access token, unless the
    token came from the environment) and a warning when the network can reach it."""
    from aiducation.web.security import WILDCARD_HOSTS, is_loopback

    shown = f"[{host}]" if ":" in host else host
    lines = [f"A.I.ducation web app on http://{shown}:{port}/ (Ctrl-C to stop)"]
    if not is_loopback(host):
        lines.insert(0, f"warning: binding {host}: other computers on the network can reach "
                        "the app; every request needs its access token")  # fmt: skip
    if token is None:
        return lines
    value = f"<the value of {TOKEN_ENV}>" if from_env else token
    if host.strip("[]") in WILDCARD_HOSTS:
        lines.append(f"Open http://127.0.0.1:{port}/?token={value} (here) or "
                     f"http://<this computer's address>:{port}/?token={value}")  # fmt: skip
    else:
        lines.append(f"Open http://{shown}:{port}/?token={value}")
    return lines
