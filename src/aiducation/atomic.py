"""Atomic writes: a result appears whole or not at all (temp file/dir beside it, then rename).

Temporary data lives in a marked staging folder ``.<name>.tmp-<pid>-<random>/`` beside the
result (see :func:`aiducation.outdir.make_staging`), so what a killed process left is recognised
and removed by the next write of the same path, and a user's file that merely looks like a
temporary name is never touched. A replaced file keeps its permissions.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aiducation.outdir import make_staging


def _normal_permissions(path: Path, mode: int) -> None:
    """mkstemp/mkdtemp make private files; give them the permissions a plain create would."""
    umask = os.umask(0)
    os.umask(umask)
    path.chmod(mode & ~umask)


@contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path (same name, in a staging folder beside ``path``) that replaces
    ``path`` on success. A symbolic link at ``path`` is itself replaced, not followed."""
    path = Path(path)
    staging = make_staging(path)
    tmp = staging / path.name
    try:
        yield tmp
        try:
            replaced = os.lstat(path)
        except FileNotFoundError:
            replaced = None
        if replaced is None or stat.S_ISLNK(replaced.st_mode):
            _normal_permissions(tmp, 0o666)
        else:
            tmp.chmod(stat.S_IMODE(replaced.st_mode))  # a replaced file keeps its mode
        os.replace(tmp, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@contextmanager
def atomic_directory(path: str | Path) -> Iterator[Path]:
    """Yield a temporary directory whose files replace those of ``path`` on success.

    For folders the program fills (checkpoints, training state). When ``path`` holds nothing
    but files of those names, the whole folder is swapped in one rename; when it also holds
    something else (a user's notes or model card), only the written files are replaced, one
    rename each, and the rest is kept. A user's output folder goes through
    :func:`aiducation.outdir.output_dir`.
    """
    path = Path(path)
    staging = make_staging(path)
    tmp = staging / "new"
    tmp.mkdir()
    try:
        yield tmp
        _normal_permissions(tmp, 0o777)
        written = {entry.name for entry in tmp.iterdir()}
        if path.is_symlink() or (path.exists() and not path.is_dir()):
            raise FileExistsError(f"{path}: expected a folder (not a link or a file)")
        if path.is_dir() and any(entry.name not in written for entry in path.iterdir()):
            for name in sorted(written):  # keep what is not ours
                os.replace(tmp / name, path / name)
            return
        if path.exists():
            os.replace(path, staging / "old")
        os.replace(tmp, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_bytes(path: str | Path, data: bytes) -> Path:
    with atomic_file(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | Path, text: str) -> Path:
    return write_bytes(path, text.encode())


def write_json(path: str | Path, data: object) -> Path:
    return write_text(path, json.dumps(data, indent=2, default=str) + "\n")
