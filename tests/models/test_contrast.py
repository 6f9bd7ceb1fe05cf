"""CLAHE inside the model: matches OpenCV, survives BatchNorm folding and checkpoints."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from aiducation.inference.classifier import fuse_for_inference
from aiducation.models import create_model
from aiducation.models.checkpoint import load_checkpoint, save_checkpoint
from aiducation.models.contrast import Clahe, contrast_layer


def faces(seed: int, n: int = 24) -> np.ndarray:
    """Face-like uint8 crops: smooth gradients, blobs and noise, some dark and flat."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:48, 0:48]
    out = []
    for i in range(n):
        base = 90 + 60 * np.sin(xx / rng.uniform(4, 12)) * np.cos(yy / rng.uniform(4, 12))
        base += rng.normal(0, rng.uniform(1, 20), (48, 48))
        scale = [1.0, 0.3, 0.1][i % 3]  # normal, low contrast, nearly flat
        out.append(np.clip(base * scale + rng.uniform(0, 40), 0, 255).astype(np.uint8))
    return np.stack(out)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_clahe_matches_opencv_within_one_grey_level(seed):
    crops = faces(seed)
    reference = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(4, 4))
    expected = np.stack([reference.apply(face) for face in crops]).astype(int)
    batch = torch.from_numpy(crops).unsqueeze(1).float() / 255
    got = (Clahe()(batch) * 255).round().squeeze(1).numpy().astype(int)
    difference = np.abs(got - expected)
    assert difference.max() <= 1
    assert (difference > 0).mean() < 0.02  # float rounding only, on a few pixels


def test_clahe_spreads_a_dark_face_over_the_grey_levels():
    dark = (faces(3)[:1].astype(float) * 0.15).astype(np.uint8)
    out = Clahe()(torch.from_numpy(dark).unsqueeze(1).float() / 255)
    assert float(out.std()) > 2 * float(dark.std() / 255)  # measured: 2.4×


def test_contrast_layer_names():
    assert isinstance(contrast_layer("clahe"), Clahe)
    assert isinstance(contrast_layer("none"), torch.nn.Identity)
    with pytest.raises(ValueError, match="contrast must be one of none, clahe"):
        contrast_layer("hist")


def test_model_with_clahe_folds_and_round_trips_a_checkpoint(tmp_path):
    torch.manual_seed(0)
    model = create_model("faceresnet_t", num_classes=5, contrast="clahe").eval()
    x = torch.from_numpy(faces(4)).unsqueeze(1).float() / 255
    with torch.no_grad():
        expected = model(x)
        fused = fuse_for_inference(model, channels_last=False)
        assert isinstance(fused, torch.fx.GraphModule)  # CLAHE is one opaque node
        torch.testing.assert_close(fused(x), expected, atol=1e-5, rtol=1e-4)
    save_checkpoint(
        tmp_path, model, arch="faceresnet_t", arch_kwargs={"num_classes": 5, "contrast": "clahe"},
        classes=["Angry", "Bored", "Focused", "Neutral", "Other"],
    )  # fmt: skip
    loaded = load_checkpoint(tmp_path).model.eval()
    assert isinstance(loaded.contrast, Clahe)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), expected)


def test_clahe_changes_what_the_model_sees():
    torch.manual_seed(0)
    plain = create_model("faceresnet_t", num_classes=4).eval()
    torch.manual_seed(0)
    normalised = create_model("faceresnet_t", num_classes=4, contrast="clahe").eval()
    x = torch.from_numpy(faces(5)).unsqueeze(1).float() / 255
    with torch.no_grad():
        assert not torch.allclose(plain(x), normalised(x))
