"""Where the lesson history lives and how it is opened: SQLite by default, PostgreSQL by URL.

:func:`database_url` turns ``--database`` (nothing, a path or a URL) into a SQLAlchemy URL,
:func:`connect` makes the engine (SQLite: WAL journal, a busy timeout, foreign keys, deleted
content overwritten; write transactions take the write lock at once, so two processes never
deadlock on it) and :func:`migrate` brings the schema to the newest Alembic revision shipped in
``migrations/`` (no alembic.ini needed). Every failure here is one :class:`InputError` line.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from aiducation.errors import InputError

DATA_DIR_VARIABLE = "AIDUCATION_DATA_DIR"  # overrides the user's data directory (tests set it)
DEFAULT_FILE = "lessons.sqlite"
BUSY_TIMEOUT_S = 30.0  # how long a writer waits for another process's write lock
CONNECT_TIMEOUT_S = 10  # PostgreSQL: an unreachable server is an error after this long
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
WRITE = {"aiducation_write": True}  # execution option: a transaction that will write
MIGRATION_LOCK = 32_032_032  # PostgreSQL advisory lock: one process migrates at a time


def default_database() -> Path:
    """``$AIDUCATION_DATA_DIR/lessons.sqlite``, else ``lessons.sqlite`` in the user's data
    directory (``platformdirs.user_data_dir("aiducation")``)."""
    folder = os.environ.get(DATA_DIR_VARIABLE)
    if not folder:
        import platformdirs

        folder = platformdirs.user_data_dir("aiducation")
    return Path(folder) / DEFAULT_FILE


def database_url(database: str | os.PathLike | None = None) -> URL:
    """The SQLAlchemy URL of ``database``: None → :func:`default_database`; text with ``://``
    → a URL (``sqlite:///PATH``, ``postgresql://USER@HOST/NAME``); anything else → a SQLite
    file. PostgreSQL URLs use the psycopg (3) driver."""
    if database is None or (not isinstance(database, str) or "://" not in database):
        path = default_database() if database is None else Path(database)
        if database is None:
            path.parent.mkdir(parents=True, exist_ok=True)
        return URL.create("sqlite", database=str(path))
    try:
        url = make_url(database)
    except (ArgumentError, ValueError):  # ValueError: e.g. a port that is not a number
        raise InputError(
            f"--database {database!r}: not a database URL (expected a file path, "
            "sqlite:///PATH or postgresql://USER@HOST/NAME)"
        ) from None
    backend = url.get_backend_name()
    if backend == "postgres":  # an old spelling some services still hand out
        url = url.set(drivername="postgresql")
    if url.get_backend_name() == "postgresql" and "+" not in url.drivername:
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise InputError(
            f"--database {describe(url)}: unsupported database {backend!r} "
            "(expected sqlite:///PATH or postgresql://USER@HOST/NAME)"
        )
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        raise InputError(
            f"--database {database}: expected a file (sqlite:///PATH); an in-memory "
            "database would forget every lesson"
        )
    return url


def describe(url: URL) -> str:
    """The URL as shown to the user (password hidden); a SQLite file by its path."""
    if url.get_backend_name() == "sqlite":
        return str(url.database)
    shown = url.set(drivername=url.get_backend_name()).render_as_string(hide_password=True)
    return unquote(shown)


def connect(url: URL) -> Engine:
    """An engine for ``url`` (see the module's notes), checked by connecting once."""
    try:
        if url.get_backend_name() == "sqlite":
            folder = Path(str(url.database)).expanduser().resolve().parent
            if not folder.is_dir():
                raise InputError(f"--database {url.database}: folder {folder} does not exist")
            engine = sa.create_engine(
                url, connect_args={"timeout": BUSY_TIMEOUT_S}, poolclass=sa.pool.NullPool
            )
            _sqlite_setup(engine)
        else:
            engine = sa.create_engine(
                url, connect_args={"connect_timeout": CONNECT_TIMEOUT_S}, pool_pre_ping=True
            )
        with engine.connect():
            pass
    except InputError:
        raise
    except (NoSuchModuleError, ImportError) as exc:
        raise InputError(f"--database {describe(url)}: driver missing ({exc})") from None
    except (SQLAlchemyError, OSError) as exc:
        raise InputError(f"--database {describe(url)}: cannot open it ({_reason(exc)})") from None
    return engine


def _reason(exc: BaseException) -> str:
    """The first line of a driver's error message."""
    original = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(original).splitlines() if line.strip()]
    return lines[0] if lines else type(original).__name__


def _sqlite_setup(engine: Engine) -> None:
    """WAL journal (readers never block the writer), busy timeout, foreign keys, deleted rows
    overwritten, and transactions begun explicitly: ``BEGIN IMMEDIATE`` for a write (the write
    lock is taken first, so two writers queue instead of failing), plain ``BEGIN`` to read."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {round(BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA secure_delete = ON")  # a deleted lesson leaves no trace
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:
        writes = connection.get_execution_options().get("aiducation_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


def _alembic_config(connection: sa.Connection):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest schema revision this code knows."""
    from alembic.script import ScriptDirectory

    with_config = ScriptDirectory(str(MIGRATIONS))
    return str(with_config.get_current_head())


def migrate(engine: Engine, label: str, revision: str = "head") -> None:
    """Upgrade the schema to ``revision`` (one process at a time, in one transaction); a
    database made by a newer version of aiducation is refused with one clear line."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(MIGRATIONS))
    with engine.execution_options(**WRITE).begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
            )
        current = MigrationContext.configure(connection).get_current_heads()
        known = {rev.revision for rev in script.walk_revisions()}
        unknown = [rev for rev in current if rev not in known]
        if unknown:
            raise InputError(
                f"--database {label}: its schema (revision {', '.join(unknown)}) is newer than "
                f"this version of aiducation knows (newest {script.get_current_head()}); "
                "upgrade aiducation to open it"
            )
        target = script.get_current_head() if revision == "head" else revision
        if tuple(current) != (target,):
            command.upgrade(_alembic_config(connection), revision)
