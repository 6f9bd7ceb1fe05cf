"""Find result folders under a results root and list what each holds, for the Experiments page.

Nothing here computes metrics: it only recognises the folders the training, experiment and
fairness code write (run directories, grid/k-fold tables, bias reports) and lists their
tables, plots and reports.

* grid (``grid.json``: Table 2.2), kfold (``kfold.json``: Table 3.2), mitigation
  (``mitigate.json``: its ``report/`` holds Table 3.4)
* bias: ``report.json`` + ``groups.csv`` (table_3_3.csv, gaps.csv, plots/)
* run: ``config.json`` + ``log.csv`` (``val/`` and ``test/`` with metrics.json, confusion.png)
* tables: any other folder with CSV tables, plots or an HTML report

The run and experiment file names come from :mod:`aiducation.rundir`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.exceptions import HTTPException

from aiducation.csvfiles import read_csv
from aiducation.metrics import HEADLINE_METRICS as HEADLINE
from aiducation.rundir import (
    BEST_MODEL_FILE,
    CHECKPOINTS_DIR,
    LOG_FILE,
    MARKERS,
    PLOTS_DIR,
    RUN_FILES,
    SPLIT_FILE,
    RunDir,
)

SKIP_DIRS = frozenset({CHECKPOINTS_DIR, "__pycache__", "crops", "annotated"})
MEDIA_TYPES = {  # files served from the results folder; nothing else is
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".csv": "text/csv; charset=utf-8",
    ".json": "application/json",
    ".md": "text/markdown; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}
SHOWN_SUFFIXES = frozenset(MEDIA_TYPES)
MAX_ROWS = 200


@dataclass
class Table:
    """A CSV shown as an HTML table (at most ``MAX_ROWS`` rows)."""

    path: str  # relative to the results root
    columns: list[str]
    rows: list[list]
    total_rows: int


@dataclass
class Entry:
    """One result folder: its kind, headline metrics and the files worth showing."""

    path: str  # relative posix path under the results root ("." for the root itself)
    kind: str  # one of KIND_ORDER
    headline: dict[str, float] = field(default_factory=dict)
    images: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)  # shown as HTML tables
    downloads: list[str] = field(default_factory=list)  # per-image CSVs and logs: links only
    reports: list[str] = field(default_factory=list)  # HTML and Markdown reports
    has_log: bool = False
    note: str = ""  # e.g. the grid's model chosen on validation

    @property
    def name(self) -> str:
        return self.path if self.path != "." else "(results root)"


KIND_ORDER = ("grid", "kfold", "mitigation", "bias", "tables", "run")
PART_DIRS = (PLOTS_DIR, "val", "test", "report")  # sub-folders shown as part of their entry
PER_IMAGE_TABLES = frozenset({"predictions.csv", "oof_predictions.csv", "folds.csv", SPLIT_FILE})
LINKED_ONLY = PER_IMAGE_TABLES | {LOG_FILE}  # CSVs offered as downloads, not shown as tables
HISTORY_COLUMNS = frozenset({"epoch", "train_loss", "val_loss", "val_accuracy"})  # plot_history


def _kind(directory: Path) -> str | None:
    names = {p.name for p in directory.iterdir()}
    for marker, kind in MARKERS.items():
        if marker in names:
            return kind
    if names >= RUN_FILES:
        return "run"
    if {"report.json", "groups.csv"} <= names:
        return "bias"
    if any(Path(n).suffix in {".csv", ".png", ".html"} for n in names):
        return "tables"
    return None


def _files(directory: Path) -> list[Path]:
    """Files shown for an entry: its own, plus those in plots/, val/, test/ and report/."""
    folders = [directory, *(directory / d for d in PART_DIRS), directory / "report" / PLOTS_DIR]
    found = []
    for folder in folders:
        if folder.is_dir():
            found += sorted(
                p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
            )
    return [p for p in found if p.suffix.lower() in SHOWN_SUFFIXES]


def _headline(directory: Path) -> dict[str, float]:
    candidates = ("test/metrics.json", "metrics.json", "oof_metrics.json")  # run, eval, k-fold
    for candidate in (directory / c for c in candidates):
        if candidate.is_file():
            try:
                metrics = json.loads(candidate.read_text())
            except (OSError, ValueError):
                return {}
            return {
                k: float(metrics[k]) for k in HEADLINE if isinstance(metrics.get(k), int | float)
            }
    return {}


def _note(directory: Path) -> str:
    """The grid's best model (``best_model.json``: chosen on validation, never on test)."""
    try:
        best = json.loads((directory / BEST_MODEL_FILE).read_text())
        return f"best on validation: {best['model']} (val accuracy {best['val_accuracy']:.4f})"
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def describe(directory: Path, root: Path, kind: str) -> Entry:
    rel = lambda p: p.relative_to(root).as_posix()  # noqa: E731
    files = _files(directory)
    csvs = [p for p in files if p.suffix == ".csv"]
    return Entry(
        path=rel(directory) if directory != root else ".",
        kind=kind,
        headline=_headline(directory),
        images=[rel(p) for p in files if p.suffix in {".png", ".svg", ".jpg", ".jpeg"}],
        tables=[rel(p) for p in csvs if p.name not in LINKED_ONLY],
        downloads=[rel(p) for p in csvs if p.name in LINKED_ONLY],
        reports=[rel(p) for p in files if p.suffix in {".html", ".md"}],
        has_log=RunDir(directory).log.is_file(),
        note=_note(directory),
    )


