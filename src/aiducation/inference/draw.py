"""Annotated copies of frames: boxes coloured by state, labels that stay inside the picture and
avoid each other, an optional legend of what each state means, and face blur."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from aiducation.inference.results import FaceResult

# BGR colours per learning state; other class names fall back to grey.
STATE_COLOURS: dict[str, tuple[int, int, int]] = {
    "Angry": (40, 40, 220),
    "Bored": (200, 120, 40),
    "Focused": (60, 180, 60),
    "Neutral": (170, 170, 170),
    "Other": (90, 80, 80),  # outside the scheme: a dark neutral slate
}
# One line per state: what the labelling rules (docs/data.md, the model card) mean by it.
STATE_MEANINGS: dict[str, str] = {
    "Angry": "crowd saw anger (more than 2 of 10 votes, or anger the top emotion)",
    "Bored": "some sadness, no happiness or fear, little anger",
    "Focused": "neutral face with no sadness or anger at all",
    "Neutral": "clearly neutral (over 6 of 10 votes) with a trace of sadness or anger",
    "Other": "none of the four states, e.g. smiling, surprised or fearful",
}
OTHER_COLOUR = (128, 128, 128)
BLUR_GROWTH = 0.15  # blurred area extends this fraction of the box beyond each side
FONT = cv2.FONT_HERSHEY_SIMPLEX
Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive)


def _grown(box: tuple[int, int, int, int], fraction: float) -> tuple[int, int, int, int]:
    x, y, w, h = box
    dx, dy = round(w * fraction), round(h * fraction)
    return x - dx, y - dy, w + 2 * dx, h + 2 * dy


def blur_faces(image: np.ndarray, boxes: list[tuple[int, int, int, int]]) -> np.ndarray:
    """Copy of ``image`` with each box pixelated beyond recognition (Gaussian-blurred blocks)."""
    out = image.copy()
    height, width = out.shape[:2]
    for x, y, w, h in boxes:
        x0, y0 = max(int(x), 0), max(int(y), 0)
        x1, y1 = min(int(x + w), width), min(int(y + h), height)
        if x1 <= x0 or y1 <= y0:
            continue
        region = out[y0:y1, x0:x1]
        small = cv2.resize(region, (6, 6), interpolation=cv2.INTER_AREA)
        blocks = cv2.resize(small, (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST)
        out[y0:y1, x0:x1] = cv2.GaussianBlur(blocks, (0, 0), max(1.0, (x1 - x0) / 12))
    return out


@dataclass(frozen=True)
class Label:
    """A face's label as placed: its text, font scale and rectangle in the picture."""

    text: str
    scale: float
    rect: Rect


def font_scale(face_width: float, width: int, height: int) -> float:
    """Text size for faces of ``face_width`` px: about a third of a face wide per word, at
    least ~10 px high on small pictures and growing with large ones."""
    side = min(width, height)
    low, high = max(0.35, side / 1600), max(1.0, side / 700)
    return float(np.clip(face_width / 120, low, high))


def _size(text: str, scale: float) -> tuple[int, int]:
    (tw, th), base = cv2.getTextSize(text, FONT, scale, 1)
    return tw + 4, th + base + 4


def _fit(text: str, scale: float, width: int) -> tuple[str, float]:
    """Shrink the font, then drop words from the end, until the label fits ``width``."""
    while _size(text, scale)[0] > width and scale > 0.3:
        scale = round(scale - 0.05, 2)
    words = text.split()
    while _size(text, scale)[0] > width and len(words) > 1:
        words = words[:-1]
        text = " ".join(words)
    while _size(text, scale)[0] > width and len(text) > 1:
        text = text[:-1]
    return text, scale


def _overlap(a: Rect, b: Rect) -> int:
    return max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))


