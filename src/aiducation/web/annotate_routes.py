"""Annotate page routes (placeholder until the annotation library lands)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse


def add_annotate_routes(app: FastAPI, state, page) -> None:
    @app.get("/annotate", response_class=HTMLResponse)
    async def annotate_page(request: Request) -> HTMLResponse:
        return page(request, "error.html", 503, status=503, message="annotation not ready")
