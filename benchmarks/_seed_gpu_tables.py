"""Markdown for docs/results.md from the result files of ``benchmarks/seed_tables_gpu.py``:
Table 2.2 and Table 3.2 beside the report's own numbers, and the factor comparisons behind the
report's conclusions (5×5 kernels best, 8 blocks better than 4).

Ours are held-out test metrics of the checkpoint chosen on validation accuracy (grid: official
split; CV: each held-out fold, checkpoint chosen on an inner validation split); the report's
are maxima over 100 epochs of each metric on the split it monitored. Reads only CSV and JSON
files, so it runs anywhere (``seed_tables_gpu.py tables``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from aiducation.csvfiles import read_csv
from aiducation.experiments.reference import REPORT_KFOLD_ACCURACY, REPORT_TABLE_2_2
from aiducation.models.seed_family import parse_seed_name
from aiducation.tables import markdown_table

REPORT_COLUMNS = ("report acc", "report P", "report R", "report F1")


def report_grid() -> pd.DataFrame:
    """The report's Table 2.2 with our column names (its values: maxima over epochs)."""
    rows = [{"model": m, "accuracy": a, "macro_recall": r, "macro_precision": p, "macro_f1": f}
            for m, (a, r, p, f) in REPORT_TABLE_2_2.items()]  # fmt: skip
    return pd.DataFrame(rows)


def grid_vs_report(table: pd.DataFrame, winner: str | None = None) -> str:
    """Our Table 2.2 (one row per model, the report's order first) beside the report's row."""
    report = report_grid().set_index("model")
    order = [*(m for m in REPORT_TABLE_2_2 if m in set(table["model"])),
             *(m for m in table["model"] if m not in REPORT_TABLE_2_2)]  # fmt: skip
    ours = table.set_index("model").loc[order]
    rows = []
    for model, row in ours.iterrows():
        theirs = report.loc[model] if model in report.index else None
        name = f"**{model}**" if model == winner else model
        rows.append({
            "model": name, "parameters": f"{int(row['parameters']):,}",
            "test acc": row["accuracy"], "macro P": row["macro_precision"],
            "macro R": row["macro_recall"], "macro F1": row["macro_f1"],
            "val acc": row["val_accuracy"], "best epoch": int(row["best_epoch"]),
            **dict(zip(REPORT_COLUMNS, _report_values(theirs), strict=True)),
        })  # fmt: skip
    return markdown_table(pd.DataFrame(rows))


def _report_values(row: pd.Series | None) -> list:
    if row is None:
        return [None] * len(REPORT_COLUMNS)
    return [row["accuracy"], row["macro_precision"], row["macro_recall"], row["macro_f1"]]


def with_factors(table: pd.DataFrame) -> pd.DataFrame:
    """The report family's rows with K, N (blocks), B (channels) parsed from their names."""
    parsed = [parse_seed_name(m) for m in table["model"]]
    keep = [p is not None for p in parsed]
    family = table[keep].copy()
    for key, column in (("kernel", "K"), ("blocks", "N"), ("channels", "B")):
        family[column] = [p[key] for p in parsed if p is not None]
    return family


def paired_differences(table: pd.DataFrame, factor: str, high, low) -> list[float]:
    """Accuracy(high) − accuracy(low) of ``factor`` over model pairs equal in the others."""
    family = with_factors(table)
    others = [c for c in ("K", "N", "B") if c != factor]
    diffs = []
    for _, group in family.groupby(others):
        a, b = group[group[factor] == high], group[group[factor] == low]
        if len(a) == 1 and len(b) == 1:
            diffs.append(float(a["accuracy"].iloc[0] - b["accuracy"].iloc[0]))
    return diffs


