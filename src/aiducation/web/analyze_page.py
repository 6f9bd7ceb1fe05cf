"""The Analyse page: upload a photo or video (or take the demo photo), see the result page;
``/api/analyze`` answers the same as JSON (the webcam view)."""

from __future__ import annotations

import asyncio
import json
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse

from aiducation.errors import InputError
from aiducation.web.charts import shares_svg
from aiducation.web.uploads import ACCEPTED_SUFFIXES, check_upload

if TYPE_CHECKING:
    from aiducation.inference.tracking import IoUTracker

MAX_TRACKS_CHARS = 256 * 1024  # a tracks field; at most ~175 characters a tracked face
MAX_TRACKS_DEPTH = 8  # {"tracks": [{"posterior": {"states": [...]}}]} nests 5 deep


def add_analyze_routes(app: FastAPI, state, page) -> None:
    """Register the Analyse page's routes; ``state.analyzer()`` loads the model on first use."""
    from aiducation.web.analysis import WebAnalysisOptions, analyze_upload, downloads

    config = state.config

    def options(aggregate_only: bool, blur: bool) -> WebAnalysisOptions:
        return WebAnalysisOptions(
            aggregate_only=aggregate_only, blur=blur, video_fps=config.video_fps,
            max_frames=config.max_frames, tmp_dir=config.tmp_dir, max_pixels=config.max_pixels,
        )  # fmt: skip

    async def read_upload(file: UploadFile):
        data = await file.read(config.max_upload_bytes + 1)
        await file.close()
        return check_upload(file.filename or "upload", data, config.max_upload_bytes)

    async def analyse(file: UploadFile, aggregate_only: bool, blur: bool):
        return await run_analysis(await read_upload(file), aggregate_only, blur)

    async def run_analysis(upload, aggregate_only: bool, blur: bool):
        def work():
            with state.lock:
                return analyze_upload(upload, state.analyzer(), options(aggregate_only, blur))

        return await asyncio.to_thread(work)

    @app.get("/analyze", response_class=HTMLResponse)
    async def analyze_page(request: Request) -> HTMLResponse:
        return page(request, "analyze.html", active="analyze", accept=",".join(ACCEPTED_SUFFIXES),
                    max_mb=config.max_upload_mb)  # fmt: skip

    @app.post("/analyze", response_class=HTMLResponse)
    async def analyze_submit(
        request: Request,
        file: Annotated[UploadFile, File()],
        aggregate_only: Annotated[bool, Form()] = False,
        blur: Annotated[bool, Form()] = False,
    ) -> HTMLResponse:
        return result_page(request, await analyse(file, aggregate_only, blur))

    @app.post("/analyze/demo", response_class=HTMLResponse)
    async def analyze_demo(
        request: Request,
        aggregate_only: Annotated[bool, Form()] = False,
        blur: Annotated[bool, Form()] = False,
    ) -> HTMLResponse:
        """The bundled demo photo, for a first look without a photo of one's own."""
        from aiducation.inference.pipeline import demo_image_path

        path = demo_image_path()
        upload = check_upload(path.name, path.read_bytes(), 2**31)
        return result_page(request, await run_analysis(upload, aggregate_only, blur))

    def result_page(request: Request, result) -> HTMLResponse:
        from aiducation.inference.pipeline import USE_NOTICE

        chart = shares_svg(result.summary["state_shares"], result.summary["state_counts"])
        return page(request, "result.html", active="analyze", result=result, chart=chart,
                    downloads=downloads(result), notice=USE_NOTICE,
                    exclusion=exclusion_data(result))  # fmt: skip

    @app.post("/api/analyze")
    async def analyze_api(
        file: Annotated[UploadFile, File()],
        aggregate_only: Annotated[bool, Form()] = False,
        blur: Annotated[bool, Form()] = False,
        tracks: Annotated[str | None, Form()] = None,
        time: Annotated[str | None, Form()] = None,
    ) -> JSONResponse:
        """Per-face results and shares as JSON (used by the webcam view). With ``tracks`` (the
        ``tracks`` of the previous answer, or ``{}`` for the first frame) each face of a photo
        also gets a ``track_id``, and the answer carries the updated ``tracks``; with ``time``
        too (seconds since the webcam started, by the page's clock) each face's ``state`` is
        its track's answer so far (causal smoothing; ``frame_state``: this frame's own)."""
        from aiducation.web.live import Webcam, parse_time

        carried = None if tracks is None else tracks_json(tracks, aggregate_only)
        seconds = parse_time(time)
        if seconds is not None and carried is None:
            raise InputError("time: only with tracks (smoothing follows each tracked face)")
        upload = await read_upload(file)
        if carried is not None and upload.is_video:  # refused before any analysis
            raise InputError("tracks: only for single frames (photos), not videos")
        settings = options(aggregate_only, blur)

        def work() -> dict:
            with state.lock:
                analyzer = state.analyzer()
                webcam = None
                if carried is not None:  # checked before the analysis
                    webcam = Webcam.start(carried, analyzer, settings.smoothing.live(), seconds)
                payload = analyze_upload(upload, analyzer, settings).to_json()
                if webcam is not None:
                    webcam.follow(payload)
                return payload

        return JSONResponse(await asyncio.to_thread(work))


