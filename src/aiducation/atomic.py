"""Atomic writes: a result appears whole or not at all (temp file/dir beside it, then rename).

Temporary names are ``.<name>.tmp-<pid>-<random>`` (see :mod:`aiducation.outdir`), so those left
by a killed process are recognised and removed by the next write of the same path. A replaced
file keeps its permissions.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aiducation.outdir import remove_stale_temps, temp_prefix


def _normal_permissions(path: Path, mode: int) -> None:
    """mkstemp/mkdtemp make private files; give them the permissions a plain create would."""
    umask = os.umask(0)
    os.umask(umask)
    path.chmod(mode & ~umask)


@contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffix) that replaces it on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path)
    fd, name = tempfile.mkstemp(prefix=temp_prefix(path), suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        try:
            tmp.chmod(stat.S_IMODE(path.stat().st_mode))  # keep the replaced file's mode
        except FileNotFoundError:
            _normal_permissions(tmp, 0o666)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_directory(path: str | Path) -> Iterator[Path]:
    """Yield a temporary directory that replaces ``path`` (and its old content) on success.

    Only for folders the program owns whole (checkpoints, training state); a user's output
    folder goes through :func:`aiducation.outdir.output_dir`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path)
    tmp = Path(tempfile.mkdtemp(prefix=temp_prefix(path), dir=path.parent))
    try:
        yield tmp
        _normal_permissions(tmp, 0o777)
        old = path.with_name(f"{temp_prefix(path)}old")
        if path.exists():
            os.replace(path, old)
        os.replace(tmp, path)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_bytes(path: str | Path, data: bytes) -> Path:
    with atomic_file(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | Path, text: str) -> Path:
    return write_bytes(path, text.encode())


def write_json(path: str | Path, data: object) -> Path:
    return write_text(path, json.dumps(data, indent=2, default=str) + "\n")
