"""Inline SVG charts of the Lessons pages (no JavaScript, no external assets).

* :func:`timeline_svg`: one lesson's class per minute, each state's share as a stacked column
  per minute (steps, not ramps) and the faces answered per minute below it;
* :func:`course_svg`: each state's share per lesson of a course, lesson dates on the x axis,
  the 95 % intervals drawn as error bars;
* :func:`compare_svg`: two lessons' shares of each state side by side with their intervals.

Every mark carries a ``<title>`` (the browser's tooltip, read by screen readers) and the
pages give the same numbers as tables; all text from the database is escaped here.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from aiducation.lessons.records import LessonSummary, Minute, StateShare
from aiducation.web.charts import state_colour

WIDTH = 720  # viewBox width; the charts scale to their card (CSS)
LEFT, RIGHT, TOP = 48, 12, 12
FACES_COLOUR = "#7b8596"
GRID_COLOUR = "#e3e7ee"
MINUTE_STEPS = (1, 2, 5, 10, 15, 20, 30, 60)


def percent(share: float | None, digits: int = 0) -> str:
    """``0.314`` → ``31 %``; ``None`` → ``–``."""
    return "–" if share is None else f"{100 * share:.{digits}f} %"


def interval(state: StateShare) -> str:
    """``28–35 %`` (the 95 % interval), or empty when there is none."""
    if state.low is None or state.high is None:
        return ""
    return f"{100 * state.low:.0f}–{100 * state.high:.0f} %"


def _svg(height: float, label: str, css: str, body: list[str], width: int = WIDTH) -> str:
    return (
        f'<svg class="chart {css}" role="img" aria-label="{escape(label)}" '
        f'viewBox="0 0 {width} {height:.0f}" width="{width}" height="{height:.0f}" '
        f'preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
        + "".join(body)
        + "</svg>"
    )


def _y_grid(top: float, height: float, top_value: float, right: float) -> list[str]:
    """Horizontal grid lines with percent labels from 0 to ``top_value``."""
    parts = []
    steps = 4
    for i in range(steps + 1):
        value = top_value * i / steps
        y = top + height - height * i / steps
        parts += [
            f'<line x1="{LEFT}" x2="{right:.1f}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{GRID_COLOUR}"/>',
            f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{100 * value:.0f} %</text>",
        ]
    return parts


def minute_step(minutes: int, most: int = 12) -> int:
    """Tick spacing (minutes) giving at most ``most`` ticks."""
    return next((s for s in MINUTE_STEPS if minutes / s <= most), MINUTE_STEPS[-1])


def timeline_svg(
    minutes: Sequence[Minute],
    classes: Sequence[str],
    span: int | None = None,
    label: str = "",
    width: int = WIDTH,
) -> str:
    """Each state's share of the faces answered in each minute, stacked in ``classes`` order
    (a flat step per minute), and the faces answered per minute below. ``span``: minutes on
    the x axis (default: this lesson's), so two lessons side by side share a scale; a
    narrower ``width`` draws the same with relatively larger text."""
    span = max(span or 0, max((m.minute + 1 for m in minutes), default=0), 1)
    plot_w = width - LEFT - RIGHT
    share_h, gap, faces_h, axis_h = 190, 22, 48, 34
    height = TOP + share_h + gap + faces_h + axis_h
    column = plot_w / span
    most_faces = max((m.faces for m in minutes), default=0)
    body = _y_grid(TOP, share_h, 1.0, width - RIGHT)
    for m in minutes:
        x = LEFT + m.minute * column
        if m.faces == 0:
            body.append(
                f'<rect class="empty" data-minute="{m.minute}" x="{x:.2f}" y="{TOP}" '
                f'width="{column:.2f}" height="{share_h}" fill="#f4f5f7">'
                f"<title>minute {m.minute}: no face answered</title></rect>"
            )
        bottom = TOP + share_h
        for state in classes:
            share = max(0.0, float(m.shares.get(state, 0.0)))
            if share <= 0 or m.faces == 0:
                continue
            h = share * share_h
            bottom -= h
            body.append(
                f'<rect class="share" data-state="{escape(state)}" data-minute="{m.minute}" '
                f'x="{x:.2f}" y="{bottom:.2f}" width="{column:.2f}" height="{h:.2f}" '
                f'fill="{state_colour(state)}"><title>minute {m.minute}: {escape(state)} '
                f"{percent(share)} of {m.faces} faces</title></rect>"
            )
    faces_top = TOP + share_h + gap
    body.append(
        f'<text class="tick" x="{LEFT - 6}" y="{faces_top + 10}" text-anchor="end">'
        f"{most_faces}</text>"
        f'<text class="tick" x="{LEFT - 6}" y="{faces_top + faces_h}" text-anchor="end">0</text>'
        f'<text class="axis" x="{LEFT}" y="{faces_top - 6}">faces answered per minute</text>'
    )
    for m in minutes:
        h = faces_h * m.faces / most_faces if most_faces else 0.0
        x = LEFT + m.minute * column
        body.append(
            f'<rect class="faces" data-minute="{m.minute}" x="{x + 0.5:.2f}" '
            f'y="{faces_top + faces_h - h:.2f}" width="{max(column - 1, 0.5):.2f}" '
            f'height="{h:.2f}" fill="{FACES_COLOUR}"><title>minute {m.minute}: {m.faces} faces '
            f"answered in {m.frames} frames</title></rect>"
        )
    axis_y = faces_top + faces_h
    body.append(
        f'<line x1="{LEFT}" x2="{width - RIGHT}" y1="{axis_y}" y2="{axis_y}" stroke="#9aa3b2"/>'
    )
    step = minute_step(span, most=max(4, plot_w // 56))
    for tick in range(0, span + 1, step):
        x = LEFT + tick * column
        body.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{axis_y}" y2="{axis_y + 4}" stroke="#9aa3b2"/>'
            f'<text class="tick" x="{x:.1f}" y="{axis_y + 16}" text-anchor="middle">{tick}</text>'
        )
    body.append(
        f'<text class="axis" x="{LEFT + plot_w / 2:.0f}" y="{height - 2}" text-anchor="middle">'
        "minute of the lesson</text>"
    )
    return _svg(height, label or "share of each state per minute", "timeline", body, width)


@dataclass(frozen=True)
class _Point:
    lesson: LessonSummary
    x: float


def _date_positions(lessons: Sequence[LessonSummary], left: float, right: float) -> list[_Point]:
    """x of each lesson by its date (same-day lessons side by side around their date)."""
    days = [lesson.day for lesson in lessons]
    first, last = min(days), max(days)
    span = max((last - first).days, 1)
    pad = 34.0
    usable = right - left - 2 * pad
    same_day: dict[datetime.date, list[int]] = {}
    for i, day in enumerate(days):
        same_day.setdefault(day, []).append(i)
    points = []
    for i, lesson in enumerate(lessons):
        base = (
            left
            + pad
            + (usable / 2 if first == last else usable * (lesson.day - first).days / span)
        )
        group = same_day[lesson.day]
        offset = (group.index(i) - (len(group) - 1) / 2) * 18.0
        points.append(_Point(lesson, base + offset))
    return points


def _nice_top(values: Sequence[float]) -> float:
    """The y axis' top: the largest value rounded up to a tenth (at least 10 %)."""
    top = max(values, default=0.0)
    return min(1.0, max(0.1, -(-round(top * 1000) // 100) / 10))


def _legend(classes: Sequence[str], y: float) -> list[str]:
    parts, x = [], float(LEFT)
    for state in classes:
        parts.append(
            f'<rect x="{x:.0f}" y="{y - 10}" width="12" height="12" fill="{state_colour(state)}"/>'
            f'<text class="legend" x="{x + 16:.0f}" y="{y}">{escape(state)}</text>'
        )
        x += 30 + 8 * len(state)
    return parts


def course_svg(lessons: Sequence[LessonSummary], classes: Sequence[str], label: str = "") -> str:
    """Each state's share per lesson (oldest first), a line per state through the lessons,
    their dates on the x axis and the 95 % intervals as error bars."""
    plot_h, legend_h, axis_h = 240, 26, 40
    height = TOP + legend_h + plot_h + axis_h
    top = TOP + legend_h
    right = WIDTH - RIGHT
    values = [
        v
        for lesson in lessons
        for s in lesson.states
        if s.state in classes
        for v in (s.share, s.high or 0.0)
    ]
    y_top = _nice_top(values)
    body = _legend(classes, TOP + 10) + _y_grid(top, plot_h, y_top, right)
    points = _date_positions(lessons, LEFT, right) if lessons else []

    def y_of(value: float) -> float:
        return top + plot_h - plot_h * min(value, y_top) / y_top

    dodge = 4.0
    for k, state in enumerate(classes):
        colour, shift = state_colour(state), (k - (len(classes) - 1) / 2) * dodge
        marks, line = [], []
        for point in points:
            share = next((s for s in point.lesson.states if s.state == state), None)
            if share is None:
                continue
            x, y = point.x + shift, y_of(share.share)
            line.append(f"{x:.1f},{y:.1f}")
            name = escape(f"{point.lesson.name} ({point.lesson.day.isoformat()})")
            span = interval(share)
            title = f"{name}: {escape(state)} {percent(share.share)}" + (
                f" (95 % interval {span})" if span else ""
            )
            if share.low is not None and share.high is not None:
                y0, y1 = y_of(share.low), y_of(share.high)
                marks.append(
                    f'<path class="error-bar" data-state="{escape(state)}" '
                    f'd="M{x:.1f},{y0:.1f}V{y1:.1f}M{x - 3:.1f},{y0:.1f}h6M{x - 3:.1f},{y1:.1f}h6" '
                    f'stroke="{colour}" stroke-width="1.5" fill="none"/>'
                )
            marks.append(
                f'<circle class="point" data-state="{escape(state)}" '
                f'data-lesson="{point.lesson.id}" cx="{x:.1f}" cy="{y:.1f}" r="4" '
                f'fill="{colour}" stroke="#fff"><title>{title}</title></circle>'
            )
        if len(line) > 1:
            body.append(
                f'<polyline class="trend" data-state="{escape(state)}" points="{" ".join(line)}" '
                f'fill="none" stroke="{colour}" stroke-width="1.5" stroke-opacity=".6"/>'
            )
        body += marks
    axis_y = top + plot_h
    body.append(f'<line x1="{LEFT}" x2="{right}" y1="{axis_y}" y2="{axis_y}" stroke="#9aa3b2"/>')
    shown: list[float] = []
    for point in points:  # one label per date, skipping those that would overlap
        if shown and point.x - shown[-1] < 84:
            continue
        shown.append(point.x)
        body.append(
            f'<text class="tick" x="{point.x:.1f}" y="{axis_y + 16}" text-anchor="middle">'
            f"{point.lesson.day.isoformat()}</text>"
        )
    body.append(
        f'<text class="axis" x="{(LEFT + right) / 2:.0f}" y="{height - 4}" text-anchor="middle">'
        "lesson date</text>"
    )
    return _svg(height, label or "each state's share per lesson over time", "course", body)


def compare_svg(a: LessonSummary, b: LessonSummary, classes: Sequence[str], label: str = "") -> str:
    """For each state, lesson A's and lesson B's share as two bars with their intervals."""
    row, bar, label_w = 46, 16, 96
    height = TOP + row * len(classes) + 30
    plot_w = WIDTH - LEFT - RIGHT - label_w - 60
    x0 = LEFT + label_w
    values = [v for lesson in (a, b) for s in lesson.states for v in (s.share, s.high or 0.0)]
    top_value = _nice_top(values)
    scale = plot_w / top_value
    body = []
    for i in range(5):
        value = top_value * i / 4
        x = x0 + value * scale
        body.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{height - 24}" '
            f'stroke="{GRID_COLOUR}"/>'
            f'<text class="tick" x="{x:.1f}" y="{height - 8}" text-anchor="middle">'
            f"{100 * value:.0f} %</text>"
        )
    for i, state in enumerate(classes):
        y = TOP + i * row
        body.append(
            f'<text x="{x0 - 10}" y="{y + row / 2 + 4:.0f}" text-anchor="end">'
            f"{escape(state)}</text>"
        )
        for j, (key, lesson) in enumerate((("A", a), ("B", b))):
            share = next((s for s in lesson.states if s.state == state), None)
            by = y + 6 + j * (bar + 4)
            if share is None:
                body.append(f'<text class="tick" x="{x0 + 4}" y="{by + 12}">{key}: –</text>')
                continue
            w = min(share.share, top_value) * scale
            body.append(
                f'<rect class="bar" data-lesson="{key}" data-state="{escape(state)}" x="{x0}" '
                f'y="{by}" width="{w:.1f}" height="{bar}" fill="{state_colour(state)}" '
                f'fill-opacity="{1.0 if key == "A" else 0.55}"><title>{key}: '
                f"{escape(lesson.name)}, {escape(state)} {percent(share.share)}</title></rect>"
            )
            if share.low is not None and share.high is not None:
                lo, hi = x0 + share.low * scale, x0 + min(share.high, top_value) * scale
                mid = by + bar / 2
                body.append(
                    f'<path class="error-bar" d="M{lo:.1f},{mid}H{hi:.1f}M{lo:.1f},{mid - 4}v8'
                    f'M{hi:.1f},{mid - 4}v8" stroke="#1d2430" stroke-width="1.2" fill="none"/>'
                )
            end = x0 + max(w, (share.high or 0) * scale)
            body.append(
                f'<text class="tick" x="{end + 6:.1f}" y="{by + 12}">{key} '
                f"{percent(share.share)}</text>"
            )
    return _svg(height, label or "each state's share in lessons A and B", "compare", body)
