"""Decoding pictures safely: the pixel cap shared by ``analyze``, the Python API and the web app.

A small file can claim a huge picture (a 29-byte GIF of 60000×60000, a 389 KB PNG of
20000×20000: a *decompression bomb*). The size in the header is checked against
:data:`aiducation.limits.MAX_PIXELS` (``--max-megapixels``) before any pixel is decoded;
``video.open_video`` checks video frame sizes against the same cap.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from aiducation.errors import InputError
from aiducation.limits import MAX_PIXELS, megapixels

IMAGE_FORMATS = "JPEG, PNG, GIF, WebP, BMP or TIFF"
_PIL_ERRORS = (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError)


def check_pixels(
    name: str, width: int, height: int, max_pixels: int = MAX_PIXELS, what: str = "picture"
) -> None:
    """Raise :class:`InputError` naming ``name`` if ``width``×``height`` exceeds the cap."""
    if width * height > max_pixels:
        raise InputError(
            f"{name}: {what} of {width}×{height} pixels is too large (at most "
            f"{megapixels(max_pixels)} megapixels, see --max-megapixels); scale it down"
        )


def _header_size(data: bytes, name: str, max_pixels: int) -> tuple[int, int] | None:
    """``(width, height)`` from the header (nothing decoded), ``None`` if Pillow lacks it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as pil:
                return pil.size
    except Image.DecompressionBombError:  # Pillow's own limit, above ours unless raised
        limit = min(max_pixels, 2 * (Image.MAX_IMAGE_PIXELS or max_pixels))
        raise InputError(
            f"{name}: picture of more than {megapixels(limit)} megapixels is too large "
            "(see --max-megapixels); scale it down"
        ) from None
    except _PIL_ERRORS:
        return None


def decode_image(data: bytes, name: str, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """BGR ``uint8`` pixels of an encoded picture held in memory; ``name`` is used in errors.

    The size in the header is checked first, so a decompression bomb allocates nothing.
    Damaged, empty or unsupported data raises :class:`InputError`.
    """
    if not data:
        raise InputError(f"{name}: empty file, expected an image ({IMAGE_FORMATS})")
    unreadable = f"{name}: not a readable image (damaged, or not {IMAGE_FORMATS})"
    size = _header_size(data, name, max_pixels)
    if size is not None:
        check_pixels(name, *size, max_pixels)
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    except cv2.error as exc:  # e.g. over OpenCV's own pixel limit
        raise InputError(f"{unreadable}; OpenCV: {exc.err}") from None
    if image is None and size is not None:  # formats OpenCV lacks: Pillow decodes them
        try:
            with Image.open(io.BytesIO(data)) as pil:
                image = cv2.cvtColor(np.asarray(pil.convert("RGB")), cv2.COLOR_RGB2BGR)
        except _PIL_ERRORS:
            image = None
    if image is None:
        raise InputError(unreadable)
    if image.size == 0:
        raise InputError(f"{name}: image has no pixels")
    check_pixels(name, image.shape[1], image.shape[0], max_pixels)  # header Pillow could not read
    return image


def read_image(path: str | Path, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read an image file as BGR ``uint8``; unreadable, empty or too large files raise
    :class:`InputError` (the pixel cap is checked in the header, before decoding)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such image file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return decode_image(data, str(path), max_pixels)
