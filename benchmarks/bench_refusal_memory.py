"""Peak memory and time of refusing hostile picture files (issue 34).

Generates decompression bombs and oversized files, then calls ``read_image`` on each in a fresh
subprocess and reports the subprocess's peak resident memory (``VmHWM``) before and after the
call, the time taken and the answer (refused with which message, or decoded). Only the module
``aiducation/inference/images.py`` is loaded (not torch), so the baseline is small and the
growth is what reading and decoding cost.

Usage::

    python benchmarks/bench_refusal_memory.py                       # the installed images.py
    git show f782c7e:src/aiducation/inference/images.py > /tmp/images_before.py
    python benchmarks/bench_refusal_memory.py --impl /tmp/images_before.py   # before the fix

Files are written to ``--dir`` (a temporary folder by default; about 150 MB of disk, the
multi-gigabyte file is sparse).
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

CHILD = r"""
import importlib.util, json, sys, time

def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1]) * 1024

spec = importlib.util.spec_from_file_location("images_under_test", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
from aiducation.errors import InputError

base = hwm()
start = time.perf_counter()
try:
    answer = "decoded %s" % (module.read_image(sys.argv[2]).shape,)
except InputError as exc:
    answer = "refused: " + str(exc)
except Exception as exc:
    answer = "crashed: %s: %s" % (type(exc).__name__, exc)
print(json.dumps({"base": base, "peak": hwm(), "seconds": time.perf_counter() - start,
                  "answer": answer}))
"""


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png(width: int, height: int, noise: bool) -> bytes:
    """8-bit grey PNG: grey rows compressed (tiny), or random rows stored (width×height bytes)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    if noise:
        rows = os.urandom(width * height)
        raw = b"".join(b"\x00" + rows[i * width : (i + 1) * width] for i in range(height))
        data = zlib.compress(raw, 0)
    else:
        data = zlib.compress((b"\x00" + b"\x80" * width) * height, 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", data)
        + _chunk(b"IEND", b"")
    )


def bmp_rle(width: int, height: int) -> bytes:
    """8-bit RLE8 BMP, every row one grey run per 255 pixels."""
    runs = b"\xff\x80" * (width // 255) + (bytes([width % 255, 0x80]) if width % 255 else b"")
    data = (runs + b"\x00\x00") * height + b"\x00\x01"
    palette = b"".join(bytes([i, i, i, 0]) for i in range(256))
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 8, 1, len(data), 2835, 2835, 256, 0)
    offset = 14 + len(info) + len(palette)
    return b"BM" + struct.pack("<IHHI", offset + len(data), 0, 0, offset) + info + palette + data


def hdr(width: int, height: int) -> bytes:
    """Radiance HDR header (OpenCV decodes it, Pillow does not read it) and one pixel."""
    return b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y %d +X %d\n\x00\x00\x00\x00" % (height, width)


def make_files(folder: Path, sparse_gb: float) -> list[tuple[str, Path]]:
    cases = [
        ("RLE8 BMP 12000×12000", "rle_12000.bmp", bmp_rle(12_000, 12_000)),
        ("RLE8 BMP 20000×20000", "rle_20000.bmp", bmp_rle(20_000, 20_000)),
        ("PNG 12000×12000, grey", "grey_12000.png", png(12_000, 12_000, noise=False)),
        ("PNG 12000×12000, noise stored", "noise_12000.png", png(12_000, 12_000, noise=True)),
        ("HDR header 20000×20000, as .jpg", "hdr_20000.jpg", hdr(20_000, 20_000)),
        ("PNG 60000×2", "strip_60000x2.png", png(60_000, 2, noise=False)),
    ]
    files = []
    for label, name, data in cases:
        path = folder / name
        path.write_bytes(data)
        files.append((label, path))
    sparse = folder / "sparse.jpg"
    with sparse.open("wb") as file:
        file.write(b"\xff\xd8\xff\xe0")
        os.truncate(file.fileno(), int(sparse_gb * 1e9))
    files.append((f"sparse {sparse_gb:g} GB, as .jpg", sparse))
    return files


def main() -> None:
    import aiducation

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default = Path(aiducation.__file__).parent / "inference" / "images.py"
    parser.add_argument("--impl", type=Path, default=default, help="images.py to measure")
    parser.add_argument("--dir", type=Path, default=None, help="where to write the files")
    parser.add_argument("--sparse-gb", type=float, default=4.0)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per file")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.dir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        print(f"impl: {args.impl}", file=sys.stderr)
        print("| file | bytes | peak RSS MB (baseline) | growth MB | seconds | answer |")
        print("|---|---|---|---|---|---|")
        for label, path in make_files(folder, args.sparse_gb):
            try:
                run = subprocess.run(
                    [sys.executable, "-c", CHILD, str(args.impl), str(path)],
                    capture_output=True, text=True, timeout=args.timeout, check=False,
                )  # fmt: skip
                lines = run.stdout.strip().splitlines()
                row = json.loads(lines[-1]) if lines else None
            except subprocess.TimeoutExpired:
                row = None
            size = f"{path.stat().st_size:,}"
            if row is None:
                print(f"| {label} | {size} | – | – | > {args.timeout:g} | killed or timed out |")
                continue
            answer = row["answer"].replace(str(path), path.name).replace("|", "/")
            print(
                f"| {label} | {size} | {row['peak'] / 2**20:,.0f} ({row['base'] / 2**20:,.0f}) "
                f"| {(row['peak'] - row['base']) / 2**20:,.0f} | {row['seconds']:.3f} "
                f"| {answer[:110]} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
