"""Detector evaluation against ground-truth boxes: greedy IoU matching, dlib XML reader."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aiducation.inference.tracking import iou_matrix

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class DetectionCounts:
    """True positives (matched faces), false positives and missed faces."""

    true_positives: int
    false_positives: int
    missed: int

    @property
    def faces(self) -> int:
        return self.true_positives + self.missed

    def __add__(self, other: DetectionCounts) -> DetectionCounts:
        return DetectionCounts(
            self.true_positives + other.true_positives,
            self.false_positives + other.false_positives,
            self.missed + other.missed,
        )


def match_boxes(
    predicted: list[Box], truth: list[Box], iou_threshold: float = 0.3
) -> DetectionCounts:
    """Match each true box to at most one prediction (best IoU first, IoU ≥ threshold)."""
    if not predicted or not truth:
        return DetectionCounts(0, len(predicted), len(truth))
    iou = iou_matrix(np.array(predicted), np.array(truth))
    used_pred, used_truth = set(), set()
    for flat in np.argsort(-iou, axis=None):
        i, j = np.unravel_index(flat, iou.shape)
        if iou[i, j] < iou_threshold:
            break
        if i not in used_pred and j not in used_truth:
            used_pred.add(i)
            used_truth.add(j)
    matched = len(used_truth)
    return DetectionCounts(matched, len(predicted) - matched, len(truth) - matched)


def read_dlib_boxes(xml_path: str | Path) -> dict[str, list[Box]]:
    """``{image file: [(x, y, w, h), ...]}`` from a dlib imglab XML file."""
    root = ET.parse(xml_path).getroot()
    return {
        image.get("file"): [
            tuple(float(box.get(k)) for k in ("left", "top", "width", "height"))
            for box in image.iter("box")
        ]
        for image in root.iter("image")
    }
