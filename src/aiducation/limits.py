"""Limits shared by ``aiducation analyze``, the Python API and the web app.

Kept free of heavy imports, so the command-line flags can take their defaults from here.
"""

from __future__ import annotations

MAX_PIXELS = 50_000_000  # decoded pixels per picture or video frame (--max-megapixels)


def megapixels(pixels: float) -> str:
    """``50_000_000`` → ``"50"``, as the ``--max-megapixels`` flags take it."""
    return f"{pixels / 1e6:g}"
