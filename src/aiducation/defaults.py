"""Default values that several commands and library modules share (no heavy imports here).

Output folders follow one convention: every command writes under ``runs/`` unless ``--out``
says otherwise (``runs/<model>-seed<seed>``, ``runs/grid``, ``runs/evaluate-<split>``,
``runs/bias``, ``runs/analyze``, ...), and ``serve`` reads ``runs/``.
"""

from __future__ import annotations

from pathlib import Path

DATA_DIR = Path("prepared/ferplus")  # the prepared dataset (``aiducation prepare --out``)
RUNS_DIR = Path("runs")  # where every command writes by default
EVAL_BATCH_SIZE = 512  # faces per batch when predicting for evaluation
DEFAULT_DETECTOR = "yunet"  # registered face detector of analyze / serve / the Python API
# CPU threads of analyze, serve and train: 1 was fastest as measured on a busy 2-core machine
# (docs/benchmarks.md, "Thread defaults"; 2 threads may pay off on a quiet one)
DEFAULT_THREADS = 1
MIN_STUDENT_SECONDS = 1.0  # a video track seen for less time is not counted as a student
# smoothing of each student's answers over time (measured: docs/benchmarks.md, "Smoothing"):
DWELL_SECONDS = 10.0  # recorded video: mean time a student stays in one state (measured: docs)
LIVE_DWELL_SECONDS = 2.0  # live camera (causal filtering)
SMOOTHING_EVIDENCE = 0.75  # exponent on each frame's probabilities (tempers over-confidence)
