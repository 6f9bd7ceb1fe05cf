"""The whole-lesson upload: a multipart body streamed to a private file, never held in memory.

A lesson recording is gigabytes, so ``POST /jobs`` does not let FastAPI spool the form:
:func:`receive_lesson` parses the request body as it arrives (python-multipart's streaming
parser) and writes the file part, 1 MiB at a time from a worker thread, to a new file that
only the server's user may read (0600) in the server's recordings folder. Its first bytes must
be a video container (checked before the rest is stored); the few text fields (the lesson's
name, course and date, the switches) are kept, each at most :data:`MAX_FIELD_BYTES`. The body
limit is the route's own (``--max-lesson-mb``, :class:`~aiducation.web.uploads.
BodyLimitMiddleware`); a body that would leave less than :data:`FREE_SPACE_RESERVE` bytes of
disk free is refused before it is stored. Whatever goes wrong (a disconnect, the limit, bad
input) removes the partial file; a complete one is flushed to disk and renamed into place.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, MultipartState, parse_options_header

from aiducation.errors import InputError
from aiducation.web.uploads import VIDEO_KINDS, UnsupportedMedia, sniff_kind

MAX_FIELD_BYTES = 1024  # a text field of the form (a lesson name is at most 200 characters)
MAX_FIELDS = 16
WRITE_BYTES = 1 << 20  # written to disk in pieces of about this size
FREE_SPACE_RESERVE = 512 * 2**20  # a recording may not fill the disk beyond this
PARTIAL_PREFIX = ".upload-"  # an upload still arriving (removed at start if a crash left it)
SUFFIXES = {"mp4": ".mp4", "webm": ".webm", "avi": ".avi"}


class NoSpace(InputError):
    """The recording does not fit on the server's disk (HTTP 507)."""


@dataclass
class ReceivedLesson:
    """A whole-lesson upload stored on disk: the recording and the form's text fields."""

    path: Path  # the recording (0600) in the recordings folder
    filename: str  # the name the browser gave (no folders)
    kind: str  # the sniffed container (one of VIDEO_KINDS)
    size: int  # bytes
    fields: dict[str, str] = field(default_factory=dict)


class _Body:
    """The multipart parser's callbacks: one file part to disk, text fields in memory."""

    def __init__(self, file_field: str) -> None:
        self.file_field = file_field
        self.header_field, self.header_value = bytearray(), bytearray()
        self.headers: dict[str, bytes] = {}
        self.name: str | None = None
        self.filename: str | None = None
        self.in_file = False
        self.pending = bytearray()  # file bytes not yet written
        self.head = bytearray()  # the file's first bytes, for sniffing
        self.kind: str | None = None
        self.size = 0
        self.files = 0
        self.value = bytearray()
        self.fields: dict[str, str] = {}

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self.part_begin,
            "on_header_field": lambda data, start, end: self.header_field.extend(data[start:end]),
            "on_header_value": lambda data, start, end: self.header_value.extend(data[start:end]),
            "on_header_end": self.header_end,
            "on_headers_finished": self.headers_finished,
            "on_part_data": self.part_data,
            "on_part_end": self.part_end,
        }

    def part_begin(self) -> None:
        self.headers, self.name, self.filename, self.in_file = {}, None, None, False
        self.value = bytearray()

    def header_end(self) -> None:
        self.headers[bytes(self.header_field).decode("latin-1").lower()] = bytes(self.header_value)
        self.header_field, self.header_value = bytearray(), bytearray()

    def headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get("content-disposition", b""))
        name = options.get(b"name")
        self.name = None if name is None else name.decode("utf-8", "replace")
        filename = options.get(b"filename")
        if filename is not None:
            if self.name != self.file_field or self.files:
                raise InputError(
                    f"a whole-lesson upload takes one file, in the field {self.file_field!r}"
                )
            self.files += 1
            self.in_file = True
            self.filename = PurePath(filename.decode("utf-8", "replace").replace("\\", "/")).name
        elif len(self.fields) >= MAX_FIELDS:
            raise InputError(f"the form has more than {MAX_FIELDS} fields")

    def part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if not self.in_file:
            self.value.extend(chunk)
            if len(self.value) > MAX_FIELD_BYTES:
                raise InputError(f"{self.name}: longer than {MAX_FIELD_BYTES} bytes")
            return
        if self.kind is None and len(self.head) < 32:
            self.head.extend(chunk[: 32 - len(self.head)])
            if len(self.head) >= 32:
                self.sniff()
        self.pending.extend(chunk)
        self.size += len(chunk)

    def sniff(self) -> None:
        kind = sniff_kind(bytes(self.head))
        if kind not in VIDEO_KINDS:
            raise UnsupportedMedia(
                f"{self.filename or 'upload'}: not a video (expected an MP4/MOV, WebM/MKV or "
                "AVI recording of the lesson)"
            )
        self.kind = kind

    def part_end(self) -> None:
        if self.in_file:
            if self.kind is None:
                if not self.head:
                    raise InputError(f"{self.filename or 'upload'}: the file is empty")
                self.sniff()  # shorter than 32 bytes: still not a video
            self.in_file = False
        elif self.name is not None:
            self.fields[self.name] = bytes(self.value).decode("utf-8", "replace")


