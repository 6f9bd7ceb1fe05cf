"""Fixtures of the lesson-store tests: a database on SQLite and on a real, private PostgreSQL
server (a throwaway cluster in a temporary folder, on a unix socket; skipped with one reason
when the server binaries are missing or it cannot start), and small generated lessons."""

from __future__ import annotations

import datetime
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from aiducation.lessons import LessonRecord, Minute, StateShare

CLASSES = ("Angry", "Bored", "Focused", "Neutral")
PG_USER = "postgres"


def postgres_bin() -> Path | None:
    """The folder holding initdb and pg_ctl: on PATH, else the newest
    /usr/lib/postgresql/<version>/bin (Debian keeps them off PATH)."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).parent
    candidates = [p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/pg_ctl")]
    candidates = [p for p in candidates if (p / "initdb").is_file()]
    return max(candidates, key=lambda p: int(p.parent.name), default=None) if candidates else None


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
        raise RuntimeError(f"{what} failed: {lines[-1]}")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Path]:
    """A private PostgreSQL server for this test session; yields its socket folder.

    initdb + pg_ctl in a temporary folder, listening only on a unix socket there; run as the
    ``postgres`` user (``runuser``) when the tests run as root, which the server refuses.
    """
    binaries = postgres_bin()
    if binaries is None:
        pytest.skip(
            "PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql"
        )
    as_user: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="aiducation-pg-"))
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(PG_USER)
        except KeyError:
            shutil.rmtree(root)
            pytest.skip(f"tests run as root and there is no {PG_USER!r} user to run PostgreSQL")
        shutil.chown(root, PG_USER, PG_USER)
        as_user = ["runuser", "-u", PG_USER, "--"]
    data, log = root / "data", root / "server.log"
    options = f"-k {root} -c listen_addresses='' -c fsync=off -c max_connections=40"
    try:
        _run([*as_user, str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", PG_USER,
              "-E", "UTF8", "--locale=C", "--no-sync"], "initdb")  # fmt: skip
        _run([*as_user, str(binaries / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options,
              "-w", "-t", "60", "start"], "pg_ctl start")  # fmt: skip
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"PostgreSQL server could not start: {exc}")
    try:
        yield root
    finally:
        subprocess.run(
            [*as_user, str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True, timeout=120,
        )  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: Path) -> Iterator[str]:
    """A fresh, empty database on the private server (dropped afterwards)."""
    import psycopg

    name = f"lessons_{uuid.uuid4().hex[:12]}"
    admin = {"host": str(postgres_server), "user": PG_USER, "dbname": "postgres"}
    with psycopg.connect(**admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql://{PG_USER}@/{name}?host={postgres_server}"
    with psycopg.connect(**admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database to open: a SQLite file, or a URL on the private PostgreSQL server."""
    if request.param == "sqlite":
        return str(tmp_path / "lessons.sqlite")
    return request.getfixturevalue("postgres_url")


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The default database lives here, never in the real home."""
    folder = tmp_path / "user-data"
    monkeypatch.setenv("AIDUCATION_DATA_DIR", str(folder))
    return folder


def sample_record(
    name: str = "Fractions",
    course: str | None = "7b maths",
    day: datetime.date = datetime.date(2025, 3, 3),
    minutes: int = 3,
    students: int = 2,
) -> LessonRecord:
    """A small lesson: ``minutes`` minutes at 2 frames/s, 10 answered faces each."""
    shares = [0.1, 0.2, 0.3, 0.4]
    return LessonRecord(
        name=name, course=course, day=day, source="lesson.mp4", classes=CLASSES,
        duration_s=60.0 * minutes, analysed_s=60.0 * minutes - 0.5, frames=120 * minutes,
        faces_seen=11 * minutes, faces_answered=10 * minutes, students=students,
        tracks=students + 1,
        states=tuple(StateShare(c, round(s * 10 * minutes), s, s - 0.05, s + 0.05)
                     for c, s in zip(CLASSES, shares, strict=True)),
        minutes=tuple(Minute(m, 120, 10, dict(zip(CLASSES, shares, strict=True)))
                      for m in range(minutes)),
        student_rows=tuple({"student": i + 1, "track": 7 * i, "seconds_on_screen": 30.0 + i,
                            "dominant_state": "Neutral", "share_Angry": 0.25,
                            "share_Angry_low": None} for i in range(students)),
        model={"name": "faceresnet_s", "version": "0.1.0", "checksum": "sha256:ab"},
        settings={"fps": 2.0, "smoothing": "hmm"},
    )  # fmt: skip
