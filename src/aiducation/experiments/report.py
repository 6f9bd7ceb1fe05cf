"""One self-contained HTML report: dataset, runs, Table 2.2, Table 3.2, plots, bias tables.

Everything is inline (CSS, PNGs as base64 data URIs), so the file reads offline and can be
mailed around. Sections whose inputs are missing say which command produces them.
:func:`render_in_chromium` loads the file in headless Chromium and returns the rendered DOM.
"""

from __future__ import annotations

import base64
import html
import json
import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from aiducation.csvfiles import read_csv
from aiducation.experiments.reference import REPORT_KFOLD_ACCURACY, REPORT_TABLE_2_2
from aiducation.rundir import BEST_MODEL_FILE, GRID_FILE, KFOLD_FILE

STYLE = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{border-bottom:2px solid #446}h2{margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.8em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#eef}td:first-child,th:first-child{text-align:left}
img{max-width:100%;border:1px solid #ddd;margin:.5em 0}
.missing{color:#a33}.note{color:#555;font-size:.92em}
.scroll{overflow-x:auto}
pre{background:#f6f6f6;padding:.6em;overflow-x:auto;font-size:.85em}
"""

# Marks the body with how many images decoded, so a headless browser check can read it.
IMAGE_CHECK = """<script>
window.addEventListener('load', function () {
  var images = Array.prototype.slice.call(document.images);
  var ok = images.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  document.body.setAttribute('data-images', ok + '/' + images.length);
});
</script>"""


@dataclass
class ReportInputs:
    """Directories the report reads; any may be missing."""

    data: Path | None = None  # prepared dataset (summary.json, report/*.png)
    grid: Path | None = None  # ``aiducation grid`` output
    kfold: Path | None = None  # ``aiducation kfold`` output
    bias: list[Path] = field(default_factory=list)  # ``aiducation bias`` outputs
    mitigation: list[Path] = field(default_factory=list)  # ``aiducation mitigate`` outputs
    title: str = "A.I.ducation Analytics: experiment report"


def image_tag(path: Path, alt: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def table_html(frame: pd.DataFrame, digits: int = 4) -> str:
    """An HTML table (escaped); float columns holding only whole numbers print as integers."""
    frame = frame.copy()
    for column in frame.select_dtypes("float").columns:
        values = frame[column].dropna()
        if len(values) and (values == values.round()).all() and values.abs().max() < 2**53:
            frame[column] = ["" if pd.isna(v) else int(v) for v in frame[column]]
    table = frame.to_html(
        index=False, float_format=lambda v: f"{v:.{digits}f}", na_rep="", border=0
    )
    return f'<div class="scroll">{table}</div>'


def missing(what: str, command: str) -> str:
    return (
        f'<p class="missing">No {html.escape(what)}: run <code>{html.escape(command)}</code>.</p>'
    )


def _images(directory: Path, names: list[str] | None = None) -> list[str]:
    paths = [directory / n for n in names] if names else sorted(directory.glob("*.png"))
    return [image_tag(p, p.stem) for p in paths if p.is_file()]


def dataset_section(data: Path | None) -> str:
    if data is None or not (data / "summary.json").is_file():
        return missing("prepared dataset", "aiducation report --data prepared/ferplus")
    from aiducation.data.report import split_table

    summary = json.loads((data / "summary.json").read_text())
    split_counts = summary.get("split_counts", {})
    if all(isinstance(v, dict) for v in split_counts.values()):
        counts = split_table(summary).reset_index()
    else:  # older summaries: images per split only
        counts = pd.DataFrame(list(split_counts.items()), columns=["split", "images"])
    cleaning = [
        ("rows in the vote file", summary.get("rows_total")),
        ("after dropping NF > 0", summary.get("rows_after_nf")),
        ("after dropping unknown ≥ 5", summary.get("rows_after_unknown")),
        ("labelled by the rules", summary.get("images")),
    ]
    cleaning_frame = pd.DataFrame(
        [(k, v) for k, v in cleaning if v is not None], columns=["step", "rows"]
    )
    parts = [
        f"<p>{html.escape(str(data))} · rule set <b>{html.escape(summary['rule_set'])}</b> · "
        f"{len(summary['classes'])} classes: {html.escape(', '.join(summary['classes']))}</p>",
        table_html(cleaning_frame),
        "<h3>Images per split and class</h3>",
        table_html(counts),
    ]
    duplicates = summary.get("duplicates", {})
    if isinstance(duplicates.get("labelled"), dict):
        dup = duplicates["labelled"]
        parts.append(
            f"<p>Duplicates among the labelled images: {dup.get('distinct', '?')} distinct of "
            f"{dup.get('images', '?')}; {dup.get('groups_with_copies', '?')} groups of "
            f"pixel-identical copies ({dup.get('images_in_those_groups', '?')} images); "
            f"{duplicates.get('groups_across_splits', '?')} groups span more than one split "
            f"(split: {html.escape(str(summary.get('split', {}).get('method', '?')))}).</p>"
        )
    for key, label in (("removed_by_nf", "NF votes"), ("removed_by_unknown", "unknown votes")):
        if summary.get(key):
            removed = pd.DataFrame(list(summary[key].items()), columns=[label, "rows removed"])
            parts.append(table_html(removed))
    parts += _images(data / "report", ["class_counts.png", "samples.png"])
    return "\n".join(parts)


def grid_section(grid: Path | None) -> str:
    if grid is None or not (grid / "table_2_2.csv").is_file():
        return missing("grid results (Table 2.2)", "aiducation grid --preset seed")
    table = read_csv(grid / "table_2_2.csv")
    described = json.loads((grid / GRID_FILE).read_text()) if (grid / GRID_FILE).is_file() else {}
    reference = pd.DataFrame(
        [(m, *v) for m, v in REPORT_TABLE_2_2.items()],
        columns=["model", "report_accuracy", "report_recall", "report_precision", "report_f1"],
    )
    compared = table[["model", "accuracy", "macro_recall", "macro_precision", "macro_f1"]].merge(
        reference, on="model", how="inner"
    )
    parts = [
        "<p class=note>Held-out test metrics of the checkpoint chosen on validation accuracy. "
        "The best model is chosen on validation accuracy, never on test.</p>",
        table_html(table),
    ]
    best = grid / BEST_MODEL_FILE
    if best.is_file():
        parts.append(
            f"<p>Best model: <b>{html.escape(json.loads(best.read_text())['model'])}</b></p>"
        )
    if len(compared):
        parts += [
            "<h3>Beside the report's Table 2.2</h3>",
            "<p class=note>The report's values are maxima over epochs on its validation split, "
            "and all its models were in fact 3×3 (K was never passed to the layers).</p>",
            table_html(compared),
        ]
    parts += _images(grid / "plots", ["comparison.png", "best_confusion.png", "best_history.png"])
    if described:
        parts += [
            "<h3>Runs</h3>",
            table_html(
                table[
                    [
                        c
                        for c in ("model", "epochs_run", "best_epoch", "train_minutes")
                        if c in table
                    ]
                ]
            ),
            "<details><summary>grid configuration</summary><pre>"
            + html.escape(json.dumps(described, indent=2))
            + "</pre></details>",
        ]
    return "\n".join(parts)


def kfold_section(kfold: Path | None) -> str:
    if kfold is None or not (kfold / "table_3_2.csv").is_file():
        return missing("k-fold results (Table 3.2)", "aiducation kfold --from-grid runs/grid")
    table = read_csv(kfold / "table_3_2.csv", dtype={"fold": str})
    parts = [table_html(table)]
    spec = kfold / KFOLD_FILE
    if spec.is_file():
        described = json.loads(spec.read_text())
        parts.insert(
            0,
            f"<p>{html.escape(described['config']['model'])}, {described['folds']} folds "
            f"(stratified, duplicate groups kept in one fold, seed {described['seed']}); "
            "checkpoint chosen on an inner validation split.</p>",
        )
    pooled = kfold / "oof_metrics.json"
    if pooled.is_file():
        metrics = json.loads(pooled.read_text())
        parts.append(
            f"<p>Pooled out-of-fold accuracy {metrics['accuracy']:.4f}, macro F1 "
            f"{metrics['macro_f1']:.4f} on {metrics['n']} images.</p>"
        )
    mean = sum(REPORT_KFOLD_ACCURACY) / len(REPORT_KFOLD_ACCURACY)
    parts.append(
        f"<p class=note>The report's 10-fold mean was {mean:.4f} (maximum accuracy over epochs "
        "per fold, folds not duplicate-aware).</p>"
    )
    parts += _images(kfold / "plots", ["folds.png"])
    return "\n".join(parts)


def bias_section(directories: list[Path]) -> str:
    if not directories:
        return missing(
            "bias analysis", "aiducation bias --predictions runs/kfold/oof_predictions.csv ..."
        )
    parts = []
    for directory in directories:
        parts.append(f"<h3>{html.escape(str(directory))}</h3>")
        found = False
        found = _tables(parts, directory, BIAS_TABLES)
        parts += _images(directory / "plots")
        if not found:
            parts.append(missing(f"bias tables in {directory}", "aiducation bias ..."))
    return "\n".join(parts)


BIAS_TABLES = {
    "table_3_3.csv": "Table 3.3 (groups under the minimum size are flagged in 'note')",
    "gaps.csv": "Gaps between groups: bootstrap 95% CIs, permutation p-values, Holm-adjusted",
    "decomposition.csv": "Accuracy gap: class mix versus per-class recall",
    "other_rates.csv": "Faces called Other per group",
    "other_gaps.csv": "Faces called Other: highest − lowest share per attribute, permutation test",
    "groups.csv": "Every metric per group",
}
MITIGATION_TABLES = {
    "table_3_4.csv": "Table 3.4: per model and group",
    "deltas.csv": "Change against the baseline (paired bootstrap 95% CIs)",
    "cost.csv": "Overall accuracy cost (reserved images and official test split)",
    "gaps.csv": "Gap between groups per model",
}


def _tables(parts: list[str], directory: Path, names: dict[str, str]) -> bool:
    """Append each CSV of ``names`` found in ``directory`` under its caption; any found?"""
    found = False
    for name, caption in names.items():
        if (directory / name).is_file():
            parts += [f"<h4>{html.escape(caption)}</h4>", table_html(read_csv(directory / name))]
            found = True
    return found


def mitigation_section(directories: list[Path]) -> str:
    if not directories:
        return missing("bias mitigation", "aiducation mitigate --attributes age.csv ...")
    parts = []
    for directory in directories:
        report = directory / "report"
        parts.append(f"<h3>{html.escape(str(directory))}</h3>")
        if not _tables(parts, report, MITIGATION_TABLES):
            parts.append(missing(f"Table 3.4 in {report}", "aiducation mitigate ..."))
        parts += _images(report / "plots")
    return "\n".join(parts)


def build_report(inputs: ReportInputs) -> str:
    """The report as one HTML string."""
    from aiducation import __version__

    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    sections = [
        ("Dataset", dataset_section(inputs.data)),
        ("Model grid: Table 2.2", grid_section(inputs.grid)),
        ("Cross-validation: Table 3.2", kfold_section(inputs.kfold)),
        ("Bias analysis", bias_section(inputs.bias)),
        ("Bias mitigation: Table 3.4", mitigation_section(inputs.mitigation)),
    ]
    body = "\n".join(f"<section><h2>{t}</h2>\n{content}</section>" for t, content in sections)
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(inputs.title)}</title><style>{STYLE}</style></head>\n<body>"
        f"<h1>{html.escape(inputs.title)}</h1>"
        f"<p class=note>Generated {when} by aiducation {__version__}.</p>\n{body}\n"
        f"{IMAGE_CHECK}</body></html>\n"
    )


def write_report(inputs: ReportInputs, out: Path) -> Path:
    from aiducation.atomic import write_text

    return write_text(out, build_report(inputs))


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def render_in_chromium(path: Path, chromium: str | None = None, timeout: float = 60) -> str:
    """The DOM of ``path`` after loading it in headless Chromium (offline, no sandbox)."""
    chromium = chromium or find_chromium()
    if chromium is None:
        raise FileNotFoundError("no Chromium found (Debian: apt-get install chromium)")
    command = [
        chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
        "--disable-background-networking", "--disable-component-update",
        "--virtual-time-budget=5000", "--dump-dom", Path(path).resolve().as_uri(),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0 or "<html" not in done.stdout:
        raise RuntimeError(f"chromium failed ({done.returncode}): {done.stderr[-500:]}")
    return done.stdout
