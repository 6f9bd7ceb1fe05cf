"""Annotated copies of frames: boxes coloured by state with label and confidence; face blur."""

from __future__ import annotations

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
OTHER_COLOUR = (128, 128, 128)
BLUR_GROWTH = 0.15  # blurred area extends this fraction of the box beyond each side


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


def annotate(image: np.ndarray, faces: list[FaceResult], blur: bool = False) -> np.ndarray:
    """Copy of ``image`` (BGR) with a labelled box per face; faces blurred first if ``blur``."""
    out = image if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    out = blur_faces(out, [_grown(f.box, BLUR_GROWTH) for f in faces]) if blur else out.copy()
    face_width = float(np.median([f.box[2] for f in faces])) if faces else 60.0
    thickness = max(1, round(face_width / 40))
    font_scale = float(np.clip(face_width / 140, 0.3, 1.2))
    for face in faces:
        x, y, w, h = face.box
        colour = STATE_COLOURS.get(face.state, OTHER_COLOUR)
        cv2.rectangle(out, (x, y), (x + w, y + h), colour, thickness)
        label = f"{face.face_id} {face.label} {face.confidence:.0%}"
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, font_scale, 1)
        ty = y - 2 if y - th - base - 2 >= 0 else y + h + th + 2
        cv2.rectangle(out, (x, ty - th - base), (x + tw + 2, ty + base - 1), colour, -1)
        cv2.putText(
            out, label, (x + 1, ty - 1), cv2.FONT_HERSHEY_SIMPLEX, font_scale, (255, 255, 255),
            1, cv2.LINE_AA,
        )  # fmt: skip
    return out
