"""Output folders: never clobber a user's folder, never delete files we did not write.

One rule for every command that writes a folder (see docs/outputs.md):

* a missing or empty folder is written; an existing non-empty one is refused unless
  ``--overwrite`` is given (or, for resumable experiments, it already holds our marker file);
  the file-system root, the home folder and any folder holding this package are refused
  whatever the flags;
* the output must not overlap an input (neither inside the other);
* one command at a time: the output is *claimed* with an exclusive lock
  (``.<name>.aiducation-lock`` beside it, :func:`claim`) and checked again under the lock, so
  of two runs into one new folder the second is refused instead of replacing the first's files;
* results are written into a fresh, marked staging folder beside the output
  (``.<name>.tmp-<pid>-<random>/``, holding :data:`STAGING_MARKER`), then moved in: a new folder
  appears whole; into an existing one only our files are moved, replacing same-named files.
  Files the previous run of the same command wrote (listed with size and SHA-256 in the
  folder's manifest) and that this run does not write again are removed only while they
  still match it; a changed file is kept and reported. Nothing else is touched, and nothing
  is written or deleted through a link inside the output (:mod:`aiducation.manifest`);
* staging folders of killed runs (marked, and their process gone) are removed by the next run.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from functools import partial
from pathlib import Path

from aiducation.errors import InputError
from aiducation.manifest import commit
from aiducation.rundir import RunDir

STAGING_MARKER = ".aiducation-staging"  # inside every temporary folder this package makes
TEMP_TAG = ".tmp-"
LOCK_TAG = ".aiducation-lock"
_CONTENT = "content"  # the staged result inside a staging folder


def temp_prefix(path: Path) -> str:
    """Prefix of this process's temporary siblings of ``path``."""
    return f".{path.name}{TEMP_TAG}{os.getpid()}-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def make_staging(path: str | Path) -> Path:
    """A new, marked temporary folder beside ``path`` (see :func:`remove_stale_temps`)."""
    path = Path(os.path.abspath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path)
    staging = Path(tempfile.mkdtemp(prefix=temp_prefix(path), dir=path.parent))
    (staging / STAGING_MARKER).write_text(f"{os.getpid()}\n")
    return staging


def remove_stale_temps(path: str | Path) -> list[Path]:
    """Remove staging folders of ``path`` left by processes that no longer run.

    Only real folders named like ours *and* holding :data:`STAGING_MARKER` are removed: a
    user's file or folder that merely looks like one is left alone.
    """
    path = Path(os.path.abspath(path))
    pattern = re.compile(rf"\.{re.escape(path.name)}{re.escape(TEMP_TAG)}(\d+)-")
    removed = []
    with suppress(OSError):
        for entry in path.parent.iterdir():
            match = pattern.match(entry.name)
            if match is None or _alive(int(match.group(1))):
                continue
            if entry.is_symlink() or not entry.is_dir() or not (entry / STAGING_MARKER).is_file():
                continue
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def inside(a: str | Path, b: str | Path) -> bool:
    """Whether ``a`` is ``b`` or lies inside it (links resolved)."""
    a, b = Path(a).resolve(), Path(b).resolve()
    return a == b or b in a.parents


def overlaps(a: str | Path, b: str | Path) -> bool:
    """Whether ``a`` and ``b`` are the same path or one lies inside the other."""
    return inside(a, b) or inside(b, a)


def _writable_ancestor(path: Path) -> Path:
    ancestor = path
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    return ancestor


def forbidden_output(path: str | Path) -> str | None:
    """Why ``path`` may never be an output folder (root, home, this package), or ``None``."""
    resolved = Path(path).resolve()
    package = Path(__file__).resolve().parent
    if resolved == Path(resolved.anchor):
        return "is the root of the file system"
    with suppress(RuntimeError, KeyError):
        if resolved == Path.home().resolve():
            return "is your home folder"
    if overlaps(resolved, package):
        return f"overlaps the aiducation package itself ({package})"
    return None


def _checkpoint_folder(path: Path) -> Path:
    """The folder holding a checkpoint's files for a checkpoint or run folder (or a file)."""
    if path.is_file():
        return path.parent
    best = RunDir(path).checkpoint("best")
    return best if best.is_dir() else path


