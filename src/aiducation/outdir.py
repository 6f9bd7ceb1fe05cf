"""Output folders: never clobber a user's folder, never delete files we did not write.

One rule for every command that writes a folder (see docs/outputs.md):

* a missing or empty folder is written; an existing non-empty one is refused unless
  ``--overwrite`` is given (or, for resumable experiments, it already holds our marker file);
* the output must not overlap an input (neither inside the other);
* results are written into a fresh hidden staging folder beside the output
  (``.<name>.tmp-<pid>-<random>``), then moved in: a new folder appears whole; into an existing
  one only our files are moved, replacing same-named files, and the files the previous run of
  the same command wrote (listed in the folder's :data:`MANIFEST`) and that this run does not
  write again are removed. Nothing else in the folder is touched;
* staging folders of killed runs (their process is gone) are removed by the next run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path, PurePosixPath

from aiducation.errors import InputError

MANIFEST = ".aiducation-files.json"  # {owner: [relative paths of the files it wrote]}
TEMP_TAG = ".tmp-"


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


def remove_stale_temps(path: str | Path) -> list[Path]:
    """Remove temporary siblings of ``path`` whose writing process no longer runs."""
    path = Path(os.path.abspath(path))
    pattern = re.compile(rf"\.{re.escape(path.name)}{re.escape(TEMP_TAG)}(\d+)-")
    removed = []
    with suppress(OSError):
        for entry in path.parent.iterdir():
            match = pattern.match(entry.name)
            if match is None or _alive(int(match.group(1))):
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


def overlaps(a: str | Path, b: str | Path) -> bool:
    """Whether ``a`` and ``b`` are the same path or one lies inside the other."""
    a, b = Path(a).resolve(), Path(b).resolve()
    return a == b or a in b.parents or b in a.parents


def _writable_ancestor(path: Path) -> Path:
    ancestor = path
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    return ancestor


def check_output_dir(
    path: str | Path,
    *,
    overwrite: bool = False,
    inputs: Iterable[str | Path | None] = (),
    option: str = "--out",
    marker: str | None = None,
) -> Path:
    """Refuse a bad output folder early, with one clear :class:`InputError`.

    ``marker``: a file that marks the folder as ours to resume (e.g. ``grid.json``); a
    non-empty folder holding it is accepted without ``overwrite``.
    """
    path = Path(path)
    where = f"{option} {path}"
    if path.exists() and not path.is_dir():
        raise InputError(f"{where}: is a file; expected a folder (missing or empty)")
    for item in inputs:
        if item is not None and str(item) and overlaps(path, item):
            raise InputError(
                f"{where}: overlaps the input {item}; choose an output folder that neither "
                "contains nor lies inside an input"
            )
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


def read_manifest(folder: Path) -> dict[str, list[str]]:
    """The folder's manifest (``{}`` when missing or unreadable)."""
    try:
        data = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _own_path(folder: Path, name: str) -> Path | None:
    """``folder/name`` for a manifest entry, or ``None`` when it would leave the folder."""
    rel = PurePosixPath(str(name))
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        return None
    return folder.joinpath(*rel.parts)


def _remove_own(folder: Path, name: str) -> None:
    path = _own_path(folder, name)
    if path is None or not (path.is_file() or path.is_symlink()):
        return
    path.unlink()
    for parent in path.parents:  # drop folders left empty, up to (not including) ``folder``
        if parent == folder or folder not in parent.parents:
            break
        with suppress(OSError):
            parent.rmdir()


def _files(root: Path) -> list[str]:
    return sorted(
        p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink()
    )


def _commit(staging: Path, target: Path, owner: str) -> None:
    files = _files(staging)
    if not target.exists():
        (staging / MANIFEST).write_text(json.dumps({owner: files}, indent=2) + "\n")
        umask = os.umask(0)
        os.umask(umask)
        staging.chmod(0o777 & ~umask)  # mkdtemp made it private
        os.replace(staging, target)
        return
    manifest = read_manifest(target)
    for name in set(manifest.get(owner, [])) - set(files):
        _remove_own(target, name)
    for name in files:
        dest = target / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / name, dest)
    manifest[owner] = files
    tmp = target / f"{MANIFEST}{TEMP_TAG}{os.getpid()}"
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    os.replace(tmp, target / MANIFEST)


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
    the files listed under that owner are removed or replaced. On error nothing is moved and
    the staging folder is removed.
    """
    path = check_output_dir(
        path, overwrite=overwrite, inputs=list(inputs), option=option, marker=marker
    )
    target = Path(os.path.abspath(path))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(target)
        staging = Path(tempfile.mkdtemp(prefix=temp_prefix(target), dir=target.parent))
    except OSError as exc:
        raise InputError(f"{option} {path}: cannot write there ({exc.strerror or exc})") from None
    try:
        yield staging
        _commit(staging, target, owner)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
