"""IoU tracker: ids follow moving boxes, new faces get new ids, lost tracks expire."""

import numpy as np
import pytest

from aiducation.inference.tracking import IoUTracker, iou_matrix


def test_iou_matrix_values() -> None:
    iou = iou_matrix(
        np.array([[0, 0, 10, 10]]), np.array([[0, 0, 10, 10], [5, 0, 10, 10], [20, 20, 5, 5]])
    )
    np.testing.assert_allclose(iou, [[1.0, 50 / 150, 0.0]])


def test_ids_follow_moving_boxes_and_new_faces_get_new_ids() -> None:
    tracker = IoUTracker(iou_threshold=0.3)
    assert tracker.update([(0, 0, 20, 20), (100, 0, 20, 20)]) == [0, 1]
    # moved a little, listed in the other order, plus a new face
    assert tracker.update([(104, 2, 20, 20), (3, 1, 20, 20), (50, 50, 20, 20)]) == [1, 0, 2]


def test_each_id_is_used_once_per_frame() -> None:
    tracker = IoUTracker(iou_threshold=0.1)
    tracker.update([(0, 0, 20, 20)])
    ids = tracker.update([(1, 0, 20, 20), (2, 0, 20, 20)])
    assert sorted(ids) == [0, 1]


@pytest.mark.parametrize(("gap", "same_id"), [(2, True), (3, False)])
def test_tracks_expire_after_max_missed(gap: int, same_id: bool) -> None:
    tracker = IoUTracker(max_missed=2)
    tracker.update([(0, 0, 20, 20)])
    for _ in range(gap):
        tracker.update([])
    assert (tracker.update([(0, 0, 20, 20)]) == [0]) is same_id
