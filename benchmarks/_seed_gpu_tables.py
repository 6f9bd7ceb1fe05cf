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


def calls_table(work: Path) -> str:
    """One row per device call (``progress.json``): when, where, choices, what it did."""
    calls = _json(work / "progress.json", {"calls": []})["calls"]
    rows = []
    for i, c in enumerate(calls, 1):
        status = list(c["status"].values())
        rows.append({
            "call": i, "started": c["started"], "device": c["device"], "torch": c["torch"],
            "wall min": c["wall_s"] / 60, "training min": c["training_wall_s"] / 60,
            "at once": c["parallel"],
            "compile / cuDNN autotune": f"{c['runtime']['compile']} / "
                                        f"{c['runtime']['cudnn_benchmark']}",
            "finished": status.count("finished"), "paused": status.count("paused"),
            "failed": status.count("failed"),
            "epochs trained": sum(b - a for a, b in c["epochs"].values() if a is not None),
            "speed-up": c.get("speedup"),
        })  # fmt: skip
    return markdown_table(pd.DataFrame(rows), digits=2) if rows else ""


def measurements_markdown(work: Path) -> str:
    """``bench_device.py``'s output and the measured choices, when the device made them."""
    parts = []
    bench = _json(work / "bench_device.json")
    if bench:
        parts += [f"`{bench['command']}` (exit {bench['exit']}):\n",
                  f"```\n{bench['output'].rstrip()}\n```\n"]  # fmt: skip
    measured = _json(work / "measure.json")
    if measured:
        variants = pd.DataFrame(measured["variants"])
        columns = [c for c in ("model", "variant", "images_s", "ratio", "warmup_s", "error")
                   if c in variants]  # fmt: skip
        parts += ["Training images/s per variant (ratio: to the package defaults; warm-up: "
                  "building the learner and the untimed steps, compiling included):\n",
                  markdown_table(variants[columns], digits=2)]  # fmt: skip
        if measured["concurrency"]:
            parts += [
                "Trials at once on the one GPU:\n",
                markdown_table(pd.DataFrame(measured["concurrency"]), digits=2),
            ]
        parts.append(f"Decisions: {measured['decisions']}.\n")
    return "\n".join(parts)


def _json(path: Path, default=None):
    return json.loads(path.read_text()) if path.is_file() else default


def tables_markdown(work: Path) -> str:
    """Markdown of whatever is finished under ``work`` (grid/, kfold/)."""
    parts = []
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
    calls, measured = calls_table(work), measurements_markdown(work)
    if calls:
        parts += ["### Device calls\n", calls]
    if measured:
        parts += ["### Device measurements\n", measured]
    return "\n".join(p for p in parts if p) or "nothing finished yet\n"
