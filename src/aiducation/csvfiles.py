"""CSV files safe to open in a spreadsheet (the OWASP CSV-injection rule), read back exactly.

Teachers open faces.csv or students.csv in Excel or LibreOffice, where a cell starting with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula: a file named
``=HYPERLINK(...).jpg`` would become a live link. Every CSV this package writes goes through
:func:`to_csv`, which prefixes such text cells (and column names) with ``'``, the spreadsheet's
"this is text" mark; text that itself starts with ``'`` followed by one of those characters or
another ``'`` gets one more ``'``, so :func:`read_csv` restores every value exactly. Numbers
(negative ones too) are left alone; JSON outputs are never escaped.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def escape_cell(value: object) -> object:
    """``value`` with a leading ``'`` when a spreadsheet would read it as a formula."""
    if not isinstance(value, str) or not value:
        return value
    if value[0] in FORMULA_STARTS or (value[0] == QUOTE and value[1:2] in (*FORMULA_STARTS, QUOTE)):
        return QUOTE + value
    return value


def unescape_cell(value: object) -> object:
    """Inverse of :func:`escape_cell`."""
    if isinstance(value, str) and value[:1] == QUOTE and value[1:2] in (*FORMULA_STARTS, QUOTE):
        return value[1:]
    return value


def _map_text(frame: pd.DataFrame, cell) -> pd.DataFrame:
    frame = frame.copy()
    for column in frame.columns:
        if frame[column].dtype == object or isinstance(frame[column].dtype, pd.StringDtype):
            frame[column] = frame[column].map(cell)
    names = [cell(name) for name in frame.columns]
    if isinstance(frame.columns, pd.MultiIndex) or names == list(frame.columns):
        return frame
    frame.columns = names
    return frame


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names are escaped (:func:`escape_cell`)."""
    frame = _map_text(frame, escape_cell)
    if frame.index.dtype == object:
        frame.index = frame.index.map(escape_cell)
    return frame


def to_csv(frame: pd.DataFrame, path: str | Path | None = None, **kwargs) -> str | None:
    """``frame.to_csv`` with formula-like text escaped; ``index=False`` unless given."""
    kwargs.setdefault("index", False)
    return spreadsheet_safe(frame).to_csv(path, **kwargs)


def read_csv(path, **kwargs) -> pd.DataFrame:
    """``pd.read_csv`` undoing :func:`to_csv`'s escapes (files without escapes read as is)."""
    return _map_text(pd.read_csv(path, **kwargs), unescape_cell)


def write_csv(frame: pd.DataFrame, path: str | Path, **kwargs) -> Path:
    """Write ``frame`` with :func:`to_csv` atomically (a temporary file, then a rename)."""
    from aiducation.atomic import atomic_file

    with atomic_file(path) as tmp:
        to_csv(frame, tmp, **kwargs)
    return Path(path)
