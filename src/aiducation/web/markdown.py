"""A small, safe Markdown renderer for model cards and reports.

It covers what those files use: headings, paragraphs, lists, tables, code blocks, bold,
italics, code spans and links. All text is HTML-escaped first, so no raw HTML passes.
"""

from __future__ import annotations

import re
from html import escape

from markupsafe import Markup

BLOCK_START = re.compile(r"(#|```|\s*\||\s*[-*]\s|\s*\d+\.\s)")


def _inline(text: str) -> str:
    text = escape(text, quote=False)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", text)
    text = re.sub(r"(?<![*\w])\*([^*]+)\*(?!\w)", r"<em>\1</em>", text)
    return re.sub(r"\[([^\]]+)\]\(((?:https?://|#|/)[^)\s\"]*)\)", r'<a href="\2">\1</a>', text)


def _table(lines: list[str]) -> str:
    cells = [[c.strip() for c in line.strip().strip("|").split("|")] for line in lines]
    head, body = cells[0], [r for r in cells[1:] if not all(set(c) <= set(":- ") for c in r)]
    out = ["<table><thead><tr>", *(f"<th>{_inline(c)}</th>" for c in head), "</tr></thead><tbody>"]
    for row in body:
        out += ["<tr>", *(f"<td>{_inline(c)}</td>" for c in row), "</tr>"]
    return "".join([*out, "</tbody></table>"])


def markdown_to_html(text: str) -> Markup:
    """Render the Markdown subset used by model cards (escaped, no raw HTML passes)."""
    blocks: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            blocks.append(f"<pre><code>{escape(chr(10).join(lines[i + 1 : j]))}</code></pre>")
            i = j + 1
        elif heading := re.match(r"(#{1,6})\s+(.*)", line):
            level = len(heading.group(1))
            blocks.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
            i += 1
        elif line.lstrip().startswith("|"):
            j = i
            while j < len(lines) and lines[j].lstrip().startswith("|"):
                j += 1
            blocks.append(_table(lines[i:j]))
            i = j
        elif re.match(r"\s*([-*]|\d+\.)\s+", line):
            ordered = bool(re.match(r"\s*\d+\.", line))
            items: list[str] = []
            while i < len(lines):
                if item := re.match(r"\s*(?:[-*]|\d+\.)\s+(.*)", lines[i]):
                    items.append(item.group(1))
                elif items and lines[i].startswith((" ", "\t")) and lines[i].strip():
                    items[-1] += " " + lines[i].strip()  # wrapped line of the item above
                else:
                    break
                i += 1
            tag = "ol" if ordered else "ul"
            body = "".join(f"<li>{_inline(item)}</li>" for item in items)
            blocks.append(f"<{tag}>{body}</{tag}>")
        elif line.strip():
            j = i
            while (
                j < len(lines)
                and lines[j].strip()
                and not re.match(r"(#|```|\||\s*[-*]\s)", lines[j])
            ):
                j += 1
            j = max(j, i + 1)
            blocks.append(f"<p>{_inline(' '.join(s.strip() for s in lines[i:j]))}</p>")
            i = j
        else:
            i += 1
    return Markup("\n".join(blocks))
