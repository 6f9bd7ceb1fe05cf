"""Moving a staged result into an output folder: the manifest, and never through a link.

The output folder's :data:`MANIFEST` lists, per command, the files it wrote with their size
and SHA-256. :func:`commit` moves a staged result in: a new folder appears in one rename; into
an existing one only the staged files are moved, each through folder descriptors opened with
``O_NOFOLLOW`` (so nothing is written through a symbolic link inside the output: such a link
is refused with one line naming it, and a link in the place of one of our files is itself
replaced). Files the command wrote last time and does not write again are removed only while
they still match the manifest; a changed file is kept and reported. Used by
:func:`aiducation.outdir.output_dir`, which claims and checks the folder first.
:func:`record_files` and :func:`remove_owned` do the same for a folder that is deleted whole
later (a web job's result): only the files listed, and unchanged, go.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
import sys
from collections.abc import Iterable
from contextlib import suppress
from pathlib import Path, PurePosixPath

from aiducation.errors import InputError

MANIFEST = ".aiducation-files.json"  # {owner: {relative path: {"size": n, "sha256": hex}}}


def _sha256(fd: int) -> str:
    digest = hashlib.sha256()
    with os.fdopen(os.dup(fd), "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fingerprint(path: Path) -> dict:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        return {"size": os.fstat(fd).st_size, "sha256": _sha256(fd)}
    finally:
        os.close(fd)


def read_manifest(folder: Path) -> dict[str, dict[str, dict]]:
    """The folder's manifest (``{}`` when missing or unreadable); entries of manifests written
    before checksums were recorded (plain lists of names) carry no fingerprint."""
    try:
        data = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    manifest = {}
    for owner, files in data.items():
        if isinstance(files, list):
            files = {str(name): {} for name in files}
        if isinstance(files, dict):
            manifest[str(owner)] = {
                str(k): v if isinstance(v, dict) else {} for k, v in files.items()
            }
    return manifest


def _parts(name: str) -> tuple[str, ...] | None:
    """Path components of a manifest entry, or ``None`` when it would leave the folder."""
    rel = PurePosixPath(str(name))
    if rel.is_absolute() or ".." in rel.parts or not rel.parts or "." in rel.parts:
        return None
    return rel.parts


def _link_inside(here: Path) -> InputError:
    return InputError(
        f"{here}: is a symbolic link inside the output folder; aiducation never writes or "
        "deletes through a link: remove it or choose another folder"
    )


def _file_not_folder(here: Path) -> InputError:
    return InputError(
        f"{here}: is a file where the output needs a folder; move it away or choose another folder"
    )


def _open_dir(root_fd: int, parts: Iterable[str], where: Path, create: bool) -> int:
    """A descriptor of the folder ``parts`` below ``root_fd``, never following a link."""
    fd = os.dup(root_fd)
    here = where
    try:
        for part in parts:
            here = here / part
            if create:
                with suppress(FileExistsError):
                    os.mkdir(part, dir_fd=fd)
            try:
                child = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR) and os.path.islink(here):
                    raise _link_inside(here) from None
                if exc.errno == errno.ENOTDIR:
                    raise _file_not_folder(here) from None
                raise
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def _check_destinations(target: Path, names: list[str]) -> None:
    """Refuse, before anything moves, a link on the way to or a folder in the place of a file."""
    for name in names:
        here = target
        parts = name.split("/")
        for i, part in enumerate(parts):
            here = here / part
            try:
                info = os.lstat(here)
            except FileNotFoundError:
                break
            if stat.S_ISLNK(info.st_mode) and i < len(parts) - 1:
                raise _link_inside(here)
            if i < len(parts) - 1 and not stat.S_ISDIR(info.st_mode):
                raise _file_not_folder(here)
            if i == len(parts) - 1 and stat.S_ISDIR(info.st_mode):
                raise InputError(
                    f"{here}: is a folder where the output file {name} goes; move it away or "
                    "choose another folder"
                )


def _remove_own(root_fd: int, target: Path, name: str, recorded: dict) -> str | None:
    """Remove ``name`` if it is still the file this command wrote; else say why it is kept."""
    parts = _parts(name)
    if parts is None:
        return None
    try:
        parent = _open_dir(root_fd, parts[:-1], target, create=False)
    except (OSError, InputError):
        return None  # gone, or reached through a link: nothing of ours to remove
    try:
        try:
            info = os.stat(parts[-1], dir_fd=parent, follow_symlinks=False)
        except FileNotFoundError:
            return None
        if not stat.S_ISREG(info.st_mode):
            return "not a regular file"
        if not recorded.get("sha256"):
            return "listed by an older version without a checksum"
        fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW, dir_fd=parent)
        try:
            same = info.st_size == recorded.get("size") and _sha256(fd) == recorded["sha256"]
        finally:
            os.close(fd)
        if not same:
            return "changed since this command wrote it"
        os.unlink(parts[-1], dir_fd=parent)
    finally:
        os.close(parent)
    for depth in range(len(parts) - 1, 0, -1):  # drop folders left empty, up to ``target``
        with suppress(OSError, InputError):
            fd = _open_dir(root_fd, parts[: depth - 1], target, create=False)
            try:
                os.rmdir(parts[depth - 1], dir_fd=fd)
            finally:
                os.close(fd)
    return None


def _files(root: Path) -> list[str]:
    return sorted(
        p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink()
    )


def commit(content: Path, target: Path, owner: str) -> None:
    """Move the files staged in ``content`` into ``target`` for ``owner`` (module docstring)."""
    files = [name for name in _files(content) if name != MANIFEST]
    fingerprints = {name: _fingerprint(content / name) for name in files}
    if not os.path.lexists(target):
        (content / MANIFEST).write_text(json.dumps({owner: fingerprints}, indent=2) + "\n")
        os.rename(content, target)  # made by mkdir: already the permissions a plain create gives
        return
    _check_destinations(target, [*files, MANIFEST])
    manifest = read_manifest(target)
    root_fd = os.open(target, os.O_RDONLY | os.O_DIRECTORY)
    try:
        kept = []
        for name in sorted(set(manifest.get(owner, {})) - set(files)):
            reason = _remove_own(root_fd, target, name, manifest[owner][name])
            if reason is not None:
                kept.append(f"{name} ({reason})")
        manifest[owner] = fingerprints
        (content / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        for name in [*files, MANIFEST]:
            parts = name.split("/")
            parent = _open_dir(root_fd, parts[:-1], target, create=True)
            try:
                os.replace(content / name, parts[-1], dst_dir_fd=parent)
            finally:
                os.close(parent)
    finally:
        os.close(root_fd)
    if kept:
        print(
            f"warning: kept {len(kept)} earlier file(s) in {target} that this run no longer "
            f"writes, as they may not be ours: {', '.join(kept)}",
            file=sys.stderr,
        )


def record_files(folder: Path, owner: str) -> None:
    """Write ``folder``'s manifest: every file in it (size, SHA-256) as ``owner``'s, so that
    :func:`remove_owned` can later delete exactly these files."""
    files = [name for name in _files(folder) if name != MANIFEST]
    fingerprints = {name: _fingerprint(folder / name) for name in files}
    (folder / MANIFEST).write_text(json.dumps({owner: fingerprints}, indent=2) + "\n")


def remove_owned(folder: Path, owner: str) -> list[str]:
    """Delete the files ``owner`` wrote in ``folder`` (listed in its manifest and unchanged
    since; never through a link), their manifest entry, and the folder once it is empty.
    Return what is left in it, each with why (``[]``: the folder is gone). A folder that is a
    link, or whose manifest does not name ``owner``, is left whole."""
    try:
        root_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return []
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            return [f"{folder.name} (a link or a file, not this folder)"]
        raise
    try:
        manifest = read_manifest(folder)
        files = manifest.pop(owner, None)
        if files is None:
            return [f"{name} (not listed as {owner}'s)" for name in sorted(os.listdir(root_fd))]
        kept = {}
        for name, recorded in sorted(files.items()):
            reason = _remove_own(root_fd, folder, name, recorded)
            if reason is not None:
                kept[name] = reason
        if manifest:  # another owner's files stay listed
            text = json.dumps(manifest, indent=2) + "\n"
            descriptor = os.open(MANIFEST, os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW, dir_fd=root_fd)
            with os.fdopen(descriptor, "w") as output:
                output.write(text)
        else:
            with suppress(FileNotFoundError):
                os.unlink(MANIFEST, dir_fd=root_fd)
        left = sorted(os.listdir(root_fd))
    finally:
        os.close(root_fd)
    if not left:
        with suppress(OSError):  # a file that appeared meanwhile stays, with its folder
            os.rmdir(folder)
        return [] if not os.path.lexists(folder) else ["files added meanwhile"]
    return [f"{name} ({kept.get(name, 'not written by ' + owner)})" for name in left]
