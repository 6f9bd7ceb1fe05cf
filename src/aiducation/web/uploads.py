"""Upload checks for the web app: a size limit and a media type sniffed from the file's bytes.

The browser-supplied content type and file name are never trusted alone: the first bytes must
look like a supported image or video container.
"""

from __future__ import annotations

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


class UploadLimitMiddleware:
    """ASGI middleware: a request body over ``max_bytes`` fails with 413 while it is read.

    A too-large ``Content-Length`` is refused at the first read, before any byte is parsed;
    bodies without one are counted as they arrive.
    """

    def __init__(self, app, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope.get("method") not in ("POST", "PUT"):
            await self.app(scope, receive, send)
            return
        from starlette.exceptions import HTTPException

        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length", b"").decode() or "0"
        seen = 0

        async def limited_receive():
            nonlocal seen
            if not declared.isdigit() or int(declared) > self.max_bytes:
                raise HTTPException(413)
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise HTTPException(413)
            return message

        await self.app(scope, limited_receive, send)
