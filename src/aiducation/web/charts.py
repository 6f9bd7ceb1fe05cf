"""Pure chart functions returning inline SVG (no JavaScript, no external assets)."""

from __future__ import annotations

from html import escape

from aiducation.inference.draw import OTHER_COLOUR, STATE_COLOURS


def state_colour(state: str) -> str:
    """CSS hex colour of a learning state (the colours of the annotated images)."""
    b, g, r = STATE_COLOURS.get(state, OTHER_COLOUR)
    return f"#{r:02x}{g:02x}{b:02x}"


def shares_svg(shares: dict[str, float], counts: dict[str, int] | None = None) -> str:
    """Horizontal bar chart of each state's share of faces (0..1)."""
    row, label_w, bar_w = 28, 90, 260
    height = row * len(shares) + 8
    parts = [
        f'<svg class="chart shares" role="img" aria-label="share of faces per state" '
        f'width="{label_w + bar_w + 110}" height="{height}" '
        f'viewBox="0 0 {label_w + bar_w + 110} {height}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, (state, share) in enumerate(shares.items()):
        y = 4 + i * row
        width = max(0.0, min(1.0, float(share))) * bar_w
        count = f" ({counts[state]})" if counts and state in counts else ""
        parts += [
            f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end">{escape(state)}</text>',
            f'<rect x="{label_w}" y="{y + 3}" width="{bar_w}" height="{row - 8}" fill="#eee"/>',
            f'<rect class="bar" data-state="{escape(state)}" x="{label_w}" y="{y + 3}" '
            f'width="{width:.1f}" height="{row - 8}" fill="{state_colour(state)}"/>',
            f'<text x="{label_w + bar_w + 6}" y="{y + 17}">{share:.0%}{count}</text>',
        ]
    parts.append("</svg>")
    return "".join(parts)
