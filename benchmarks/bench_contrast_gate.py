"""Grey-level spread (``quality.contrast``) of the crop vs accuracy of the bundled model on
clean and darkened FER+ test faces (the darkenings of bench_contrast.py, seeded): where the
gate's "too dark" rule should sit.

    .venv/bin/python benchmarks/bench_contrast_gate.py   # needs /tmp/prepared (aiducation prepare)
"""

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
torch.set_num_threads(2)
from bench_contrast import dark, low_contrast  # noqa: E402

from aiducation.data.dataset import load_prepared  # noqa: E402
from aiducation.inference.classifier import FaceClassifier  # noqa: E402

data = load_prepared("/tmp/prepared")
rows = data.split_indices("test")
faces, labels = data.images[rows], data.labels[rows]
clf = FaceClassifier.load()
rng = np.random.default_rng(31)
conds = {
    "clean": faces,
    "low contrast": low_contrast(faces, rng),
    "dark": dark(faces, np.random.default_rng(31)),
    "very dark": dark(faces, np.random.default_rng(32), gamma=(3, 4), contrast=(0.2, 0.3), noise=3),
}
for name, f in conds.items():
    p = clf.predict_proba(f)[:, :4].argmax(1)
    std = f.reshape(len(f), -1).astype(np.float32).std(1)
    ok = p == labels
    line = [f"{name}: acc {ok.mean():.3f}"]
    for t in (6, 8, 10, 12, 15):
        keep = std >= t
        kept = ok[keep].mean() if keep.any() else float("nan")
        line.append(f"std>={t}: keep {keep.mean():.3f} acc {kept:.3f}")
    print(" | ".join(line))
    print("   std quantiles", np.percentile(std, [1, 5, 25, 50]).round(1))
