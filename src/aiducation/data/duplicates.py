"""Pixel-identical duplicates: one group id per image, shared by images with identical bytes."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd


def duplicate_groups(images: np.ndarray) -> np.ndarray:
    """Group id per image (0, 1, ... in order of first appearance); equal pixels, equal id."""
    images = np.ascontiguousarray(images)
    digests = [hashlib.blake2b(image.tobytes(), digest_size=16).digest() for image in images]
    codes, _ = pd.factorize(pd.Series(digests, dtype=object))
    return codes.astype(np.int64)


def group_stats(groups: np.ndarray) -> dict[str, int]:
    """Distinct images, groups holding more than one image and the images in those groups."""
    sizes = np.bincount(groups) if len(groups) else np.zeros(0, dtype=np.int64)
    sizes = sizes[sizes > 0]
    return {
        "images": len(groups),
        "distinct": len(sizes),
        "groups_with_copies": int((sizes > 1).sum()),
        "images_in_those_groups": int(sizes[sizes > 1].sum()),
    }


def groups_across_splits(groups: np.ndarray, split: np.ndarray) -> int:
    """How many duplicate groups have images in more than one split (leaks)."""
    frame = pd.DataFrame({"group": groups, "split": split})
    return int((frame.groupby("group")["split"].nunique() > 1).sum())
