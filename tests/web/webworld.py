"""Generated test world of the web tests: a stub analyzer (blob 'faces', brightness classifier),
synthetic pictures and a results folder like the ones training, grid and bias commands write."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from tests.stubs import CLASSES


def scene(faces: list[tuple[int, int, int, int, int]], size=(240, 320)) -> np.ndarray:
    """Mid-grey picture with ``(x, y, w, h, intensity)`` squares as faces."""
    image = np.full((*size, 3), 128, np.uint8)
    for x, y, w, h, value in faces:
        image[y : y + h, x : x + w] = value
        image[y + h // 3 : y + h // 3 + 4, x + w // 4 : x + w // 4 + 4] = value - 40
    return image


def encode(image: np.ndarray, suffix: str = ".jpg") -> bytes:
    ok, data = cv2.imencode(suffix, image)
    assert ok
    return data.tobytes()


def write_results(root: Path) -> Path:
    """A results folder with a training run, a grid, a bias report and a stray folder."""
    run = root / "runs" / "faceresnet_t"
    (run / "test").mkdir(parents=True)
    (run / "plots").mkdir()
    (run / "checkpoints" / "best").mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"model": "faceresnet_t"}))
    pd.DataFrame(
        {
            "epoch": [1, 2, 3],
            "train_loss": [1.3, 1.1, 0.9],
            "val_loss": [1.35, 1.2, 1.1],
            "val_accuracy": [0.4, 0.5, 0.55],
            "val_macro_f1": [0.35, 0.45, 0.5],
        }
    ).to_csv(run / "log.csv", index=False)
    metrics = {"accuracy": 0.5432, "macro_f1": 0.5101, "macro_recall": 0.52, "classes": CLASSES}
    (run / "test" / "metrics.json").write_text(json.dumps(metrics))
    (run / "test" / "confusion.png").write_bytes(encode(np.zeros((8, 8, 3), np.uint8), ".png"))
    (run / "test" / "predictions.csv").write_text("image_name,y_true,y_pred\na.png,0,1\n")
    grid = root / "grid"
    (grid / "plots").mkdir(parents=True)
    (grid / "grid.json").write_text("{}")
    best = {"model": "B16_N8_FC2_K5_AP20", "run_dir": "x", "val_accuracy": 0.6}
    (grid / "best_model.json").write_text(json.dumps(best))
    pd.DataFrame(
        {"model": ["B16_N8_FC2_K5_AP20", "B32_N4_FC1_K3_AP20"], "accuracy": [0.6234, 0.61]}
    ).to_csv(grid / "table_2_2.csv", index=False)
    (grid / "table_2_2.md").write_text("| model | accuracy |\n| --- | --- |\n| B16 | 0.6234 |\n")
    (grid / "plots" / "comparison.png").write_bytes(encode(np.zeros((8, 8, 3), np.uint8), ".png"))
    (grid / "report.html").write_text("<html><body>grid report</body></html>")
    grid_run = grid / "runs" / "B16_N8_FC2_K5_AP20"
    (grid_run / "test").mkdir(parents=True)
    (grid_run / "config.json").write_text("{}")
    (grid_run / "log.csv").write_text("epoch,train_loss,val_loss,val_accuracy\n1,1.2,1.3,0.6\n")
    (grid_run / "test" / "metrics.json").write_text(json.dumps({"accuracy": 0.6234}))
    bias = root / "bias_age"
    (bias / "plots").mkdir(parents=True)
    (bias / "report.json").write_text("{}")
    pd.DataFrame(
        {"attribute": ["age", "age"], "group": ["adult", "child"], "accuracy": [0.77, 0.71]}
    ).to_csv(bias / "groups.csv", index=False)
    pd.DataFrame({"group": ["adult", "child"], "accuracy": [0.7687, 0.709]}).to_csv(
        bias / "table_3_3.csv", index=False
    )
    (bias / "report.md").write_text("# Bias analysis\n\nChild accuracy is **lower**.\n")
    (bias / "plots" / "metrics_age.png").write_bytes(encode(np.zeros((8, 8, 3), np.uint8), ".png"))
    (root / "empty_folder").mkdir()
    (root / "secret.npy").write_bytes(b"not shown")
    return root


BASE_URL = "http://127.0.0.1:8000"  # the default bound address (WebConfig.host and .port)


def local_client(app):
    """A test client that reaches ``app`` the way a browser on this computer does (its Host
    header is ``127.0.0.1:8000``, which the app's Host check accepts)."""
    from fastapi.testclient import TestClient

    return TestClient(app, base_url=BASE_URL)
