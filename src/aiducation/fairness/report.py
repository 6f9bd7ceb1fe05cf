"""Writing bias reports: CSV tables, a Markdown summary, JSON and plots, atomically."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from aiducation.fairness.bias import INTERSECTION_SEP, BiasReport, table_3_3
from aiducation.tables import markdown_table


def with_interval(frame: pd.DataFrame, metric: str, digits: int = 4) -> pd.Series:
    """``value [low, high]`` strings from ``metric`` and its ``_ci_low``/``_ci_high`` columns."""
    return frame.apply(
        lambda r: (
            f"{r[metric]:.{digits}f} [{r[f'{metric}_ci_low']:.{digits}f}, "
            f"{r[f'{metric}_ci_high']:.{digits}f}]"
        ),
        axis=1,
    )


def gap_sentence(row: pd.Series, alpha: float) -> str:
    """One sentence saying whether a gap is significant, with its numbers."""
    verdict = "significant" if row["significant"] else "not significant"
    return (
        f"{row['attribute']}: {row['metric']} of {row['best_group']} {row['best']:.4f} vs "
        f"{row['worst_group']} {row['worst']:.4f}, gap {row['gap']:.4f} "
        f"(95% CI {row['gap_ci_low']:.4f} to {row['gap_ci_high']:.4f}), permutation "
        f"p = {row['p_value']:.4f} (Holm-adjusted {row['p_holm']:.4f}): {verdict} at "
        f"alpha = {alpha}."
    )


def bias_markdown(report: BiasReport, title: str = "Bias analysis") -> str:
    """Human-readable summary: Table 3.3, intervals, gaps with tests, per-class views."""
    config = report.config
    lines = [f"# {title}", ""]
    lines.append(
        f"{report.overall['n']} images; overall accuracy {report.overall['accuracy']:.4f}, "
        f"macro F1 {report.overall['f1_macro']:.4f}. Intervals: {config.confidence:.0%} "
        f"stratified bootstrap ({config.n_bootstrap} resamples, seed {config.seed}); gap tests: "
        f"{config.n_permutations} label permutations, Holm-adjusted over all tests; groups "
        f"under {config.min_group_size} images are listed but not compared."
    )
    lines += ["", "## Table 3.3 shape", "", markdown_table(table_3_3(report.groups))]
    if report.groups.empty:
        return "\n".join(lines)
    ci = report.groups[["attribute", "group", "n"]].copy()
    for metric in config.gap_metrics:
        ci[metric] = with_interval(report.groups, metric)
    lines += ["## Per group with 95% confidence intervals", "", markdown_table(ci)]
    if len(report.gaps):
        gaps = report.gaps.copy()
        gaps["gap (95% CI)"] = gaps.apply(
            lambda r: f"{r['gap']:.4f} [{r['gap_ci_low']:.4f}, {r['gap_ci_high']:.4f}]", axis=1
        )
        gaps["min/max ratio (95% CI)"] = gaps.apply(
            lambda r: f"{r['ratio']:.4f} [{r['ratio_ci_low']:.4f}, {r['ratio_ci_high']:.4f}]",
            axis=1,
        )
        columns = ["attribute", "metric", "best_group", "worst_group", "gap (95% CI)"]
        columns += ["min/max ratio (95% CI)", "p_value", "p_holm", "significant"]
        lines += ["## Gaps between groups", "", markdown_table(gaps[columns])]
        primary = gaps[gaps["metric"] == "accuracy"]
        lines += [gap_sentence(row, config.alpha) for _, row in primary.iterrows()] + [""]
    per_class = [f"recall_{c}" for c in report.classes] + [f"rate_{c}" for c in report.classes]
    lines += [
        "## Per-class recall and predicted-state rates",
        "",
        markdown_table(report.groups[["attribute", "group", "n", *per_class]]),
    ]
    shares = report.distribution.pivot_table(
        index=["attribute", "group"], columns="class", values="share", sort=False
    ).reset_index()
    lines += ["## True-class distribution per group (Figure 3.1)", "", markdown_table(shares)]
    if len(report.decomposition):
        lines += [
            "## Class mix versus per-class recall",
            "",
            "Accuracy is Σ share × recall over the true classes. `counterfactual`: the worst "
            "group's class mix with the best group's per-class recall; `mix` = best − "
            "counterfactual (the gap the class mix alone explains), `recall` = counterfactual "
            "− worst (the model being worse on the same classes).",
            "",
            markdown_table(report.decomposition),
        ]
    if len(report.other_rates):
        rates = report.other_rates[["attribute", "group", "n", "compared"]].copy()
        rates["called Other (95% CI)"] = with_interval(report.other_rates, "rate")
        lines += [
            "## Faces called Other per group",
            "",
            "Share of each group's (labelled, in-scheme) faces the model answers 'Other' at its "
            "operating threshold; the tables above score its four-state decision.",
            "",
            markdown_table(rates),
        ]
    if len(report.other_gaps):
        lines += [
            "Highest − lowest share per attribute over the compared groups; `p_value`: "
            "permutation test (group labels shuffled), `p_holm`: Holm-adjusted over these rows.",
            "",
            markdown_table(report.other_gaps),
        ]
    if report.notes:
        lines += ["## Notes", "", *[f"- {note}" for note in report.notes], ""]
    return "\n".join(lines)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text.replace(INTERSECTION_SEP, "_x_")).strip("_")


def write_bias_report(
    out_dir: str | Path,
    report: BiasReport,
    inputs: dict,
    title: str = "Bias analysis",
    *,
    overwrite: bool = False,
) -> Path:
    """Write ``groups.csv``, ``gaps.csv``, ``distribution.csv``, ``table_3_3.csv``,
    ``report.md``, ``report.json`` (with ``inputs`` and the config) and ``plots/*.png``
    (the output-folder rule of :func:`aiducation.outdir.output_dir`)."""
    from aiducation.csvfiles import to_csv
    from aiducation.fairness.plots import plot_class_distribution, plot_group_metrics
    from aiducation.figures import save_figure
    from aiducation.outdir import output_dir

    attribute_files = inputs.get("attributes") or []
    if isinstance(attribute_files, (str, Path)):
        attribute_files = [attribute_files]
    sources = [*attribute_files, inputs.get("predictions"), inputs.get("data")]
    with output_dir(out_dir, owner="bias", overwrite=overwrite, inputs=sources) as tmp:
        to_csv(report.groups, tmp / "groups.csv", index=False)
        to_csv(report.gaps, tmp / "gaps.csv", index=False)
        to_csv(report.distribution, tmp / "distribution.csv", index=False)
        to_csv(table_3_3(report.groups), tmp / "table_3_3.csv", index=False)
        to_csv(report.decomposition, tmp / "decomposition.csv", index=False)
        if len(report.other_rates):
            to_csv(report.other_rates, tmp / "other_rates.csv", index=False)
        if len(report.other_gaps):
            to_csv(report.other_gaps, tmp / "other_gaps.csv", index=False)
        (tmp / "report.md").write_text(bias_markdown(report, title))
        payload = {"inputs": inputs, **report.to_dict()}
        (tmp / "report.json").write_text(json.dumps(payload, indent=2, default=str) + "\n")
        (tmp / "plots").mkdir()
        for attribute in dict.fromkeys(report.groups.get("attribute", [])):
            slug = _slug(attribute)
            fig = plot_class_distribution(report.distribution, attribute)
            save_figure(fig, tmp / "plots" / f"distribution_{slug}.png")
            if report.groups.loc[report.groups["attribute"] == attribute, "compared"].any():
                fig = plot_group_metrics(report.groups, attribute)
                save_figure(fig, tmp / "plots" / f"metrics_{slug}.png")
    return Path(out_dir)