def check_output_path(
    path: str | Path,
    inputs: Iterable[str | Path | None] = (),
    option: str = "--out",
    checkpoints: Iterable[str | Path | None] = (),
) -> Path:
    """Checks shared by folder and file outputs: no forbidden place, no broken link, no overlap
    with any input (files as well as folders). A ``checkpoints`` input may lie inside the output
    (evaluate into its run), but the output may not be its folder or lie inside it."""
    path = Path(path)
    where = f"{option} {path}"
    if path.is_symlink() and not path.exists():
        raise InputError(f"{where}: is a broken symbolic link; remove it or choose another path")
    reason = forbidden_output(path)
    if reason is not None:
        raise InputError(f"{where}: {reason}; choose a folder of its own for the results")
    for item in inputs:
        if item is not None and str(item) and overlaps(path, item):
            raise InputError(
                f"{where}: overlaps the input {item}; choose an output that neither "
                "contains nor lies inside an input"
            )
    for item in checkpoints:
        if item is None or not str(item):
            continue
        if inside(path, _checkpoint_folder(Path(item))):
            raise InputError(
                f"{where}: lies inside the checkpoint {item}; write the results elsewhere"
            )
    return path


def check_output_dir(
    path: str | Path,
    *,
    overwrite: bool = False,
    inputs: Iterable[str | Path | None] = (),
    option: str = "--out",
    marker: str | None = None,
    checkpoints: Iterable[str | Path | None] = (),
) -> Path:
    """Refuse a bad output folder early, with one clear :class:`InputError`.

    ``marker``: a file that marks the folder as ours to resume (e.g. ``grid.json``); a
    non-empty folder holding it is accepted without ``overwrite``. ``checkpoints``: see
    :func:`check_output_path`.
    """
    path = check_output_path(path, inputs, option, checkpoints)
    where = f"{option} {path}"
    if path.exists() and not path.is_dir():
        raise InputError(f"{where}: is a file; expected a folder (missing or empty)")
    resumable = marker is not None and (path / marker).is_file()
    if path.is_dir() and any(path.iterdir()) and not overwrite and not resumable:
        raise InputError(
            f"{where}: folder exists and is not empty; pass --overwrite to write into it "
            "(only files this command wrote there are replaced) or choose another folder"
        )
    ancestor = _writable_ancestor(Path(os.path.abspath(path)))
    if not ancestor.is_dir() or not os.access(ancestor, os.W_OK | os.X_OK):
        raise InputError(f"{where}: cannot write there ({ancestor} is not a writable folder)")
    return path


@contextmanager
def claim(
    path: str | Path, option: str = "--out", check: Callable[[], object] | None = None
) -> Iterator[None]:
    """Hold the exclusive claim on output ``path`` (a lock file beside it) for the block.

    A second command claiming the same output while the first holds it is refused at once
    with one line. The lock file is removed on release (re-checked by inode on acquire, so
    a waiter never keeps a lock on a removed file). ``check`` (the command's own output
    check, already run before its work) runs again under the claim, so no other run got in
    between.
    """
    target = Path(os.path.realpath(path))
    lock = target.parent / f".{target.name}{LOCK_TAG}"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{option} {path}: cannot write there ({exc.strerror or exc})") from None
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        except OSError as exc:
            raise InputError(
                f"{option} {path}: cannot write there (its lock file {lock}: {exc.strerror or exc})"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise InputError(
                f"{option} {path}: another aiducation command is writing there right now; "
                "wait for it to finish or choose another folder"
            ) from None
        with suppress(FileNotFoundError):
            if os.fstat(fd).st_ino == os.stat(lock, follow_symlinks=False).st_ino:
                break
        os.close(fd)  # the holder removed the file we locked: lock the new one
    try:
        if check is not None:
            check()
        yield
    finally:
        with suppress(OSError):
            os.unlink(lock)
        os.close(fd)


@contextmanager
def output_dir(
    path: str | Path,
    *,
    owner: str,
    overwrite: bool = False,
    inputs: Iterable[str | Path | None] = (),
    option: str = "--out",
    marker: str | None = None,
) -> Iterator[Path]:
    """Yield an empty staging folder; on success its files are moved into ``path``.

    ``owner`` names the writer in the manifest (e.g. ``"evaluate"``): with ``overwrite`` only
    the files listed under that owner, and unchanged since, are removed. The output is
    claimed (:func:`claim`) and checked again under the claim, which lasts until the files are
    moved in. On error nothing is moved and the staging folder is removed.
    """
    check = partial(
        check_output_dir, path, overwrite=overwrite, inputs=list(inputs), option=option,
        marker=marker,
    )  # fmt: skip
    path = check()
    target = Path(os.path.realpath(path))
    with claim(path, option, check):
        try:
            staging = make_staging(target)
        except OSError as exc:
            raise InputError(
                f"{option} {path}: cannot write there ({exc.strerror or exc})"
            ) from None
        try:
            content = staging / _CONTENT
            content.mkdir()
            yield content
            commit(content, target, owner)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
