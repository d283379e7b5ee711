"""Alembic environment for the Switchboard store.

The store runs migrations programmatically (see ``app.engine.store.migrate``) and hands its
open connection over in ``config.attributes["connection"]``, so no ``alembic.ini`` is needed.
For ad-hoc use, ``sqlalchemy.url`` in the config is honoured as a fallback.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from app.engine.store.migrate import VERSION_TABLE
from app.engine.store.models import Base

config = context.config
target_metadata = Base.metadata


def _configure_and_run(**kwargs: object) -> None:
    context.configure(
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        compare_type=True,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copes
        **kwargs,  # type: ignore[arg-type]
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    """Emit SQL to stdout (``alembic upgrade --sql``) instead of touching a database."""
    _configure_and_run(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)


def run_online() -> None:
    """Migrate through the caller's connection, or one made from ``sqlalchemy.url``."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection=connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection in config.attributes and no sqlalchemy.url set")
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            _configure_and_run(connection=conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
