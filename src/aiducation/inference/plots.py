"""Pure plotting: the class's states over a video's time (matplotlib, Agg backend)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from aiducation.inference.draw import OTHER_COLOUR, STATE_COLOURS
from aiducation.inference.results import FrameResult
from aiducation.models.answers import UNCERTAIN


def _rgb(bgr: tuple[int, int, int]) -> tuple[float, float, float]:
    return (bgr[2] / 255, bgr[1] / 255, bgr[0] / 255)


def timeline_figure(
    frames: list[FrameResult], classes: list[str], title: str = "", cuts: list[float] = ()
) -> Figure:
    """Stacked counts of faces per state in each analysed frame (Uncertain ones on top, pale),
    against time in seconds (drawn as steps: a frame's counts hold until the next analysed
    frame); ``cuts``: shot cuts, drawn as dashed lines."""
    times = np.array([f.time if f.time is not None else f.frame for f in frames], float)
    if any(face.state == UNCERTAIN for f in frames for face in f.faces):
        classes = [*classes, UNCERTAIN]  # not answered: stacked on top, pale
    counts = np.array([[f.state_counts(classes)[c] for c in classes] for f in frames], float)
    counts = counts.reshape(len(frames), len(classes))
    fig, ax = plt.subplots(figsize=(9, 3.5), layout="constrained")
    colours = [_rgb(STATE_COLOURS.get(c, OTHER_COLOUR)) for c in classes]
    ax.stackplot(times, counts.T, labels=classes, colors=colours, alpha=0.85, step="post")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("faces")
    ax.set_title(title or "Learning states over time", parse_math=False)  # names are literal
    for i, cut in enumerate(cuts):  # shot cuts: the tracker starts afresh there
        ax.axvline(cut, color="black", linestyle="--", linewidth=0.8,
                   label="shot cut" if i == 0 else None)  # fmt: skip
    ax.set_xlim(times.min() if len(times) else 0, times.max() if len(times) > 1 else 1)
    ax.set_ylim(0, max(1.0, counts.sum(axis=1).max() if len(counts) else 1.0) * 1.1)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts of faces: whole numbers
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax.grid(alpha=0.3)
    return fig


def minutes_figure(rows: list[dict], classes: list[str], title: str = "") -> Figure:
    """Each state's share of the faces answered in each minute (stacked bars), their number
    on top."""
    fig, ax = plt.subplots(figsize=(9, 3.5), layout="constrained")
    minutes = np.array([row["minute"] for row in rows], float)
    bottom = np.zeros(len(rows))
    for c in classes:
        share = np.array([row[f"share_{c}"] for row in rows], float)
        ax.bar(minutes, share, bottom=bottom, width=0.9, label=c,
               color=_rgb(STATE_COLOURS.get(c, OTHER_COLOUR)), alpha=0.85)  # fmt: skip
        bottom += share
    for minute, row in zip(minutes, rows, strict=True):
        ax.annotate(f"{row['faces']}", (minute, 1.0), ha="center", va="bottom", fontsize=7)
    ax.set(xlabel="minute", ylabel="share of faces", ylim=(0, 1.12))
    if len(minutes):  # whole minutes, with room around a single bar
        ax.set_xlim(minutes.min() - 0.6, minutes.max() + 0.6)
    if 0 < len(minutes) <= 20:
        ax.set_xticks(minutes)
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(title or "Learning states per minute (faces answered on top)", parse_math=False)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return fig
