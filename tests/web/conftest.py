"""Fixtures for the web tests: stub analyzer, generated photos and videos, a tiny checkpoint
with a model card, a results folder, and an app + test client (see webworld.py)."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest
import torch
from fastapi.testclient import TestClient
from tests.stubs import CLASSES
from tests.stubs import stub_analyzer as make_stub_analyzer
from webworld import encode, local_client, scene, write_results

from aiducation.inference.api import Analyzer
from aiducation.models import create_model
from aiducation.models.checkpoint import save_checkpoint
from aiducation.web.app import WebConfig, create_app


@pytest.fixture
def photo_bytes() -> bytes:
    """JPEG with one bright (Angry) and one dark (Bored) 'face'."""
    return encode(scene([(30, 40, 70, 70, 230), (200, 120, 70, 70, 40)]))


@pytest.fixture
def video_bytes(tmp_path: Path) -> bytes:
    """2 s MP4 at 10 fps: a bright face drifting right, a dark one appearing halfway."""
    path = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (320, 240))
    assert writer.isOpened()
    for i in range(20):
        faces = [(20 + 4 * i, 40, 60, 60, 230)] + ([(200, 130, 60, 60, 40)] if i >= 10 else [])
        writer.write(scene(faces))
    writer.release()
    data = path.read_bytes()
    path.unlink()
    return data


@pytest.fixture
def stub_analyzer() -> Analyzer:
    return make_stub_analyzer()


@pytest.fixture(scope="session")
def checkpoint_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random faceresnet_t checkpoint with a small model card beside it."""
    torch.manual_seed(0)
    directory = save_checkpoint(
        tmp_path_factory.mktemp("ckpt") / "model",
        create_model("faceresnet_t"),
        arch="faceresnet_t",
        arch_kwargs={},
        classes=CLASSES,
    )
    (directory / "MODEL_CARD.md").write_text(
        "# Test model card\n\nRandom weights, **not trained**.\n\n"
        "| split | accuracy |\n| --- | --- |\n| test | 0.25 |\n\n- one\n- two <script>x</script>\n"
    )
    return directory


@pytest.fixture
def results_dir(tmp_path: Path) -> Path:
    return write_results(tmp_path / "results")


@pytest.fixture
def web_config(tmp_path: Path, results_dir: Path, checkpoint_dir: Path) -> WebConfig:
    (tmp_path / "scratch").mkdir()
    return WebConfig(
        results=str(results_dir),
        model=str(checkpoint_dir),
        max_upload_mb=1.0,
        video_fps=5.0,
        tmp_dir=str(tmp_path / "scratch"),
    )


@pytest.fixture
def client(web_config: WebConfig, stub_analyzer: Analyzer) -> TestClient:
    return local_client(create_app(web_config, analyzer=stub_analyzer))
