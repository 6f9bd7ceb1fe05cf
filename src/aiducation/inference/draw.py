"""Annotated copies of frames: boxes coloured by state, each label touching its own box, clear
of every other face and label and inside the picture (:func:`layout_labels`), an optional legend
of what each state means, and face blur."""

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
    # outside the scheme: magenta, mid-bright and saturated, so it shows on dark clothing and
    # light walls alike (a dark slate vanished on dark clothes)
    "Other": (200, 60, 210),
    # not answered (too small, blurred, turned away): a pale neutral, unlike any state
    "Uncertain": (225, 235, 240),
}
# One line per state: what the labelling rules (docs/data.md, the model card) mean by it.
STATE_MEANINGS: dict[str, str] = {
    "Angry": "crowd saw anger (more than 2 of 10 votes, or anger the top emotion)",
    "Bored": "some sadness, no happiness or fear, little anger",
    "Focused": "neutral face with no sadness or anger at all",
    "Neutral": "clearly neutral (over 6 of 10 votes) with a trace of sadness or anger",
    "Other": "none of the four states, e.g. smiling, surprised or fearful",
    "Uncertain": "not answered: the face is too small, blurred, too dark or turned away",
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


def rect_gap(a: Rect, b: Rect) -> float:
    """Distance between two rectangles in px: 0 when they touch (share an edge or a corner)
    or overlap."""
    dx = max(0, max(a[0], b[0]) - min(a[2], b[2]))
    dy = max(0, max(a[1], b[1]) - min(a[3], b[3]))
    return float(np.hypot(dx, dy))


def _candidates(box: Rect, size: tuple[int, int], width: int, height: int) -> np.ndarray:
    """Label rectangles that touch ``box`` and lie inside the picture, as rows
    ``x0, y0, x1, y1, preference`` (0: above the box, centred; then aligned left or right,
    sliding along the top, below, beside; inside the box costs more in :func:`_place`)."""
    x0, y0, x1, y1 = box
    lw, lh = size
    grip = max(1, min(lw, x1 - x0) // 3)  # a sliding label keeps this much beside the box
    lefts = [((x0 + x1 - lw) // 2, 0.0), (x0, 0.5), (x1 - lw, 0.5)]
    lefts += [
        (int(v), 1.0 + abs(v - (x0 + x1 - lw) / 2) / max(lw, 1))
        for v in np.linspace(x0 - lw + grip, x1 - grip, 9)
    ]
    tops = [(y0, 0.0), ((y0 + y1 - lh) // 2, 0.3), (y1 - lh, 0.6)]
    rows = []
    for top, pref in ((y0 - lh, 0.0), (y1, 3.0), (y0, 2.0), (y1 - lh, 4.0)):
        rows += [(left, top, pref + p) for left, p in lefts]
    for left, pref in ((x1, 6.0), (x0 - lw, 7.0)):
        rows += [(left, top, pref + p) for top, p in tops]
    out = np.array(rows, dtype=float)
    out[:, 0] = np.clip(out[:, 0], 0, max(width - lw, 0))
    out[:, 1] = np.clip(out[:, 1], 0, max(height - lh, 0))
    rects = np.column_stack([out[:, 0], out[:, 1], out[:, 0] + lw, out[:, 1] + lh, out[:, 2]])
    touching = _gaps(rects[:, :4], np.array([box], dtype=float))[:, 0] == 0
    return rects[touching] if touching.any() else rects


def _gaps(rects: np.ndarray, others: np.ndarray) -> np.ndarray:
    """``(len(rects), len(others))`` distances between rectangles (0: touching or overlapping)."""
    if len(others) == 0:
        return np.zeros((len(rects), 0))
    a, b = rects[:, None, :], others[None, :, :]
    dx = np.maximum(0, np.maximum(a[..., 0], b[..., 0]) - np.minimum(a[..., 2], b[..., 2]))
    dy = np.maximum(0, np.maximum(a[..., 1], b[..., 1]) - np.minimum(a[..., 3], b[..., 3]))
    return np.hypot(dx, dy)


def _areas(rects: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Total overlap area of each of ``rects`` with ``others``."""
    if len(others) == 0:
        return np.zeros(len(rects))
    a, b = rects[:, None, :], others[None, :, :]
    w = np.maximum(0, np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]))
    h = np.maximum(0, np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]))
    return (w * h).sum(axis=1)


# Costs of a label position. A position is *clean* (cost below AMBIGUOUS) when it overlaps no
# other face or label, keeps CLEARANCE px from every other face and has its centre nearer its
# own face than any other; a shorter text is tried before an unclean position is accepted.
FOREIGN_FACE, TOO_CLOSE, FOREIGN_LABEL, AMBIGUOUS = 1e6, 1e5, 1e4, 1e3
CLEARANCE = 3  # px: a label keeps at least this far from every face but its own
TEXT_STEP = 6.0  # cost of each step to a smaller or shorter text (_variants)
OWN_MARGIN = 1.5  # a clean label's centre is this many times nearer its own face than any other


def _variants(face: FaceResult, scale: float, width: int) -> list[tuple[str, float]]:
    """Texts to try, longest first: ``id state confidence`` at full and smaller size, then
    without the confidence, then id and state, then the id alone (the box colour still says
    the state)."""
    texts = [f"{face.face_id} {face.label} {face.confidence:.0%}", f"{face.face_id} {face.label}"]
    if face.label != face.state:
        texts.append(f"{face.face_id} {face.state}")
    texts.append(str(face.face_id))
    out = []
    for text in texts:
        for factor in (1.0, 0.8):
            fitted = _fit(text, max(0.3, round(scale * factor, 2)), width)
            if fitted not in out:
                out.append(fitted)
    return out


def _place(
    i: int, face: FaceResult, boxes: np.ndarray, labels: np.ndarray, scale: float,
    width: int, height: int,
) -> tuple[Label, float]:  # fmt: skip
    """The best label for face ``i``: the first text variant with a clean position touching its
    own box (see AMBIGUOUS); where none has one, the cheapest."""
    others = np.delete(boxes, i, axis=0)
    own = boxes[i : i + 1]
    near = max(4.0, float(np.median(boxes[:, 3] - boxes[:, 1])) / 2)
    best: tuple[Label, float] | None = None
    for rank, (text, size_scale) in enumerate(_variants(face, scale, width)):
        size = _size(text, size_scale)
        rects, area = _candidates(tuple(boxes[i]), size, width, height), size[0] * size[1]
        gaps = _gaps(rects[:, :4], others)
        closest = gaps.min(axis=1) if gaps.shape[1] else np.full(len(rects), np.inf)
        centres = np.tile((rects[:, 0:2] + rects[:, 2:4]) / 2, 2)  # points as rects
        centre_gaps = _gaps(centres, others)
        centre_other = centre_gaps.min(axis=1) if gaps.shape[1] else np.full(len(rects), np.inf)
        cost = (
            rects[:, 4]
            + 12 * _areas(rects[:, :4], own) / area  # covering its own face: a last resort
            + FOREIGN_FACE * _areas(rects[:, :4], others)
            + TOO_CLOSE * (closest < CLEARANCE)
            + FOREIGN_LABEL * _areas(rects[:, :4], labels)
            + AMBIGUOUS * (centre_other < OWN_MARGIN * _gaps(centres, own)[:, 0])
            + 8 * np.clip(near - closest, 0, None) / near  # rather away from other faces
            + TEXT_STEP * rank  # a smaller or shorter text rather than a much worse place
        )
        k = int(np.argmin(cost))
        rect = tuple(int(v) for v in rects[k, :4])
        if best is None or cost[k] < best[1]:
            best = (Label(text, size_scale, rect), float(cost[k]))
        if best[1] <= TEXT_STEP * (rank + 1):  # no smaller or shorter text can do better
            break
    return best


def layout_labels(faces: list[FaceResult], width: int, height: int) -> list[Label]:
    """Place each face's label (``id state confidence``) inside the ``width``×``height``
    picture, touching its own face's box and, wherever the picture leaves room, clear of every
    other face and label (so a label is always nearer its own face than any other); where the
    full text does not fit it is set smaller, then shortened (confidence, expression, state)."""
    if not faces:
        return []
    face_width = float(np.median([f.box[2] for f in faces]))
    scale = font_scale(face_width, width, height)
    boxes = np.array([(x, y, x + w, y + h) for x, y, w, h in (f.box for f in faces)], float)
    order = sorted(range(len(faces)), key=lambda k: (boxes[k][1], boxes[k][0]))
    placed: dict[int, Label] = {}
    for _ in range(2):  # the second pass re-places each label knowing all the others
        for i in order:
            labels = np.array([placed[k].rect for k in placed if k != i], float).reshape(-1, 4)
            placed[i], _ = _place(i, faces[i], boxes, labels, scale, width, height)
    return [placed[i] for i in range(len(faces))]


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
    thickness = max(2, round(face_width / 40))
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
