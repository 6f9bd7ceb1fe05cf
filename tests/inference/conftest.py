"""Fixtures for the inference tests: generated scenes/videos, a blob 'face' detector, a
brightness classifier, a small random checkpoint, and the real media folder (skips if absent)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from tests.stubs import CLASSES
from tests.stubs import stub_analyzer as make_stub_analyzer

from aiducation.inference.api import Analyzer
from aiducation.models import create_model
from aiducation.models.checkpoint import save_checkpoint

BRIGHT, DARK = 230, 60  # face intensities on a mid-grey (128) background


def draw_faces(
    image: np.ndarray, faces: list[tuple[int, int, int, int, int]]
) -> list[tuple[int, int, int, int]]:
    """Draw ``(x, y, w, h, intensity)`` squares with dark 'eyes'; return their boxes."""
    for x, y, w, h, value in faces:
        image[y : y + h, x : x + w] = value
        eye = max(2, w // 8)
        for ex in (x + w // 4, x + 3 * w // 4 - eye):
            image[y + h // 3 : y + h // 3 + eye, ex : ex + eye] = value - 40
    return [(x, y, w, h) for x, y, w, h, _ in faces]


def scene(faces: list[tuple[int, int, int, int, int]], size=(480, 640)) -> np.ndarray:
    image = np.full((*size, 3), 128, np.uint8)
    draw_faces(image, faces)
    return image


@pytest.fixture
def stub_analyzer() -> Analyzer:
    return make_stub_analyzer()


@pytest.fixture(scope="session")
def checkpoint_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised faceresnet_t checkpoint with the four learning states."""
    torch.manual_seed(0)
    return save_checkpoint(
        tmp_path_factory.mktemp("ckpt") / "model",
        create_model("faceresnet_t"),
        arch="faceresnet_t",
        arch_kwargs={},
        classes=CLASSES,
    )


def write_video(path: Path, n_frames: int = 20, fps: float = 10.0) -> Path:
    """Two squares (one bright, one dark) drifting right, one appearing halfway through."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (320, 240))
    assert writer.isOpened()
    for i in range(n_frames):
        faces = [(20 + 3 * i, 40, 50, 50, BRIGHT), (200, 120 + i, 50, 50, DARK)]
        if i >= n_frames // 2:
            faces.append((120, 160, 40, 40, BRIGHT))
        writer.write(scene(faces, (240, 320)))
    writer.release()
    return path


@pytest.fixture
def synthetic_video(tmp_path: Path) -> Path:
    return write_video(tmp_path / "class.mp4")


@pytest.fixture(scope="session")
def media_dir(shared_data: Path) -> Path:
    """``../shared/data/media`` with real photos and videos (skips when absent)."""
    media = shared_data / "media"
    if not (media / "pascal_voc_dlib" / "testing.xml").is_file():
        pytest.skip(f"real media not found at {media}")
    return media
