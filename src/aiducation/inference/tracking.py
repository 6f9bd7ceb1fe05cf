"""A simple IoU tracker: each face keeps one id while its box overlaps its last position."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise intersection-over-union of ``(N, 4)`` and ``(M, 4)`` ``(x, y, w, h)`` boxes."""
    a = np.asarray(a, float).reshape(-1, 4)
    b = np.asarray(b, float).reshape(-1, 4)
    ax1, ay1 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx1, by1 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax1[:, None], bx1) - np.maximum(a[:, None, 0], b[:, 0]), 0, None)
    ih = np.clip(np.minimum(ay1[:, None], by1) - np.maximum(a[:, None, 1], b[:, 1]), 0, None)
    inter = iw * ih
    union = (a[:, 2] * a[:, 3])[:, None] + b[:, 2] * b[:, 3] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


@dataclass
class IoUTracker:
    """Greedy IoU matching of each frame's boxes to live tracks.

    A box joins the live track it overlaps most (IoU ≥ ``iou_threshold``, best pairs first);
    unmatched boxes start new tracks; a track unseen for more than ``max_missed`` updates ends.
    """

    iou_threshold: float = 0.3
    max_missed: int = 5
    _boxes: dict[int, np.ndarray] = field(default_factory=dict, repr=False)
    _missed: dict[int, int] = field(default_factory=dict, repr=False)
    _next_id: int = 0

    def update(self, boxes: list[tuple[float, float, float, float]]) -> list[int]:
        """Track ids for ``boxes`` (same order)."""
        track_ids = list(self._boxes)
        ids = [-1] * len(boxes)
        if track_ids and boxes:
            iou = iou_matrix(np.array(boxes), np.stack([self._boxes[t] for t in track_ids]))
            for flat in np.argsort(-iou, axis=None):
                i, j = np.unravel_index(flat, iou.shape)
                if iou[i, j] < self.iou_threshold:
                    break
                if ids[i] == -1 and track_ids[j] not in ids:
                    ids[i] = track_ids[j]
        for i, box in enumerate(boxes):
            if ids[i] == -1:
                ids[i], self._next_id = self._next_id, self._next_id + 1
            self._boxes[ids[i]] = np.asarray(box, float)
            self._missed[ids[i]] = 0
        for track in track_ids:
            if track not in ids:
                self._missed[track] += 1
                if self._missed[track] > self.max_missed:
                    del self._boxes[track], self._missed[track]
        return ids
