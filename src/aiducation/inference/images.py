"""Decoding pictures safely: the pixel cap shared by ``analyze``, the Python API and the web app.

A small file can claim a huge picture (a 29-byte GIF of 60000×60000, a 389 KB PNG of
20000×20000: a *decompression bomb*), and a huge file can be no picture at all. Before any pixel
is decoded, and before a file is read whole:

1. the file's size is checked against :func:`aiducation.limits.max_image_bytes` (316 MB at the
   default cap: more than any picture within the pixel cap needs), from the file system;
2. Pillow reads the header alone (``Image.open`` is lazy: a few hundred bytes for a PNG or an
   RLE-compressed BMP) and the size it claims is checked against
   :data:`aiducation.limits.MAX_PIXELS` (``--max-megapixels``) and
   :data:`aiducation.limits.MAX_ASPECT`;
3. only then are the bytes read and decoded, by OpenCV (Pillow for what OpenCV lacks).

A file whose header Pillow cannot read is refused as unreadable: its size is unknown, so it is
never handed to OpenCV (whose own limit is a billion pixels). ``video.open_video`` checks video
frame sizes against the same caps.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from aiducation.errors import InputError
from aiducation.limits import MAX_ASPECT, MAX_PIXELS, max_image_bytes, megapixels

IMAGE_FORMATS = "JPEG, PNG, GIF, WebP, BMP or TIFF"
_PIL_ERRORS = (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError)


def check_pixels(
    name: str, width: int, height: int, max_pixels: int = MAX_PIXELS, what: str = "picture"
) -> None:
    """Raise :class:`InputError` naming ``name`` if ``width``×``height`` exceeds the pixel cap,
    or one side is more than :data:`MAX_ASPECT` times the other (unknown sizes, 0, pass)."""
    if width * height > max_pixels:
        raise InputError(
            f"{name}: {what} of {width}×{height} pixels is too large (at most "
            f"{megapixels(max_pixels)} megapixels, see --max-megapixels); scale it down"
        )
    short, long = sorted((width, height))
    if short > 0 and long > MAX_ASPECT * short:
        raise InputError(
            f"{name}: {what} of {width}×{height} pixels is too elongated (one side more than "
            f"{MAX_ASPECT} times the other); crop it"
        )


def _megabytes(size: int) -> str:
    return f"{size / 1e6:,.1f} MB"


def check_file_size(name: str, size: int, max_pixels: int = MAX_PIXELS) -> None:
    """Raise :class:`InputError` naming ``name`` if a picture file of ``size`` bytes is larger
    than any picture within ``max_pixels`` can be (:func:`aiducation.limits.max_image_bytes`)."""
    limit = max_image_bytes(max_pixels)
    if size > limit:
        raise InputError(
            f"{name}: file of {_megabytes(size)} is too large for a picture (at most "
            f"{_megabytes(limit)} at {megapixels(max_pixels)} megapixels, see --max-megapixels)"
        )


def _header_size(file: BinaryIO, name: str, max_pixels: int) -> tuple[int, int] | None:
    """``(width, height)`` from the header (nothing decoded), ``None`` if Pillow lacks it.

    ``Image.open`` reads the header only; pixels are decoded on first access, never here.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(file) as pil:
                return pil.size
    except Image.DecompressionBombError:  # Pillow's own limit, above ours unless raised
        limit = min(max_pixels, 2 * (Image.MAX_IMAGE_PIXELS or max_pixels))
        raise InputError(
            f"{name}: picture of more than {megapixels(limit)} megapixels is too large "
            "(see --max-megapixels); scale it down"
        ) from None
    except _PIL_ERRORS:
        return None


def _checked_header(file: BinaryIO, name: str, max_pixels: int) -> tuple[int, int]:
    """The header's size, checked against the caps; an unreadable header is an error."""
    size = _header_size(file, name, max_pixels)
    if size is None:  # size unknown: never handed to OpenCV, whatever it would allocate
        raise InputError(_unreadable(name))
    check_pixels(name, *size, max_pixels)
    return size


def _unreadable(name: str) -> str:
    return f"{name}: not a readable image (damaged, or not {IMAGE_FORMATS})"


def _empty(name: str) -> str:
    return f"{name}: empty file, expected an image ({IMAGE_FORMATS})"


def decode_image(data: bytes, name: str, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """BGR ``uint8`` pixels of an encoded picture held in memory; ``name`` is used in errors.

    The byte count and the size in the header are checked first, so a decompression bomb
    allocates nothing. Damaged, empty or unsupported data raises :class:`InputError`.
    """
    if not data:
        raise InputError(_empty(name))
    check_file_size(name, len(data), max_pixels)
    _checked_header(io.BytesIO(data), name, max_pixels)
    return _decode(data, name, max_pixels)


def _decode(data: bytes, name: str, max_pixels: int) -> np.ndarray:
    """Decode ``data`` whose header Pillow read and the caps accepted."""
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    except cv2.error as exc:  # e.g. over OpenCV's own pixel limit
        raise InputError(f"{_unreadable(name)}; OpenCV: {exc.err}") from None
    if image is None:  # formats OpenCV lacks: Pillow decodes them
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                with Image.open(io.BytesIO(data)) as pil:
                    image = cv2.cvtColor(np.asarray(pil.convert("RGB")), cv2.COLOR_RGB2BGR)
        except (*_PIL_ERRORS, Image.DecompressionBombError):
            image = None
    if image is None:
        raise InputError(_unreadable(name))
    if image.size == 0:
        raise InputError(f"{name}: image has no pixels")
    check_pixels(name, image.shape[1], image.shape[0], max_pixels)  # a header that lied
    return image


def read_image(path: str | Path, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read an image file as BGR ``uint8``; unreadable, empty or too large files raise
    :class:`InputError`.

    The file's size (from the file system) and the picture size in its header (Pillow reads the
    header alone) are checked before the file is read whole, so neither a decompression bomb
    nor a multi-gigabyte file costs more than a few kilobytes of reading.
    """
    path = Path(path)
    name = str(path)
    if not path.is_file():
        raise InputError(f"{path}: no such image file")
    try:
        with path.open("rb") as file:
            size = os.fstat(file.fileno()).st_size
            if size == 0:
                raise InputError(_empty(name))
            check_file_size(name, size, max_pixels)
            _checked_header(file, name, max_pixels)
            file.seek(0)
            limit = max_image_bytes(max_pixels)
            data = file.read(limit + 1)  # bounded even if the file grew since
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not data:
        raise InputError(_empty(name))
    check_file_size(name, len(data), max_pixels)
    return _decode(data, name, max_pixels)