def exclusion_data(result) -> str | None:
    """The JSON data block that ``static/exclude.js`` recomputes the result page from when a
    student is excluded (a video's per-face rows, students, summary, CSV columns and download
    names), escaped for a ``<script type="application/json">`` element; ``None`` when there
    is no students table (a photo, aggregate only, no student)."""
    from aiducation.inference.results import record_columns
    from aiducation.inference.students import student_columns

    if result.kind != "video" or result.options.aggregate_only or not result.students:
        return None
    stem = Path(result.name).stem or "analysis"
    data = {
        "payload": result.to_json(),  # the JSON download: summary, faces, students
        "columns": {
            "faces": record_columns(result.classes),
            "students": student_columns(result.classes),
        },
        "files": {
            "faces": f"{stem}_faces.csv",
            "students": f"{stem}_students.csv",
            "minutes": f"{stem}_minutes.csv",
            "json": f"{stem}.json",
        },
    }
    text = json.dumps(finite(data), default=str)  # JSON.parse knows no NaN
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escaped)  # no "</script>" inside the element
    return text


def finite(value: object) -> object:
    """``value`` with every NaN or infinite float (nested in dicts and lists) made ``None``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    return value


def tracks_json(text: str, aggregate_only: bool) -> object:
    """The client's ``tracks`` field parsed, after the checks that parsing itself needs (size,
    depth); ``InputError`` names what is wrong."""
    if aggregate_only:
        raise InputError("tracks: faces are not tracked when aggregate only (no per-face rows)")
    if len(text) > MAX_TRACKS_CHARS:
        raise InputError(
            f"tracks: {len(text):,} characters, more than the {MAX_TRACKS_CHARS:,} that the "
            "tracks of a classroom's faces take; send the previous answer's tracks, or {}"
        )
    if json_depth(text) > MAX_TRACKS_DEPTH:
        raise InputError(
            f"tracks: nested more than {MAX_TRACKS_DEPTH} levels deep; expected the previous "
            "answer's tracks object, or {}"
        )
    try:
        return json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        raise InputError(f"tracks: not JSON ({exc})") from None
    except RecursionError:  # json_depth should have caught it: never a bare HTTP 500
        raise InputError("tracks: nested too deeply") from None


def parse_tracks(text: str, aggregate_only: bool, **kwargs) -> IoUTracker:
    """The tracker that the client's ``tracks`` field describes (JSON, see
    :meth:`IoUTracker.to_state`; ``kwargs`` go to :meth:`IoUTracker.from_state`);
    ``InputError`` names what is wrong."""
    from aiducation.inference.tracking import IoUTracker

    try:
        return IoUTracker.from_state(tracks_json(text, aggregate_only), **kwargs)
    except ValueError as exc:
        raise InputError(str(exc)) from None


STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def json_depth(text: str) -> int:
    """How deeply ``[`` and ``{`` nest in the JSON ``text`` (outside strings), without parsing
    it: a deeply nested document would exhaust the parser's recursion (HTTP 500 before)."""
    depth = deepest = 0
    for char in STRING.sub("", text):
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest
