"""Face boxes → 48×48 grayscale ``uint8`` crops, the format the models were trained on.

Each box is made square around its centre, grown by ``margin`` (a fraction of its side on
every side), cut from the grayscale image with edge pixels repeated where it leaves the frame,
and resized with area interpolation. The model divides by 255 itself, exactly as in training.
"""

from __future__ import annotations

import cv2
import numpy as np

CROP_SIZE = 48
DEFAULT_MARGIN = 0.0  # YuNet box squared: framing closest to FER2013 faces (docs)


def to_gray(image: np.ndarray) -> np.ndarray:
    """Grayscale ``uint8`` view of a BGR, BGRA or already-gray image."""
    if image.ndim == 2:
        return image
    code = cv2.COLOR_BGRA2GRAY if image.shape[2] == 4 else cv2.COLOR_BGR2GRAY
    return cv2.cvtColor(image, code)


def square_box(
    box: tuple[float, float, float, float], margin: float = DEFAULT_MARGIN
) -> tuple[int, int, int]:
    """``(x0, y0, side)`` of the square with the box's centre and its longer side + margins."""
    x, y, w, h = box
    side = max(1, round(max(w, h) * (1 + 2 * margin)))
    return round(x + w / 2 - side / 2), round(y + h / 2 - side / 2), side


def crop_face(
    gray: np.ndarray,
    box: tuple[float, float, float, float],
    margin: float = DEFAULT_MARGIN,
    size: int = CROP_SIZE,
) -> np.ndarray:
    """One ``(size, size)`` crop; parts of the square outside the image repeat its edge."""
    x0, y0, side = square_box(box, margin)
    height, width = gray.shape
    cx0, cy0 = max(x0, 0), max(y0, 0)
    cx1, cy1 = min(x0 + side, width), min(y0 + side, height)
    if cx1 <= cx0 or cy1 <= cy0:  # box entirely outside the image
        return np.zeros((size, size), np.uint8)
    patch = cv2.copyMakeBorder(
        gray[cy0:cy1, cx0:cx1],
        cy0 - y0,
        y0 + side - cy1,
        cx0 - x0,
        x0 + side - cx1,
        cv2.BORDER_REPLICATE,
    )
    interpolation = cv2.INTER_AREA if side >= size else cv2.INTER_LINEAR
    return cv2.resize(patch, (size, size), interpolation=interpolation)


def crop_faces(
    image: np.ndarray,
    boxes: list[tuple[float, float, float, float]],
    margin: float = DEFAULT_MARGIN,
    size: int = CROP_SIZE,
) -> np.ndarray:
    """``(N, size, size)`` ``uint8`` crops for ``boxes`` in ``image`` (BGR or gray)."""
    gray = to_gray(image)
    crops = [crop_face(gray, box, margin, size) for box in boxes]
    return np.stack(crops) if crops else np.zeros((0, size, size), np.uint8)