def factor_comparison(table: pd.DataFrame) -> str:
    """The report's claims as paired differences in test accuracy, ours beside the report's."""
    claims = (("K", 5, 3, "K5 − K3"), ("K", 5, 7, "K5 − K7"), ("N", 8, 4, "N8_FC2 − N4_FC1"),
              ("B", 32, 16, "B32 − B16"))  # fmt: skip
    rows = []
    for factor, high, low, label in claims:
        ours = paired_differences(table, factor, high, low)
        theirs = paired_differences(report_grid(), factor, high, low)
        if not ours:
            continue
        rows.append({
            "difference (accuracy)": label, "pairs": len(ours),
            "ours: mean": float(np.mean(ours)), "ours: pairs > 0": sum(d > 0 for d in ours),
            "report: mean": float(np.mean(theirs)) if theirs else None,
            "report: pairs > 0": sum(d > 0 for d in theirs) if theirs else None,
        })  # fmt: skip
    return markdown_table(pd.DataFrame(rows)) if rows else ""


def kfold_vs_report(table: pd.DataFrame) -> str:
    """Our Table 3.2 (per fold, mean, std) beside the report's per-fold maximum accuracy."""
    frame = table.copy()
    frame["fold"] = frame["fold"].astype(str)
    report = {str(i): v for i, v in enumerate(REPORT_KFOLD_ACCURACY)}
    report["mean"] = float(np.mean(REPORT_KFOLD_ACCURACY))
    report["std"] = float(np.std(REPORT_KFOLD_ACCURACY, ddof=1))
    rows = [{
        "fold": row["fold"], "accuracy": row["accuracy"], "macro P": row["macro_precision"],
        "macro R": row["macro_recall"], "macro F1": row["macro_f1"],
        "best epoch": "" if pd.isna(row["best_epoch"]) else str(int(row["best_epoch"])),
        "n held out": None if pd.isna(row["n_test"]) else f"{int(row['n_test']):,}",
        "report max acc": report.get(row["fold"]),
    } for _, row in frame.iterrows()]  # fmt: skip
    return markdown_table(pd.DataFrame(rows))


def run_summary(work: Path) -> str:
    """One line: device calls, device, wall time (from ``progress.json``)."""
    path = work / "progress.json"
    if not path.is_file():
        return ""
    calls = json.loads(path.read_text())["calls"]
    devices = sorted({c["device"] for c in calls})
    wall = sum(c["wall_s"] for c in calls) / 60
    return (f"{len(calls)} device call(s) on {', '.join(devices)}, {wall:.1f} min of wall time "
            f"in all (torch {calls[-1]['torch']}; first {calls[0]['started']}, last "
            f"{calls[-1]['started']}).")  # fmt: skip


def tables_markdown(work: Path) -> str:
    """Markdown of whatever is finished under ``work`` (grid/, kfold/)."""
    parts = []
    summary = run_summary(work)
    if summary:
        parts.append(summary + "\n")
    grid = work / "grid" / "table_2_2.csv"
    if grid.is_file():
        table = read_csv(grid)
        best = work / "grid" / "best_model.json"
        winner = json.loads(best.read_text())["model"] if best.is_file() else None
        parts += ["### Table 2.2: held-out test metrics of the validation-chosen checkpoint "
                  "(ours) beside the report's maxima over epochs\n",
                  grid_vs_report(table, winner),
                  f"Validation winner (bold): {winner}.\n" if winner else ""]  # fmt: skip
        factors = factor_comparison(table)
        if factors:
            parts += ["### The report's conclusions as paired differences in accuracy\n",
                      factors]  # fmt: skip
    kfold = work / "kfold" / "table_3_2.csv"
    if kfold.is_file():
        table = read_csv(kfold, dtype={"fold": str})
        spec = json.loads((work / "kfold" / "kfold.json").read_text())
        parts += [f"### Table 3.2: {spec['folds']}-fold CV of {spec['config']['model']} "
                  "(held-out folds; report: max accuracy over epochs per fold)\n",
                  kfold_vs_report(table)]  # fmt: skip
        pooled = work / "kfold" / "oof_metrics.json"
        if pooled.is_file():
            metrics = json.loads(pooled.read_text())
            parts.append(f"Pooled out-of-fold: accuracy {metrics['accuracy']:.4f}, macro F1 "
                         f"{metrics['macro_f1']:.4f} on {metrics['n']:,} images.\n")  # fmt: skip
    return "\n".join(p for p in parts if p) or "nothing finished yet\n"
