"""How the pages write a length of time."""

from __future__ import annotations

import math


def clock(seconds: float | None) -> str:
    """``1 h 02 min``, ``47 min`` (from ten minutes on), ``3 min 05 s``, ``12 s``; ``–`` for
    unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "–"
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes >= 10:
        return f"{minutes} min"
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"
