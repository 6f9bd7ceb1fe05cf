"""What travels between the device calls of ``benchmarks/seed_tables_gpu.py``.

A device machine starts bare and gives back at most 8 files of 16 MiB from ``$OUT``; what a call
takes along (the working tree plus carried folders) is at most 64 MiB, the prepared dataset
(~38 MB) included. So the experiment folder travels as one archive, ``state.tar.gz``:

- always: every result file (grid and k-fold tables, plans, logs, each finished trial's
  ``result.json``, ``log.csv``, ``config.json``, val/test metrics and predictions), but no
  checkpoint of a finished trial and no per-trial plot (the tables are made from the CSVs);
- then, smallest first while the archive stays within its budget, each unfinished trial's
  resume state and best checkpoint so far: that trial continues after its last epoch next
  time. An unfinished trial whose state does not fit is left out whole and starts again.

Best checkpoints of finished trials go into a second archive, ``checkpoints.tar`` (the grid's
winner first, then smallest first, within its own budget): brought back, never carried.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from aiducation.atomic import atomic_file
from aiducation.rundir import RunDir

MIB = 1 << 20
DATA_FILES = ("images.npy", "meta.csv", "summary.json", "config.json")  # what training reads
MARKER = "seed_tables.json"  # the experiment folder's description (written first)
SCRATCH = "scratch"  # warm-up learners' folder: never packed


@dataclass
class PackReport:
    path: Path
    bytes: int
    carried: list[str] = field(default_factory=list)  # unfinished trials whose state travels
    dropped: list[str] = field(default_factory=list)  # unfinished trials that restart


def trial_dirs(work: Path) -> list[Path]:
    """Every trial's run directory: ``grid/runs/<model>`` and ``kfold/fold_<i>``."""
    return sorted([*(work / "grid" / "runs").glob("*"), *(work / "kfold").glob("fold_*")])


def finished(run_dir: Path) -> bool:
    return RunDir(run_dir).result.is_file()


def _is_temporary(path: Path) -> bool:
    return any(part.startswith(".") and ".tmp-" in part for part in path.parts)


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and not _is_temporary(p))


def _size(paths: list[Path]) -> int:
    return sum(p.stat().st_size for p in paths)


def base_files(work: Path) -> list[Path]:
    """Everything but checkpoints, per-trial plots, unfinished trials and the scratch folder."""
    trials = trial_dirs(work)
    keep = []
    for path in _files(work):
        rel = path.relative_to(work)
        if rel.parts[0] == SCRATCH:
            continue
        owner = next((t for t in trials if path.is_relative_to(t)), None)
        kept_part = "checkpoints" not in rel.parts and path.suffix != ".png"
        if owner is None or (finished(owner) and kept_part):
            keep.append(path)
    return keep


def resume_files(run_dir: Path) -> list[Path]:
    """An unfinished trial: all but its ``last`` checkpoint and plots (rewritten next epoch)."""
    last = RunDir(run_dir).checkpoint("last")
    return [p for p in _files(run_dir) if not p.is_relative_to(last) and p.suffix != ".png"]


def _write_tar(dest: Path, work: Path, paths: list[Path], gzip: bool) -> int:
    options = {"mode": "w:gz", "compresslevel": 6} if gzip else {"mode": "w"}
    with atomic_file(dest) as tmp, tarfile.open(tmp, **options) as tar:
        for path in paths:
            tar.add(path, arcname=str(path.relative_to(work)), recursive=False)
    return dest.stat().st_size


def pack_state(work: Path, dest: Path, budget: int, busy: list[Path] | None = None) -> PackReport:
    """Write ``work`` as ``dest`` (tar.gz, at most ``budget`` bytes; see the module doc).
    ``busy``: trials being trained now, whose state may change while it is read: left out
    (neither carried nor dropped; the final pack, after every trial stopped, has them)."""
    base = base_files(work)
    size = _write_tar(dest, work, base, gzip=True)
    if size > budget:
        raise ValueError(f"{dest}: the results alone take {size / MIB:.1f} MiB, over the "
                         f"{budget / MIB:.1f} MiB budget")  # fmt: skip
    skip = {Path(b).resolve() for b in busy or []}
    unfinished = [t for t in trial_dirs(work) if not finished(t) and t.resolve() not in skip]
    states = sorted(((_size(resume_files(t)), t) for t in unfinished), key=lambda s: s[0])
    chosen, room = [], budget - size
    for nbytes, trial in states:  # weights barely compress: raw size is the estimate
        if nbytes <= room:
            chosen.append(trial)
            room -= nbytes
    while chosen:
        paths = base + [p for t in chosen for p in resume_files(t)]
        size = _write_tar(dest, work, paths, gzip=True)
        if size <= budget:
            break
        chosen.pop()  # the largest one
        if not chosen:  # back to the results alone
            size = _write_tar(dest, work, base, gzip=True)
    names = [str(t.relative_to(work)) for t in chosen]
    dropped = [str(t.relative_to(work)) for t in unfinished if t not in chosen]
    return PackReport(dest, size, names, dropped)


