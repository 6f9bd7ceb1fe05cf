"""Markdown tables: the one writer behind every ``.md`` table and the tables printed by commands."""

from __future__ import annotations

import numpy as np
import pandas as pd


def markdown_table(
    frame: pd.DataFrame, digits: int = 4, *, index: bool = False, thousands: bool = False
) -> str:
    """A GitHub Markdown table of ``frame``: floats rounded to ``digits``, missing values blank;
    ``index`` adds the index as the first column, ``thousands`` writes integers as ``3,954``."""
    if index:
        frame = frame.reset_index(names=str(frame.index.name or ""))

    def cell(value) -> str:
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return ""
        if isinstance(value, float | np.floating):
            return f"{value:.{digits}f}"
        if thousands and isinstance(value, int | np.integer):
            return f"{value:,}"
        return str(value)

    lines = [
        "| " + " | ".join(map(str, frame.columns)) + " |",
        "|" + "|".join("---" for _ in frame.columns) + "|",
        *("| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(False)),
    ]
    return "\n".join(lines) + "\n"
