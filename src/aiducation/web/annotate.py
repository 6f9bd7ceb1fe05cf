"""The Annotate page: the attribute-labelling workflow of :mod:`aiducation.fairness.annotate`
in the browser: one :class:`AnnotationSession` per attribute, all writing the same CSV.

Attributes come from a small JSON config (``aiducation serve --attributes FILE``)::

    {"attributes": {"gender": ["female", "male"], "age": ["adult", "child"]},
     "per_class": 100, "splits": ["train", "val", "test"], "seed": 0}

Keys ``1``..``9`` pick a choice, ``c`` means cannot tell; the page works without JavaScript too.
"""

from __future__ import annotations

import io
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from aiducation.errors import InputError

DEFAULT_ATTRIBUTES = {"gender": ("female", "male"), "age": ("adult", "child")}


@dataclass
class AnnotateConfig:
    """Which attributes to label, with which choices, on which class-stratified sample."""

    attributes: dict[str, tuple[str, ...]] = field(default_factory=lambda: DEFAULT_ATTRIBUTES)
    per_class: int = 100  # images per class in the sample
    splits: tuple[str, ...] = ("train", "val", "test")
    seed: int = 0  # seed of the sample (keep it to resume)


def read_annotate_config(path: str | Path | None) -> AnnotateConfig:
    """The attribute config at ``path`` (``None``: gender and age); bad files raise InputError."""
    if path is None:
        return AnnotateConfig()
    try:
        raw = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"--attributes {path}: not a readable JSON file ({exc})") from exc
    attributes = raw.get("attributes") if isinstance(raw, dict) else None
    if not isinstance(attributes, dict) or not attributes:
        raise InputError(f'--attributes {path}: expected {{"attributes": {{"name": [choices]}}}}')
    for name, choices in attributes.items():
        if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
            raise InputError(f"--attributes {path}: {name!r} needs a list of choice words")
    try:
        return AnnotateConfig(
            attributes={k: tuple(v) for k, v in attributes.items()},
            per_class=int(raw.get("per_class", 100)),
            splits=tuple(raw.get("splits", ("train", "val", "test"))),
            seed=int(raw.get("seed", 0)),
        )
    except (TypeError, ValueError) as exc:
        raise InputError(f"--attributes {path}: {exc}") from exc


class Annotator:
    """One annotation session per attribute over one prepared dataset and one CSV."""

    def __init__(self, dataset, out: str | Path, config: AnnotateConfig) -> None:
        from aiducation.fairness.annotate import AnnotationSession

        self.dataset, self.out, self.config = dataset, Path(out), config
        self.lock = threading.Lock()  # one CSV rewrite at a time (csv_lock: across processes)
        self.sessions = {
            name: AnnotationSession(
                dataset, self.out, name, choices, config.per_class, config.splits, config.seed
            )
            for name, choices in config.attributes.items()
        }

    @classmethod
    def load(cls, data: str | Path, out: str | Path, config_path: str | Path | None) -> Annotator:
        from aiducation.data.dataset import load_prepared

        try:
            dataset = load_prepared(data, mmap=True)
        except (FileNotFoundError, ValueError) as exc:
            raise InputError(f"--data {data}: {exc}") from exc
        return cls(dataset, out, read_annotate_config(config_path))

    def session(self, attribute: str):
        if attribute not in self.sessions:
            raise HTTPException(404)
        return self.sessions[attribute]

    def face_png(self, row: int) -> bytes:
        """The 48×48 face of dataset row ``row`` as PNG (only rows of a sample are served)."""
        from PIL import Image

        if not any(row in s.queue for s in self.sessions.values()):
            raise HTTPException(404)
        buffer = io.BytesIO()
        Image.fromarray(self.dataset.images[row]).save(buffer, format="PNG")
        return buffer.getvalue()


def add_annotate_routes(app: FastAPI, state, page) -> None:
    """Register the Annotate page's routes; ``state.annotator()`` builds the annotator."""
    from aiducation.fairness.annotate import UNSURE

    # Plain ``def`` handlers: FastAPI runs them in its thread pool, so reading and rewriting
    # the CSV never blocks the event loop (or waits behind a running video analysis).
    @app.get("/annotate", response_class=HTMLResponse)
    def annotate_page(request: Request, attribute: str | None = None) -> HTMLResponse:
        annotator = state.annotator()
        if annotator is None:
            return page(request, "annotate.html", active="annotate", annotator=None)
        attribute = attribute or next(iter(annotator.sessions))
        session = annotator.session(attribute)
        row = session.next_item()
        done, total = session.progress()
        meta = None if row is None else annotator.dataset.meta.iloc[row]
        return page(
            request, "annotate.html", active="annotate", annotator=annotator,
            attribute=attribute, session=session, row=row, meta=meta, done=done, total=total,
            unsure=UNSURE, progress={a: s.progress() for a, s in annotator.sessions.items()},
        )  # fmt: skip

    @app.post("/annotate/{attribute}")
    def annotate_label(
        attribute: str, row: Annotated[int, Form()], value: Annotated[str, Form()]
    ) -> RedirectResponse:
        annotator = state.annotator()
        if annotator is None:
            raise HTTPException(404)
        session = annotator.session(attribute)
        if not 0 <= row < len(annotator.dataset.meta) or row not in session.queue:
            raise InputError(f"row {row} is not in the {attribute} sample")
        with annotator.lock:  # and a lock file against other processes (`aiducation annotate`)
            session.record(row, value, exists_ok=True)  # a repeated submit changes nothing
        return RedirectResponse(f"/annotate?attribute={attribute}", status_code=303)

    @app.get("/annotate/face/{row}.png")
    def annotate_face(row: int) -> Response:
        annotator = state.annotator()
        if annotator is None:
            raise HTTPException(404)
        return Response(annotator.face_png(row), media_type="image/png")

    @app.get("/annotate/attributes.csv")
    def annotate_csv() -> FileResponse:
        annotator = state.annotator()
        if annotator is None or not annotator.out.is_file():
            raise HTTPException(404)
        return FileResponse(annotator.out, media_type="text/csv", filename=annotator.out.name)
