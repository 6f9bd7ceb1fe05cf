"""Limits shared by ``aiducation analyze``, the Python API and the web app.

Kept free of heavy imports, so the command-line flags can take their defaults from here.
"""

from __future__ import annotations

MAX_PIXELS = 50_000_000  # decoded pixels per picture or video frame (--max-megapixels)

# A picture or frame whose longer side is more than this many times its shorter side is refused:
# no classroom photo is shaped like that (wide panoramas are about 10:1), and a 60000×2 strip
# shrunk for face detection would have no rows left.
MAX_ASPECT = 100

# The largest picture *file* read: the bytes a picture at the pixel cap needs when stored
# uncompressed at 16 bits per channel RGB (6 bytes a pixel: a TIFF from a raw converter, the
# bulkiest layout a real photo comes in; 8-bit RGBA BMP/TIFF need 4), plus 16 MiB of metadata
# (EXIF thumbnails, ICC profiles, XMP). A larger file cannot be a picture within the cap, so it
# is refused from its size before any byte is read. 316 MB at the default cap; it follows
# --max-megapixels.
IMAGE_BYTES_PER_PIXEL = 6
IMAGE_METADATA_BYTES = 16 * 2**20


def max_image_bytes(max_pixels: int = MAX_PIXELS) -> int:
    """The largest picture file read when pictures may have up to ``max_pixels`` pixels."""
    return IMAGE_BYTES_PER_PIXEL * int(max_pixels) + IMAGE_METADATA_BYTES


MAX_IMAGE_BYTES = max_image_bytes(MAX_PIXELS)


def megapixels(pixels: float) -> str:
    """``50_000_000`` → ``"50"``, as the ``--max-megapixels`` flags take it."""
    return f"{pixels / 1e6:g}"
