"""The local web app behind ``aiducation serve``: Analyse, Jobs (whole lessons in the
background), Experiments, Annotate and Model pages.

Build it with :func:`create_app` (FastAPI); every page works offline (templates and assets are
in the package). The app adds no analysis of its own: it renders what
:mod:`aiducation.inference.pipeline` returns, and uses :mod:`aiducation.fairness.annotate` and
the plot functions of :mod:`aiducation.plots`.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException

from aiducation import __version__
from aiducation.defaults import DEFAULT_DETECTOR, RUNS_DIR
from aiducation.errors import InputError
from aiducation.inference.draw import STATE_MEANINGS
from aiducation.limits import MAX_PIXELS
from aiducation.web.analyze_page import add_analyze_routes
from aiducation.web.annotate import add_annotate_routes
from aiducation.web.charts import state_colour
from aiducation.web.experiments import add_experiment_routes
from aiducation.web.job_pages import add_job_routes
from aiducation.web.jobs import JobService, JobSettings
from aiducation.web.lesson_upload import NoSpace
from aiducation.web.lessons_page import add_lesson_routes
from aiducation.web.modelcard import add_model_routes
from aiducation.web.security import AccessToken, AllowedHosts, RequestGuard, is_loopback
from aiducation.web.uploads import BodyLimitMiddleware, UnsupportedMedia, UploadTooLarge

HERE = Path(__file__).parent
PAGES = (("analyze", "Analyse"), ("jobs", "Jobs"), ("lessons", "Lessons"),
         ("experiments", "Experiments"), ("annotate", "Annotate"), ("model", "Model"))  # fmt: skip
JOB_ROUTES = ("/jobs", "/api/jobs")  # the whole-lesson uploads: their own body limit


@dataclass
class WebConfig:
    """Settings of one server (``aiducation serve`` flags)."""

    results: str = str(RUNS_DIR)  # folder searched for runs, grid/k-fold tables and bias reports
    host: str = "127.0.0.1"  # bound address: requests must name it (or a loopback name) ...
    port: int = 8000  # ... with this port (web/security.py)
    allowed_hosts: tuple[str, ...] = ()  # more names (``name`` or ``name:port``) to accept
    # Access token every request must show (web/security.py). None: none on the loopback, a
    # random one (``app.state.web.token``) when bound beyond it.
    token: str | None = None
    model: str | None = None  # checkpoint or run directory (None: the bundled model)
    device: str = "auto"  # where the model runs: auto (CUDA, then MPS, then CPU), cpu, cuda...
    detector: str = DEFAULT_DETECTOR
    scheme: str = "other"  # other: a learning state or "Other"; seed4: always one of the four
    max_upload_mb: float = 50.0  # largest accepted upload, MiB
    upload_idle_timeout: float = 60.0  # a request body stalled this long (s) is refused (408)
    max_pixels: int = MAX_PIXELS  # larger pictures / video frames are refused before decoding
    video_fps: float = 2.0  # video frames analysed per second of video
    max_frames: int = 240  # analysed frames per video at most
    tmp_dir: str | None = None  # parent folder of temporary video files (None: system temp)
    annotate_data: str | None = None  # prepared dataset whose images are labelled
    annotate_out: str = "annotations/attributes.csv"  # attribute CSV written by the Annotate page
    annotate_config: str | None = None  # attribute definitions (None: gender + age)
    database: str | None = None  # lesson database and job queue (None: the store's default)
    jobs_dir: str | None = None  # recordings and job results (None: one folder per database)
    max_lesson_mb: float = 8192.0  # largest whole-lesson upload, MiB
    keep_results_days: float | None = None  # done jobs' results deleted this old (None: kept)
    jobs: bool = True  # run the job worker while the server runs (tests drive it themselves)

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 2**20)

    @property
    def max_lesson_bytes(self) -> int:
        return int(self.max_lesson_mb * 2**20)


class AppState:
    """Lazily loaded analyzer (shared, one analysis at a time) and the annotation session."""

    def __init__(self, config: WebConfig, analyzer=None, annotator=None) -> None:
        self.config = config
        self._analyzer = analyzer
        self._annotator = annotator
        self.lock = threading.Lock()
        self.token: str | None = None  # the access token in force (set by create_app)
        self._job_analyzer = analyzer  # the job worker's own (a job never waits for a page)
        folder = None if config.jobs_dir is None else Path(config.jobs_dir)
        settings = JobSettings(
            database=config.database, folder=folder, video_fps=config.video_fps,
            max_pixels=config.max_pixels, checkpoint=config.model,
            keep_results_days=config.keep_results_days,
        )  # fmt: skip
        self.jobs = JobService(settings, self.job_analyzer)

    def analyzer(self):
        """The analyzer, loaded on first use; an unusable model raises :class:`ModelUnavailable`."""
        if self._analyzer is None:
            self._analyzer = self._load_analyzer()
        return self._analyzer

    def job_analyzer(self):
        """The job worker's analyzer (loaded on its first job), separate from the pages' one."""
        if self._job_analyzer is None:
            self._job_analyzer = self._load_analyzer()
        return self._job_analyzer

    def _load_analyzer(self):
        from aiducation.inference.api import Analyzer

        try:
            return Analyzer.load(
                self.config.model,
                self.config.detector,
                scheme=self.config.scheme,
                device=self.config.device,
            )
        except Exception as exc:  # ValueError, InputError or a damaged file: never a bare 500
            where = self.config.model or "the bundled model"
            detail = str(exc) if isinstance(exc, InputError) else f"{where}: {exc}"
            raise ModelUnavailable(
                f"the server's model cannot be loaded, so nothing can be analysed ({detail}); "
                "restart `aiducation serve` with a working --checkpoint"
            ) from exc

    def annotator(self):
        """The annotation sessions, or ``None`` when the server was started without ``--data``."""
        if self._annotator is None and self.config.annotate_data is not None:
            from aiducation.web.annotate import Annotator

            self._annotator = Annotator.load(
                self.config.annotate_data, self.config.annotate_out, self.config.annotate_config
            )
        return self._annotator


class ModelUnavailable(InputError):
    """The server's checkpoint cannot be loaded (HTTP 503): a server setting, not the upload."""