def pack_checkpoints(work: Path, dest: Path, budget: int, first: list[str]) -> PackReport:
    """Best checkpoints of finished trials (trials named in ``first`` first, then smallest
    first) as a plain tar of at most ``budget`` bytes."""
    done = [t for t in trial_dirs(work) if finished(t)]
    best = {t: _files(RunDir(t).checkpoint("best")) for t in done}
    order = sorted(done, key=lambda t: (t.name not in first, _size(best[t])))
    chosen, room = [], budget - 10 * 1024  # tar headers
    for trial in order:
        nbytes = _size(best[trial]) + 1024 * len(best[trial])
        if best[trial] and nbytes <= room:
            chosen.append(trial)
            room -= nbytes
    size = _write_tar(dest, work, [p for t in chosen for p in best[t]], gzip=False)
    return PackReport(dest, size, [str(t.relative_to(work)) for t in chosen])


def _replace_folder(work: Path, fill) -> None:
    """Fill a staging folder beside ``work`` with ``fill(staging)``, then put it in ``work``'s
    place (``work`` must be absent, empty or an experiment folder: one holding
    :data:`MARKER`)."""
    if work.exists() and any(work.iterdir()) and not (work / MARKER).is_file():
        raise ValueError(f"{work}: not an experiment folder of this script (no {MARKER}); "
                         "refusing to replace it")  # fmt: skip
    staging = work.with_name(f".{work.name}.unpack-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        fill(staging)
        if work.exists():
            shutil.rmtree(work)
        os.replace(staging, work)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def unpack_state(archive: Path, work: Path) -> None:
    """Replace ``work`` by the archive's contents."""

    def fill(staging: Path) -> None:
        with tarfile.open(archive, "r:*") as tar:
            tar.extractall(staging, filter="data")

    _replace_folder(work, fill)


REWRITTEN = ("oof_predictions.csv", "folds.csv")  # the final k-fold step writes them again


def result_files(work: Path) -> list[Path]:
    """What is worth committing: :func:`base_files` without the grid trials' val/test
    predictions (their checkpoints can make them again) and the k-fold files written again at
    its end; the folds' own predictions stay (Table 3.2's pooled metrics need them)."""
    kept = []
    for path in base_files(work):
        rel = path.relative_to(work)
        in_grid_run = rel.parts[:2] == ("grid", "runs")
        if (in_grid_run and path.name == "predictions.csv") or (
            rel.parts[0] == "kfold" and len(rel.parts) == 2 and path.name in REWRITTEN
        ):
            continue
        kept.append(path)
    return kept


def export_results(work: Path, dest: Path) -> int:
    """Copy :func:`result_files` of ``work`` to ``dest`` (replaced whole); returns bytes."""
    files = result_files(work)

    def fill(staging: Path) -> None:
        for path in files:
            target = staging / path.relative_to(work)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)

    _replace_folder(dest, fill)
    return _size(files)


def seed_work(results: Path, work: Path) -> None:
    """Start ``work`` from committed results (finished trials are not trained again)."""

    def fill(staging: Path) -> None:
        shutil.copytree(results, staging, dirs_exist_ok=True)

    _replace_folder(work, fill)


def slim_dataset(source: Path, dest: Path) -> int:
    """Copy the files training reads (:data:`DATA_FILES`, not the unlabelled faces) of a
    prepared dataset to ``dest``; returns their bytes."""
    from aiducation.atomic import atomic_directory

    missing = [n for n in DATA_FILES[:3] if not (source / n).is_file()]
    if missing:
        raise FileNotFoundError(f"{source} is not a prepared dataset: missing {', '.join(missing)}")
    with atomic_directory(dest) as tmp:
        for name in DATA_FILES:
            if (source / name).is_file():
                shutil.copy2(source / name, tmp / name)
    return _size([dest / n for n in DATA_FILES if (dest / n).is_file()])


def travel_bytes(repo: Path, carried: list[Path]) -> int:
    """Bytes a device call takes along: tracked and untracked-not-ignored files of ``repo``
    plus the ``carried`` paths."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=repo, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    tree = _size([repo / name for name in listed if name and (repo / name).is_file()])
    extra = [p for c in carried for p in ([c] if c.is_file() else _files(c))]
    return tree + _size(extra)
