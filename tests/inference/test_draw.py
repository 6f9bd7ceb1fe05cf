"""Annotated pictures: labels inside the picture and apart from each other, the legend."""

import numpy as np
import pytest

from aiducation.inference.draw import (
    STATE_COLOURS,
    STATE_MEANINGS,
    annotate,
    draw_legend,
    layout_labels,
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
    above = layout_labels([face(0, (200, 100, 60, 60))], 640, 480)[0].rect
    assert above[3] <= 100 and above[0] == 200
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