def _status(exc: Exception) -> int:
    if isinstance(exc, ModelUnavailable):
        return 503
    if isinstance(exc, UploadTooLarge):
        return 413
    if isinstance(exc, UnsupportedMedia):
        return 415
    if isinstance(exc, NoSpace):
        return 507
    return 400


def create_app(config: WebConfig | None = None, *, analyzer=None, annotator=None) -> FastAPI:
    """The web app; ``analyzer``/``annotator`` replace the ones built from ``config`` (tests)."""
    config = config or WebConfig()
    state = AppState(config, analyzer, annotator)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        """The job worker runs while the server does; at start, jobs a stopped server left
        running are failed (web/jobs.py)."""
        if config.jobs:
            await asyncio.to_thread(state.jobs.start)
        try:
            yield
        finally:
            await asyncio.to_thread(state.jobs.stop)

    app = FastAPI(title="A.I.ducation Analytics", version=__version__, docs_url=None,
                  redoc_url=None, openapi_url=None, lifespan=lifespan)  # fmt: skip
    app.state.web = state
    try:
        allowed = AllowedHosts.for_server(config.host, config.port, config.allowed_hosts)
    except ValueError as exc:
        raise InputError(f"--host/--allow-host: {exc}") from exc
    state.token = config.token
    if state.token is None and not is_loopback(config.host):
        state.token = secrets.token_urlsafe(32)  # reachable from the network: never open
    try:
        token = None if state.token is None else AccessToken(state.token, config.port)
    except ValueError as exc:
        raise InputError(f"access token: {exc}") from exc
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.globals.update(
        pages=PAGES, version=__version__, state_colour=state_colour, state_meanings=STATE_MEANINGS
    )

    def page(request: Request, name: str, status_code: int = 200, **context) -> HTMLResponse:
        return templates.TemplateResponse(request, name, context, status_code=status_code)

    def error(request: Request, status: int, message: str) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": message}, status_code=status)
        return page(request, "error.html", status, status=status, message=message)

    def reject(scope, status: int, message: str) -> Response:
        return error(Request(scope), status, message)

    app.add_middleware(  # multipart framing and form fields: 64 KiB beyond the file limit
        BodyLimitMiddleware,
        max_bytes=config.max_upload_bytes + 2**16,
        reject=reject,
        idle_timeout=config.upload_idle_timeout,
        routes=dict.fromkeys(JOB_ROUTES, (config.max_lesson_bytes + 2**16, "--max-lesson-mb")),
    )
    app.add_middleware(  # outermost: refuses foreign Host/Origin, no token, before any body
        RequestGuard, allowed=allowed, reject=reject, token=token
    )

    @app.exception_handler(InputError)
    async def input_error(request: Request, exc: InputError) -> Response:
        return error(request, _status(exc), str(exc))

    @app.exception_handler(RequestValidationError)
    async def form_error(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{e['loc'][-1]}: {e['msg'].lower()}" for e in exc.errors() if e.get("loc")
        )  # e.g. "file: field required"
        return error(request, 400, f"the request is incomplete or malformed ({problems})")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        messages = {
            404: "Page or file not found.",
            405: "Method not allowed here.",
            413: f"Upload too large: the limit is {config.max_upload_mb:.0f} MiB.",
        }
        return error(request, exc.status_code, messages.get(exc.status_code, str(exc.detail)))

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse("/analyze", status_code=302)

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:  # browsers ask for it whatever the page links
        return FileResponse(HERE / "static" / "favicon.svg", media_type="image/svg+xml")

    add_analyze_routes(app, state, page)
    add_job_routes(app, state, page)
    add_lesson_routes(app, state, page)
    add_experiment_routes(app, state, page)
    add_model_routes(app, state, page)
    add_annotate_routes(app, state, page)
    return app
