"""Engine creation: SQLite tuned for one writer thread, PostgreSQL with pre-ping.

SQLite: the parent directory is created; every connection gets ``journal_mode=WAL`` (readers
never block the writer), ``synchronous=NORMAL`` (durable at checkpoints, no fsync per commit),
``foreign_keys=ON`` and ``busy_timeout=5000``. pysqlite's own transaction handling is switched
off so SAVEPOINTs work and each transaction starts with ``BEGIN IMMEDIATE`` (takes the write
lock up front, so another process's writer makes us wait instead of failing mid-transaction).

Before a SQLite file is opened that way it is inspected through a read-only connection, so a
file that is not ours is refused without even its journal mode being changed.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from app.engine.core.errors import DatabaseUnavailable
from app.engine.store.migrate import check_database

__all__ = ["DatabaseDamaged", "describe_url", "open_engine", "parse_url"]


def parse_url(url: str) -> URL:
    """Parse ``url`` and pick our drivers (psycopg 3 for PostgreSQL)."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseUnavailable(f"invalid database URL {url!r}: {exc}") from exc
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def describe_url(url: URL) -> str:
    """The URL for messages, never with its password."""
    return url.render_as_string(hide_password=True)


def _sqlite_path(url: URL) -> Path | None:
    database = url.database or ""
    if database in {"", ":memory:"} or database.startswith("file:"):
        return None
    return Path(database).expanduser()


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (SAVEPOINTs need it)
    cursor = dbapi_connection.cursor()
    try:
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "foreign_keys=ON",
            "busy_timeout=5000",
        ):
            cursor.execute("PRAGMA " + pragma)
    finally:
        cursor.close()


def _on_sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


class DatabaseDamaged(DatabaseUnavailable):
    """A SQLite file of ours fails ``PRAGMA quick_check``; it was only read, never repaired."""

    def __init__(self, message: str, *, path: Path, detail: str) -> None:
        super().__init__(
            message, hint="keep the damaged file aside and start with an empty database, or restore a backup"
        )
        self.path = path
        self.detail = detail


def _quick_check(conn: Any, path: Path, where: str) -> None:
    """``PRAGMA quick_check`` on the read-only connection; :class:`DatabaseDamaged` unless ``ok``.

    A file that is not SQLite at all is left to :func:`check_database` (a foreign file).
    """
    try:
        rows = [str(r[0]) for r in conn.exec_driver_sql("PRAGMA quick_check").fetchall()]
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        if "not a database" in reason:
            return
        rows = [reason]
    if rows != ["ok"]:
        detail = "; ".join(rows[:3]) + (f" (and {len(rows) - 3} more problems)" if len(rows) > 3 else "")
        raise DatabaseDamaged(f"{where} is damaged: {detail}", path=path, detail=detail)


def _main_file_is_ours(path: Path) -> bool:
    """Whether the main file alone (its -wal ignored, nothing written) is a Switchboard database."""
    uri = f"file:{quote(str(path.resolve()))}?immutable=1"
    ro = create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True), poolclass=StaticPool)
    try:
        with ro.connect() as conn:
            return check_database(conn, "the main file") is not None
    except (DatabaseUnavailable, SQLAlchemyError):
        return False
    finally:
        ro.dispose()


def _preflight_sqlite(path: Path, where: str) -> None:
    """Inspect an existing file read-only; raise if it is not a (compatible) Switchboard DB."""
    if not path.exists() or path.stat().st_size == 0:
        return
    if not path.is_file():
        raise DatabaseUnavailable(f"{where}: {path} is not a regular file")
    # Read-only mode on a WAL database creates -wal/-shm files when none exist; "immutable"
    # creates nothing. When a -wal file exists another connection is live, so plain read-only
    # (which honours its locks) is used. The real open re-checks under the write lock anyway.
    wal_live = path.with_name(path.name + "-wal").exists()
    uri = f"file:{quote(str(path.resolve()))}?" + ("mode=ro" if wal_live else "immutable=1")
    ro = create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True), poolclass=StaticPool)
    try:
        with ro.connect() as conn:
            _quick_check(conn, path, where)
            check_database(conn, where)
    except DatabaseDamaged:
        raise
    except DatabaseUnavailable as exc:
        if wal_live and _main_file_is_ours(path):
            # the file alone is ours; read through its -wal it is not: a WAL of another database
            raise DatabaseDamaged(
                f"{where} has a write-ahead log that does not belong to it ({exc.message.split(';')[0]})",
                path=path,
                detail="its -wal file belongs to another database",
            ) from exc
        if "file is not a database" in exc.message:
            raise DatabaseUnavailable(
                f"{where}: {path} is not a SQLite database; it was left untouched",
                hint="point database_url at another file",
            ) from exc
        raise
    except SQLAlchemyError as exc:
        raise DatabaseUnavailable(f"cannot open {where}: {exc}") from exc
    finally:
        ro.dispose()


def open_engine(url: str) -> tuple[Engine, str]:
    """Create the engine for ``url`` and return it with its printable name.

    Raises
    ------
    DatabaseUnavailable
        The URL is invalid, the driver is missing, or an existing SQLite file is not ours.
    """
    parsed = parse_url(url)
    where = describe_url(parsed)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        path = _sqlite_path(parsed)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseUnavailable(f"cannot create the folder of {where}: {exc}") from exc
            _preflight_sqlite(path, where)
        else:
            kwargs["poolclass"] = StaticPool  # one shared in-memory database
        kwargs["connect_args"] = {"check_same_thread": False}
    elif parsed.get_backend_name() == "postgresql":
        kwargs.update(pool_pre_ping=True, pool_size=2, max_overflow=2)
        kwargs["connect_args"] = {"connect_timeout": 5}
    try:
        engine = create_engine(parsed, **kwargs)
    except (ArgumentError, ImportError) as exc:
        raise DatabaseUnavailable(f"cannot use {where}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _on_sqlite_connect)
        event.listen(engine, "begin", _on_sqlite_begin)
    return engine, where