def find_entries(root: str | Path, max_depth: int = 4) -> list[Entry]:
    """Result folders under ``root`` (depth-limited), runs first, then by path."""
    root = Path(root)
    if not root.is_dir():
        return []
    entries: list[Entry] = []
    stack = [(root, 0)]
    while stack:
        directory, depth = stack.pop()
        kind = _kind(directory)
        if kind is not None:
            entries.append(describe(directory, root, kind))
            if kind in ("run", "bias"):
                continue  # their sub-folders are part of them
        if depth < max_depth:
            children = sorted(p for p in directory.iterdir() if p.is_dir())
            own = frozenset(PART_DIRS if kind is not None else ())  # shown with their parent
            stack += [
                (p, depth + 1)
                for p in children
                if p.name not in SKIP_DIRS | own and not p.name.startswith(".")
            ]
    return sorted(entries, key=lambda e: (KIND_ORDER.index(e.kind), e.path))


def safe_path(root: str | Path, relative: str) -> Path | None:
    """``root / relative`` if it is an existing file inside ``root`` with a shown suffix."""
    root = Path(root).resolve()
    try:
        path = (root / relative).resolve()
    except (OSError, ValueError):
        return None
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path if path.suffix.lower() in SHOWN_SUFFIXES else None


def entry_at(root: str | Path, relative: str) -> Entry | None:
    """The entry for the folder ``relative`` under ``root``, or ``None`` if it is not one."""
    root = Path(root).resolve()
    directory = (root / relative).resolve()
    if not directory.is_relative_to(root) or not directory.is_dir():
        return None
    kind = _kind(directory)
    return describe(directory, root, kind) if kind else None


def read_table(root: str | Path, relative: str) -> Table | None:
    """The CSV at ``relative`` as a :class:`Table` (numbers rounded to 4 digits)."""
    path = safe_path(root, relative)
    if path is None or path.suffix != ".csv":
        return None
    try:
        frame = read_csv(path)  # as written: the spreadsheet escapes of our CSVs undone
    except (OSError, ValueError, pd.errors.ParserError):
        return None
    shown = frame.head(MAX_ROWS).round(4).astype(object).where(frame.head(MAX_ROWS).notna(), "")
    return Table(relative, [str(c) for c in frame.columns], shown.values.tolist(), len(frame))


def markdown_reports(root: str | Path, entry: Entry) -> list[tuple[str, object]]:
    """``(name in the entry, HTML)`` of its Markdown reports, ``report.md`` first."""
    from aiducation.web.markdown import markdown_to_html

    shown = []
    for relative in entry.reports:
        path = safe_path(root, relative)
        if path is not None and path.suffix == ".md":
            name = relative if entry.path == "." else relative[len(entry.path) + 1 :]
            shown.append((name, markdown_to_html(path.read_text(errors="replace"))))
    return sorted(shown, key=lambda item: Path(item[0]).name != "report.md")


def add_experiment_routes(app: FastAPI, state, page) -> None:
    """Register the Experiments pages (plain ``def``: FastAPI runs file reading and plotting in
    its thread pool) and the files of the results folder they link to."""
    config = state.config

    @app.get("/experiments", response_class=HTMLResponse)
    def experiments_page(request: Request) -> HTMLResponse:
        entries = find_entries(config.results)
        return page(request, "experiments.html", active="experiments", entries=entries,
                    results=config.results)  # fmt: skip

    @app.get("/experiments/view", response_class=HTMLResponse)
    def experiment_page(request: Request, path: str) -> HTMLResponse:
        entry = entry_at(config.results, path)
        if entry is None:
            raise HTTPException(404)
        tables = [t for t in (read_table(config.results, p) for p in entry.tables) if t]
        reports = markdown_reports(config.results, entry)
        inside = [
            e for e in find_entries(Path(config.results) / entry.path)
            if e.path != "."
        ]  # fmt: skip
        return page(request, "experiment.html", active="experiments", entry=entry,
                    tables=tables, reports=reports, inside=inside)  # fmt: skip

    @app.get("/results/{relative:path}")
    def result_file(relative: str) -> FileResponse:
        path = safe_path(config.results, relative)
        if path is None:
            raise HTTPException(404)
        return FileResponse(path, media_type=MEDIA_TYPES[path.suffix.lower()])

    @app.get("/experiments/history.png")
    def history_png(path: str) -> Response:
        """Training curves drawn from a run's current log.csv (works while it trains)."""
        from aiducation.figures import figure_png
        from aiducation.plots import plot_history

        log = safe_path(config.results, f"{path}/{LOG_FILE}")
        try:
            frame = read_csv(log) if log is not None else pd.DataFrame()
        except (OSError, ValueError):  # a log being written or damaged: no curves yet
            frame = pd.DataFrame()
        if frame.empty or not set(frame.columns) >= HISTORY_COLUMNS:
            raise HTTPException(404)
        frame = frame.apply(pd.to_numeric, errors="coerce").dropna(subset=["epoch"])
        if frame["val_accuracy"].isna().all():  # nothing to mark as best yet
            raise HTTPException(404)
        figure = plot_history(frame, title=path)  # drawn as written: no mathtext ($x_$)
        return Response(figure_png(figure, dpi=90), media_type="image/png")
