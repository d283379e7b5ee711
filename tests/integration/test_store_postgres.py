"""The store against a real PostgreSQL server.

Each test gets a fresh schema (``search_path`` set through the connection options), dropped
afterwards. The repository tests are the SQLite ones from ``tests/unit/test_store_repository.py``,
imported here (with the series tests) so they run again with this module's ``store`` fixture.

The server URL comes from ``SWITCHBOARD_TEST_POSTGRES_URL`` (the Makefile sets it from
``packaging/setup/postgres.sh url``). Without it, or with the server down, the tests skip; under
``CI=true`` they fail instead.
"""

from __future__ import annotations

import importlib.util
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from app.engine.core.errors import DatabaseUnavailable
from app.engine.store import VERSION_TABLE, Store
from app.engine.store.engine import parse_url
from app.engine.store.models import Base

pytestmark = pytest.mark.postgres

# Run the SQLite repository and series tests again here, with this module's fixtures.
_SKIP = {"test_close_drains_queue_and_stops"}  # opens its own SQLite store
for _file in ("test_store_repository.py", "test_store_series.py"):
    _path = Path(__file__).resolve().parents[1] / "unit" / _file
    _spec = importlib.util.spec_from_file_location(f"_pg_cases_{_path.stem}", _path)
    assert _spec is not None and _spec.loader is not None
    _cases = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_cases)
    for _name in dir(_cases):
        if _name.startswith("test_") and _name not in _SKIP:
            globals()[_name] = getattr(_cases, _name)


def _unavailable(problem: str) -> None:
    message = f"PostgreSQL is required but unavailable: {problem}"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message + " (CI=true: a missing service is a failure)")
    pytest.skip(message)


@pytest.fixture(scope="module")
def admin() -> Iterator[Engine]:
    url = os.environ.get("SWITCHBOARD_TEST_POSTGRES_URL", "")
    if not url:
        _unavailable("SWITCHBOARD_TEST_POSTGRES_URL is not set (see packaging/setup/postgres.sh)")
    engine = create_engine(parse_url(url), connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        engine.dispose()
        _unavailable(f"cannot connect: {str(getattr(exc, 'orig', exc)).strip()}")
    yield engine
    engine.dispose()


@pytest.fixture
def schema_url(admin: Engine) -> Iterator[str]:
    """A URL whose connections use a brand-new, empty schema."""
    schema = f"sbtest_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = admin.url.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture
def store(schema_url: str, tmp_path: Path) -> Iterator[Store]:
    s = Store(schema_url, data_dir=tmp_path)
    try:
        yield s
    finally:
        s.close()


def test_postgres_store_is_postgres_in_its_own_schema(store: Store) -> None:
    assert store.dialect == "postgresql"
    schema = store.run(lambda c: c.execute(text("SELECT current_schema()")).scalar()).result(5)
    assert str(schema).startswith("sbtest_")


def test_migrated_schema_matches_models(store: Store) -> None:
    def diff(conn: object) -> list[object]:
        ctx = MigrationContext.configure(
            conn,
            opts={"compare_type": True, "version_table": VERSION_TABLE},  # type: ignore[arg-type]
        )
        return list(compare_metadata(ctx, Base.metadata))

    assert store.run(diff).result(10) == []


def test_newer_schema_is_refused_and_left_untouched(schema_url: str, tmp_path: Path) -> None:
    Store(schema_url, data_dir=tmp_path).close()
    engine = create_engine(schema_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '9999_future'"))
            conn.execute(
                text(
                    "INSERT INTO tasks (id, created_at, updated_at, state, text, attempt, cost) "
                    "VALUES ('keep', 1, 1, 'queued', 'x', 0, 0)"
                )
            )
        with pytest.raises(DatabaseUnavailable, match="newer Switchboard"):
            Store(schema_url, data_dir=tmp_path)
        with engine.connect() as conn:
            assert conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar() == "9999_future"
            assert conn.execute(text("SELECT count(*) FROM tasks")).scalar() == 1
    finally:
        engine.dispose()


def test_foreign_schema_is_refused(schema_url: str, tmp_path: Path) -> None:
    engine = create_engine(schema_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE invoices (id integer primary key)"))
        with pytest.raises(DatabaseUnavailable, match="not a Switchboard database"):
            Store(schema_url, data_dir=tmp_path)
        with engine.connect() as conn:
            tables = (
                conn.execute(
                    text("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")
                )
                .scalars()
                .all()
            )
        assert tables == ["invoices"]
    finally:
        engine.dispose()
