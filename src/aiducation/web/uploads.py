"""Upload checks for the web app: a size limit and a media type sniffed from the file's bytes.

The browser-supplied content type and file name are never trusted alone: the first bytes must
look like a supported image or video container.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

from aiducation.errors import InputError

IMAGE_KINDS = ("jpeg", "png", "gif", "webp", "bmp")
VIDEO_KINDS = ("mp4", "webm", "avi")
ACCEPTED_SUFFIXES = [
    ".jpg",
    ".jpeg",
    ".png",
    ".gif",
    ".webp",
    ".bmp",
    ".mp4",
    ".m4v",
    ".mov",
    ".webm",
    ".mkv",
    ".avi",
]


class UploadTooLarge(InputError):
    """The upload exceeds the server's size limit (HTTP 413)."""


class UnsupportedMedia(InputError):
    """The upload is not a supported image or video (HTTP 415)."""


@dataclass(frozen=True)
class CheckedUpload:
    """An accepted upload held in memory: its name, bytes, sniffed kind and media type."""

    name: str
    data: bytes
    kind: str  # one of IMAGE_KINDS or VIDEO_KINDS

    @property
    def is_video(self) -> bool:
        return self.kind in VIDEO_KINDS

    @property
    def suffix(self) -> str:
        return {"jpeg": ".jpg", "mp4": ".mp4", "webm": ".webm", "avi": ".avi"}.get(
            self.kind, f".{self.kind}"
        )


def sniff_kind(head: bytes) -> str | None:
    """Media kind from a file's first bytes (magic numbers), or ``None`` if unsupported."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head.startswith(b"BM") and len(head) >= 14:
        return "bmp"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    if head[4:8] == b"ftyp":  # MP4, MOV, M4V (ISO base media)
        return "mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # Matroska / WebM
        return "webm"
    return None


def check_upload(name: str, data: bytes, max_bytes: int) -> CheckedUpload:
    """Accept ``data`` if it is non-empty, at most ``max_bytes`` and a supported image/video."""
    label = name or "upload"
    if len(data) > max_bytes:
        raise UploadTooLarge(
            f"{label}: file is larger than the {max_bytes / 2**20:.0f} MiB upload limit"
        )
    if not data:
        raise InputError(f"{label}: the file is empty; choose a photo or a short video")
    kind = sniff_kind(data[:32])
    if kind is None:
        raise UnsupportedMedia(
            f"{label}: not a supported image or video (expected JPEG, PNG, GIF, WebP, BMP, "
            "MP4/MOV, WebM/MKV or AVI)"
        )
    return CheckedUpload(name=label, data=data, kind=kind)


class BodyTooLarge(Exception):
    """Raised to the app by :class:`BodyLimitMiddleware`'s ``receive`` past the limit."""


class BodyLimitMiddleware:
    """ASGI middleware: a request body over ``max_bytes`` gets HTTP 413, reading no more of it.

    A too-large ``Content-Length`` is refused before the app runs and before any body byte is
    read. A body without one (chunked, streamed) is counted as its ``http.request`` messages
    arrive: the message that passes the limit is not handed on; the app's ``receive`` raises
    :class:`BodyTooLarge` instead (and reports a disconnect after), its answer to that is
    dropped, and the 413 goes out instead. Either 413 says ``Connection: close``, so the
    server closes the connection rather than read the rest of the body. A body whose next part
    does not arrive within ``idle_timeout`` seconds gets HTTP 408 the same way (a stalled
    client holds no worker). ``reject(scope, status, message)`` builds the error response.
    ``routes`` gives paths their own limit and the option that sets it (the whole-lesson
    upload: ``{"/jobs": (8 GiB, "--max-lesson-mb")}``); every other path has ``max_bytes``.
    """

    def __init__(
        self,
        app,
        max_bytes: int,
        reject,
        idle_timeout: float | None = 60.0,
        routes: Mapping[str, tuple[int, str]] | None = None,
    ) -> None:
        self.app, self.max_bytes, self.reject = app, max_bytes, reject
        self.idle_timeout = idle_timeout
        self.routes = dict(routes or {})

    def limit(self, scope) -> tuple[int, str]:
        """The body limit of a request's path, and the option that sets it."""
        return self.routes.get(scope.get("path", ""), (self.max_bytes, "--max-upload-mb"))

    def too_large(self, limit: tuple[int, str] | None = None) -> str:
        max_bytes, option = limit or (self.max_bytes, "--max-upload-mb")
        return (
            f"Upload too large: the limit is {max_bytes / 2**20:.0f} MiB for the whole "
            f"request (see {option})"
        )

    async def refuse(self, scope, send, status: int, message: str) -> None:
        response = self.reject(scope, status, message)
        response.headers["connection"] = "close"

        async def no_body():  # the response must not read the request body either
            return {"type": "http.disconnect"}

        await response(scope, no_body, send)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit(scope)
        max_bytes = limit[0]
        declared = dict(scope.get("headers") or []).get(b"content-length", b"").strip()
        if declared.isdigit() and int(declared) > max_bytes:
            await self.refuse(scope, send, 413, self.too_large(limit))
            return
        seen = 0
        refusal: tuple[int, str] | None = None
        started = body_done = False

        async def limited_receive():
            nonlocal seen, refusal, body_done
            if refusal is not None:
                return {"type": "http.disconnect"}
            if body_done:  # e.g. a streaming response waiting for a disconnect
                return await receive()
            try:
                if self.idle_timeout is None:
                    message = await receive()
                else:
                    message = await asyncio.wait_for(receive(), self.idle_timeout)
            except TimeoutError:
                refusal = (408, f"the upload stalled: no data for {self.idle_timeout:g} s")
                raise BodyTooLarge(refusal[1]) from None
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > max_bytes:
                    refusal = (413, self.too_large(limit))
                    raise BodyTooLarge(refusal[1])
                body_done = not message.get("more_body", False)
            return message

        async def guarded_send(message) -> None:
            nonlocal started
            if refusal is not None and not started:
                return  # the app's answer to the interrupted body: ours replaces it
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if refusal is None:
                raise
        if refusal is not None and not started:
            await self.refuse(scope, send, *refusal)
