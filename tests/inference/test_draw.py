"""Annotated pictures: labels inside the picture and apart from each other, the legend."""

import numpy as np
import pytest

from aiducation.inference.draw import (
    CLEARANCE,
    STATE_COLOURS,
    STATE_MEANINGS,
    annotate,
    draw_legend,
    layout_labels,
    rect_gap,
)
from aiducation.inference.results import FaceResult

CLASSES = ["Angry", "Bored", "Focused", "Neutral", "Other"]


def face(i: int, box, state: str = "Bored", expression: str | None = None) -> FaceResult:
    return FaceResult(i, tuple(box), 0.9, state, 0.57, {state: 0.57}, expression=expression)


def _inside(rect, width, height) -> bool:
    x0, y0, x1, y1 = rect
    return 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height


def _overlap(a, b) -> int:
    return max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))


@pytest.mark.parametrize("size", [(120, 90), (500, 332), (1024, 715), (4000, 3000)])
def test_labels_never_leave_the_picture(size) -> None:
    width, height = size
    rng = np.random.default_rng(width)
    side = max(12, width // 14)
    faces = []
    for i in range(25):  # faces anywhere, also touching every edge and corner
        x = int(rng.choice([0, width - side, rng.integers(0, width - side)]))
        y = int(rng.choice([0, height - side, rng.integers(0, height - side)]))
        faces.append(face(i, (x, y, side, side), "Other", "happiness"))
    labels = layout_labels(faces, width, height)
    assert len(labels) == len(faces)
    assert all(_inside(label.rect, width, height) for label in labels)


def test_a_label_wider_than_the_picture_is_shrunk_to_fit() -> None:
    labels = layout_labels([face(16, (2, 2, 20, 20), "Other", "happiness")], 40, 30)
    assert _inside(labels[0].rect, 40, 30) and labels[0].text.startswith("16")


def test_neighbours_labels_do_not_overlap() -> None:
    # a row of close faces, as in a 500-px group photo: labels wider than the faces
    faces = [face(i, (20 + 45 * i, 120, 40, 48), "Focused") for i in range(9)]
    labels = layout_labels(faces, 500, 332)
    rects = [label.rect for label in labels]
    assert all(_overlap(a, b) == 0 for i, a in enumerate(rects) for b in rects[i + 1 :])
    # each label touches or sits near its own face
    for f, label in zip(faces, labels, strict=True):
        _, y, _, h = f.box
        assert label.rect[1] <= y + h + 30 and label.rect[3] >= y - 30


def test_label_sits_above_a_lone_face_and_inside_at_the_top_edge() -> None:
    (label,) = layout_labels([face(0, (200, 100, 60, 60))], 640, 480)
    above = label.rect
    assert above[3] == 100 and abs((above[0] + above[2]) / 2 - 230) <= 1  # centred, touching
    assert label.text == "0 Bored 57%"  # room enough: the full text
    top = layout_labels([face(0, (200, 0, 60, 60))], 640, 480)[0].rect
    assert top[1] >= 0 and _inside(top, 640, 480)


def test_legend_band_lists_every_state_with_its_meaning() -> None:
    assert set(STATE_MEANINGS) == set(STATE_COLOURS)
    image = np.zeros((200, 320, 3), np.uint8)
    shown = draw_legend(image, CLASSES)
    assert shown.shape[0] > 200 and shown.shape[1] == 320
    np.testing.assert_array_equal(shown[:200], image)
    band = shown[200:]
    for state in CLASSES:  # a swatch of each state's colour is drawn
        assert (band == np.array(STATE_COLOURS[state], np.uint8)).all(axis=2).sum() > 20
    plain = annotate(image, [face(0, (10, 10, 40, 40))])
    assert plain.shape == image.shape
    assert annotate(image, [], legend=CLASSES).shape == shown.shape


def crowd(seed: int, width: int, height: int, side: int) -> list[FaceResult]:
    """A generated group photo: rows of faces a few px apart, jittered, some at the edges,
    with long labels ("Other: happy") much wider than the faces."""
    rng = np.random.default_rng(seed)
    faces, y = [], int(rng.integers(0, side // 2))
    while y + side <= height:
        x = int(rng.integers(0, side // 3))
        while x + side <= width:
            w = int(side * rng.uniform(0.8, 1.0))
            h = int(w * rng.uniform(1.0, 1.25))
            dy = int(rng.integers(0, side // 4))
            if y + dy + h <= height and rng.random() < 0.85:
                state = "Other" if rng.random() < 0.6 else "Focused"
                faces.append(face(len(faces), (x, y + dy, w, h), state, "happiness"))
            x += w + int(rng.integers(CLEARANCE + 1, side // 2))
        y += int(side * rng.uniform(1.3, 2.2))
    return faces


@pytest.mark.parametrize(
    "seed, size, side",
    [(0, (1024, 715), 55), (1, (500, 332), 40), (2, (640, 480), 70), (3, (1920, 1080), 90),
     (4, (320, 240), 28), (5, (1024, 768), 120)],
)  # fmt: skip
def test_each_label_touches_its_own_face_and_is_nearer_it_than_any_other(seed, size, side):
    """Labels in a crowd: each touches its own box, keeps clear of every other box (so it is
    nearer its own box than any other), stays in the picture and overlaps no other label."""
    width, height = size
    faces = crowd(seed, width, height, side)
    assert len(faces) >= 6
    labels = layout_labels(faces, width, height)
    boxes = [(x, y, x + w, y + h) for x, y, w, h in (f.box for f in faces)]
    for i, (f, label) in enumerate(zip(faces, labels, strict=True)):
        assert _inside(label.rect, width, height)
        assert label.text.split()[0] == str(f.face_id)  # at least the face's id
        assert rect_gap(label.rect, boxes[i]) == 0, (f.face_id, label)
        nearest_other = min(rect_gap(label.rect, b) for k, b in enumerate(boxes) if k != i)
        assert nearest_other >= CLEARANCE > 0, (f.face_id, label)
    rects = [label.rect for label in labels]
    assert all(_overlap(a, b) == 0 for i, a in enumerate(rects) for b in rects[i + 1 :])
    # most labels keep their state: the text is only shortened where there is no room (in the
    # 28-px crowd of a 320×240 picture about half are ids alone; the box colour says the state)
    kept = sum(len(label.text.split()) > 1 for label in labels) / len(labels)
    assert kept >= (0.8 if side >= 40 else 0.4)


def test_rect_gap_is_zero_for_touching_rectangles() -> None:
    assert rect_gap((0, 0, 10, 10), (10, 0, 20, 10)) == 0  # side by side
    assert rect_gap((0, 0, 10, 10), (10, 10, 20, 20)) == 0  # corner to corner
    assert rect_gap((0, 0, 10, 10), (13, 14, 20, 20)) == 5


def _luminance(bgr) -> float:
    linear = [(c / 255) / 12.92 if c <= 10 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in bgr]
    b, g, r = linear
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_other_shows_on_dark_and_light_backgrounds() -> None:
    """WCAG contrast of Other's colour is at least 3:1 against black and against white (the
    old dark slate had 2.6:1 against black and vanished on dark clothing)."""
    lum = _luminance(STATE_COLOURS["Other"])
    assert (lum + 0.05) / 0.05 >= 3 and 1.05 / (lum + 0.05) >= 3
    image = np.zeros((200, 200, 3), np.uint8)  # dark clothing: the box is drawn at least 2 px
    out = annotate(image, [face(0, (60, 60, 60, 60), "Other", "happiness")])
    edge = (out[70:110, 58:64] == np.array(STATE_COLOURS["Other"], np.uint8)).all(axis=2)
    assert edge.any(axis=0).sum() >= 2
