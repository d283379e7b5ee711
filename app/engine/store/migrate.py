"""Schema checks and Alembic migrations, run programmatically from inside the package.

The Alembic environment lives in ``migrations/`` next to this module, so no ``alembic.ini`` is
needed anywhere: :func:`alembic_config` points ``script_location`` there and passes the open
connection through ``config.attributes``.

Before migrating, :func:`check_database` refuses (with :class:`DatabaseUnavailable`) a database
that belongs to something else or was written by a newer Switchboard; it only reads, so a
refused database is never modified.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from app.engine.core.errors import DatabaseUnavailable

__all__ = [
    "MIGRATIONS_DIR",
    "VERSION_TABLE",
    "alembic_config",
    "check_database",
    "head_revision",
    "upgrade_to_head",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# A table name of our own: a database migrated by another Alembic project is "foreign",
# not "newer", and gets the right message.
VERSION_TABLE = "switchboard_schema_version"


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config for our migrations, bound to ``connection`` when given."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """The newest schema revision this code knows."""
    head = _scripts().get_current_head()
    if head is None:  # pragma: no cover - the package always ships revisions
        raise DatabaseUnavailable("no schema migrations found in " + str(MIGRATIONS_DIR))
    return head


def check_database(conn: Connection, where: str) -> str | None:
    """Return the database's schema revision (``None`` when empty); refuse foreign or newer ones.

    Parameters
    ----------
    conn
        An open connection; only read from.
    where
        How to name the database in messages (URL without password).
    """
    try:
        tables = set(inspect(conn).get_table_names())
        if VERSION_TABLE not in tables:
            if tables:
                some = ", ".join(sorted(tables)[:5])
                raise DatabaseUnavailable(
                    f"{where} already holds tables ({some}) but is not a Switchboard database; it was left untouched",
                    hint="point database_url at an empty database or an existing Switchboard one",
                )
            return None
        heads = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_heads()
    except SQLAlchemyError as exc:
        raise DatabaseUnavailable(f"cannot read the schema of {where}: {exc.args[0] if exc.args else exc}") from exc
    known = {rev.revision for rev in _scripts().walk_revisions()}
    unknown = sorted(h for h in heads if h not in known)
    if unknown:
        raise DatabaseUnavailable(
            f"{where} has schema revision {', '.join(unknown)}, which this version of Switchboard "
            "does not know: it was written by a newer Switchboard; it was left untouched",
            hint="upgrade Switchboard, or point database_url at another database",
        )
    if len(heads) > 1:
        raise DatabaseUnavailable(f"{where} has several schema heads ({', '.join(heads)})")
    return heads[0] if heads else None


def upgrade_to_head(conn: Connection, where: str) -> None:
    """Check the database, then migrate it to the newest revision inside ``conn``'s transaction."""
    current = check_database(conn, where)
    if current == head_revision():
        return
    try:
        command.upgrade(alembic_config(conn), "head")
    except SQLAlchemyError as exc:
        raise DatabaseUnavailable(f"migrating {where} failed: {exc.args[0] if exc.args else exc}") from exc
