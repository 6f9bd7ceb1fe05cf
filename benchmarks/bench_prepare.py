"""Benchmark ``aiducation prepare`` on the real FER+ data: both input paths, then loading.

There is no real ``fer2013.csv`` here, so one is generated (once) from the FER+ PNG folders and
``fer2013new.csv``: the pixels of each row's PNG, zeros for rows without one (no-face rows,
dropped by cleaning anyway). Each run is a fresh ``python -m aiducation prepare`` process;
time is wall-clock, memory is the child's peak resident set size (``wait4``).

    .venv/bin/python benchmarks/bench_prepare.py --data ../shared/data/ferplus --repeats 3
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

LOAD_SNIPPET = """
import sys, time
t0 = time.perf_counter()
from aiducation.data.dataset import load_prepared
t1 = time.perf_counter()
d = load_prepared(sys.argv[1])
print(time.perf_counter() - t1, t1 - t0)
"""


@dataclass
class Measure:
    """Repeated measurements of one step: wall seconds, CPU seconds, peak RSS (MiB)."""

    name: str
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    peak_mib: list[float] = field(default_factory=list)

    def row(self) -> str:
        cpu = f"{statistics.median(self.cpu):.2f}" if self.cpu else "–"
        peak = f"{max(self.peak_mib):.0f}" if self.peak_mib else "–"
        return (
            f"| {self.name} | {min(self.wall):.2f} | {statistics.median(self.wall):.2f} | "
            f"{cpu} | {peak} |"
        )


def run_measured(command: list[str], measure: Measure) -> str:
    """Run ``command`` and add its wall time, CPU time and own peak RSS to ``measure``."""
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    measure.wall.append(time.perf_counter() - start)
    measure.cpu.append(usage.ru_utime + usage.ru_stime)
    measure.peak_mib.append(usage.ru_maxrss / 1024)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"{' '.join(command)} failed with exit code {child.returncode}")
    return out


def make_fer2013_csv(ferplus_dir: Path, target: Path) -> None:
    """Write a full-size ``fer2013.csv`` (emotion,pixels,Usage) rebuilt from the PNGs."""
    import cv2

    votes = pd.read_csv(ferplus_dir / "fer2013new.csv", keep_default_na=False)
    folders = {
        "Training": "FER2013Train",
        "PublicTest": "FER2013Valid",
        "PrivateTest": "FER2013Test",
    }
    pixels = []
    zeros = " ".join(["0"] * 48 * 48)
    for usage, name in zip(votes["Usage"], votes["Image name"], strict=True):
        path = ferplus_dir / folders[usage] / name
        image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE) if name and path.is_file() else None
        pixels.append(zeros if image is None else " ".join(map(str, image.ravel().tolist())))
    emotion = votes.iloc[:, 2:9].to_numpy().argmax(axis=1)  # any plausible 0–6 value
    frame = pd.DataFrame({"emotion": emotion, "pixels": pixels, "Usage": votes["Usage"]})
    tmp = target.with_suffix(".tmp")
    frame.to_csv(tmp, index=False)
    tmp.rename(target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/ferplus"))
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "bench_prepare")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    fer2013 = args.work / "fer2013.csv"
    if not fer2013.is_file():
        print(f"generating {fer2013} from the PNG folders ...", flush=True)
        make_fer2013_csv(args.data, fer2013)
    votes = args.data / "fer2013new.csv"
    prepare = [sys.executable, "-m", "aiducation", "prepare", "--quiet", "--overwrite"]
    paths = {
        "csv pair (--fer2013 --ferplus)": ["--fer2013", str(fer2013), "--ferplus", str(votes)],
        "PNG folders (--ferplus-dir)": ["--ferplus-dir", str(args.data), "--ferplus", str(votes)],
    }
    results = []
    for name, inputs in paths.items():
        out = args.work / ("out_csv" if "csv" in name else "out_folders")
        for extra, label in (([], ""), (["--no-report"], ", --no-report")):
            measure = Measure(f"prepare, {name}{label}")
            for _ in range(args.repeats):
                run_measured([*prepare, *inputs, "--out", str(out), *extra], measure)
            results.append(measure)
            print(measure.row(), flush=True)
    load = Measure("load_prepared (16,256 images; process totals incl. imports)")
    imports = Measure("  of which: import numpy + pandas + aiducation")
    for _ in range(args.repeats):
        out = run_measured([sys.executable, "-c", LOAD_SNIPPET, str(args.work / "out_csv")], load)
        load_s, import_s = map(float, out.split())
        load.wall[-1] = load_s  # wall time of the load call itself
        imports.wall.append(import_s)
    results += [load, imports]
    a = np.load(args.work / "out_csv" / "images.npy")
    b = np.load(args.work / "out_folders" / "images.npy")
    print(f"\nboth paths give identical images: {a.shape == b.shape and bool((a == b).all())}")
    print(
        f"\n{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, repeats {args.repeats}"
    )
    print("| step | best wall s | median wall s | median CPU s | peak RSS MiB |")
    print("|---|---|---|---|---|")
    print("\n".join(m.row() for m in results))
    shutil.rmtree(args.work / "out_folders", ignore_errors=True)


if __name__ == "__main__":
    main()
