"""Saving matplotlib figures: the one saver behind every plot file and every picture served."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from aiducation.atomic import atomic_file


def save_figure(fig: Figure, path: str | Path, dpi: int = 120, **savefig) -> Path:
    """Write ``fig`` atomically (format from the suffix) and close it."""
    try:
        with atomic_file(path) as tmp:
            fig.savefig(tmp, dpi=dpi, **savefig)
    finally:
        plt.close(fig)
    return Path(path)


def figure_png(fig: Figure, dpi: int = 100) -> bytes:
    """``fig`` as PNG bytes (for a page or a download), closing it."""
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=dpi)
    finally:
        plt.close(fig)
    return buffer.getvalue()