def boundary_of(content_type: str) -> bytes:
    """The multipart boundary of a ``Content-Type`` header (one clear line if it is not one)."""
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise InputError(
            "expected a form upload (multipart/form-data) with the recording in the field 'file'"
        )
    return boundary


def check_free_space(folder: Path, declared: int | None) -> None:
    """Refuse a body that would leave less than the reserve free on ``folder``'s disk
    (``declared``: its Content-Length, or 0 for what is still to come)."""
    free = shutil.disk_usage(folder).free
    if declared is not None and free - declared < FREE_SPACE_RESERVE:
        raise NoSpace(
            f"the server's disk has {free / 2**30:.1f} GiB free, too little for this "
            f"{declared / 2**30:.1f} GiB upload (or the rest of it) and "
            f"{FREE_SPACE_RESERVE / 2**20:.0f} MiB to spare; free some space, or use a smaller "
            "recording"
        )


async def receive_lesson(request, folder: Path, file_field: str = "file") -> ReceivedLesson:
    """Stream ``request``'s multipart body into a new private recording in ``folder``."""
    boundary = boundary_of(request.headers.get("content-type", ""))
    declared = request.headers.get("content-length", "")
    check_free_space(folder, int(declared) if declared.isdigit() else None)
    body = _Body(file_field)
    parser = MultipartParser(boundary, body.callbacks())
    partial = folder / f"{PARTIAL_PREFIX}{secrets.token_hex(8)}"
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    output = os.fdopen(descriptor, "wb")
    try:
        async for chunk in request.stream():
            _parse(parser, chunk)
            if len(body.pending) >= WRITE_BYTES:
                data = bytes(body.pending)
                body.pending.clear()
                await asyncio.to_thread(output.write, data)
                check_free_space(folder, 0)  # a body without Content-Length: checked as it comes
        if parser.state is not MultipartState.END:  # the body stopped before its end
            raise InputError("the upload ended early: the form data is incomplete; send it again")
        if not body.files:
            raise InputError(f"no recording: the form's field {file_field!r} holds no file")
        data = bytes(body.pending)
        body.pending.clear()
        await asyncio.to_thread(_finish, output, data)
        path = folder / f"{partial.name.removeprefix(PARTIAL_PREFIX)}{SUFFIXES[body.kind]}"
        os.replace(partial, path)
    except BaseException:
        output.close()
        partial.unlink(missing_ok=True)
        raise
    return ReceivedLesson(path, body.filename or f"recording{path.suffix}", body.kind, body.size,
                          body.fields)  # fmt: skip


def _parse(parser: MultipartParser, chunk: bytes) -> None:
    try:
        parser.write(chunk)
    except MultipartParseError as exc:
        raise InputError(f"the upload's form data is malformed ({exc})") from None


def _finish(output, data: bytes) -> None:
    """Write the last bytes, flush them to the disk (a queued job survives a crash) and close."""
    try:
        output.write(data)
        output.flush()
        os.fsync(output.fileno())
    finally:
        output.close()