def _candidates(box: Rect, size: tuple[int, int], width: int, height: int) -> list[Rect]:
    """Label positions around a face box, most natural first, each shifted into the picture."""
    x0, y0, x1, y1 = box
    lw, lh = size
    rows = [y0 - lh, y1, y0, y1 - lh]  # above, below, inside top, inside bottom
    columns = [x0, x1 - lw, (x0 + x1 - lw) // 2, x0 - lw // 2, x1 - lw // 2]
    out = []
    for top in rows:
        for left in columns:
            left = min(max(left, 0), max(width - lw, 0))
            top = min(max(top, 0), max(height - lh, 0))
            out.append((left, top, left + lw, top + lh))
    return out


def layout_labels(faces: list[FaceResult], width: int, height: int) -> list[Label]:
    """Place each face's label (``id state confidence``) inside the ``width``×``height``
    picture, avoiding labels already placed and, where possible, other faces."""
    face_width = float(np.median([f.box[2] for f in faces])) if faces else 60.0
    base_scale = font_scale(face_width, width, height)
    boxes = [(x, y, x + w, y + h) for x, y, w, h in (f.box for f in faces)]
    placed: list[Label | None] = [None] * len(faces)
    for i in sorted(range(len(faces)), key=lambda k: (boxes[k][1], boxes[k][0])):
        face = faces[i]
        text, scale = _fit(f"{face.face_id} {face.label} {face.confidence:.0%}", base_scale, width)
        size = _size(text, scale)
        best, best_cost = None, None
        for rank, rect in enumerate(_candidates(boxes[i], size, width, height)):
            cost = rank + sum(1000 * _overlap(rect, p.rect) for p in placed if p is not None)
            cost += sum(_overlap(rect, b) for k, b in enumerate(boxes) if k != i)
            if best_cost is None or cost < best_cost:
                best, best_cost = rect, cost
        placed[i] = Label(text, scale, best)
    return [label for label in placed if label is not None]


def _wrap(text: str, scale: float, width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        trial = f"{line} {word}".strip()
        if line and _size(trial, scale)[0] > width:
            lines.append(line)
            line = word
        else:
            line = trial
    return [*lines, line] if line else lines


def draw_legend(image: np.ndarray, classes: list[str]) -> np.ndarray:
    """``image`` with a white band below it: a colour swatch and one line per state."""
    width = image.shape[1]
    scale = float(np.clip(width / 1400, 0.35, 0.8))
    line_h = _size("Ag", scale)[1] + 2
    swatch = line_h
    rows = []
    for state in classes:
        meaning = STATE_MEANINGS.get(state, "")
        text = f"{state}: {meaning}" if meaning else state
        rows.append((state, _wrap(text, scale, max(width - swatch - 12, 20))))
    band_h = sum(len(lines) for _, lines in rows) * line_h + 8
    band = np.full((band_h, width, 3), 255, np.uint8)
    y = 4
    for state, lines in rows:
        cv2.rectangle(band, (4, y + 2), (4 + swatch - 4, y + swatch - 2), _colour(state), -1)
        for line in lines:
            cv2.putText(band, line, (swatch + 6, y + line_h - 6), FONT, scale, (20, 20, 20), 1,
                        cv2.LINE_AA)  # fmt: skip
            y += line_h
    return np.vstack([image, band])


def _colour(state: str) -> tuple[int, int, int]:
    return STATE_COLOURS.get(state, OTHER_COLOUR)


def _text_colour(background: tuple[int, int, int]) -> tuple[int, int, int]:
    """Black on light label backgrounds (Neutral grey), white on dark ones."""
    b, g, r = background
    return (0, 0, 0) if 0.114 * b + 0.587 * g + 0.299 * r > 150 else (255, 255, 255)


def annotate(
    image: np.ndarray,
    faces: list[FaceResult],
    blur: bool = False,
    legend: list[str] | None = None,
) -> np.ndarray:
    """Copy of ``image`` (BGR) with a labelled box per face; faces blurred first if ``blur``;
    with ``legend`` (the states), a band below the picture says what each state means."""
    out = image if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    out = blur_faces(out, [_grown(f.box, BLUR_GROWTH) for f in faces]) if blur else out.copy()
    height, width = out.shape[:2]
    face_width = float(np.median([f.box[2] for f in faces])) if faces else 60.0
    thickness = max(1, round(face_width / 40))
    for face in faces:
        x, y, w, h = face.box
        cv2.rectangle(out, (x, y), (x + w, y + h), _colour(face.state), thickness)
    for face, label in zip(faces, layout_labels(faces, width, height), strict=True):
        x0, y0, x1, y1 = label.rect
        cv2.rectangle(out, (x0, y0), (x1 - 1, y1 - 1), _colour(face.state), -1)
        base = cv2.getTextSize(label.text, FONT, label.scale, 1)[1]
        cv2.putText(out, label.text, (x0 + 2, y1 - base - 2), FONT, label.scale,
                    _text_colour(_colour(face.state)), 1, cv2.LINE_AA)  # fmt: skip
    return draw_legend(out, legend) if legend else out
