"""Migrations match the models; foreign, newer or broken databases are refused untouched."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from app.engine.core.errors import DatabaseUnavailable
from app.engine.store import VERSION_TABLE, Store, head_revision
from app.engine.store.migrate import alembic_config
from app.engine.store.models import Base


def _fingerprint(folder: Path) -> dict[str, str]:
    """Every file in ``folder`` with a hash of its bytes: proves nothing was written."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def test_upgrade_head_on_empty_database_matches_models(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "head")
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True, "version_table": VERSION_TABLE})
            assert ctx.get_current_revision() == head_revision()
            assert compare_metadata(ctx, Base.metadata) == []
            names = set(inspect(conn).get_table_names())
        assert names == set(Base.metadata.tables) | {VERSION_TABLE}
        with engine.begin() as conn:  # and the downgrade really undoes it
            command.downgrade(alembic_config(conn), "base")
        with engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) == {VERSION_TABLE}
    finally:
        engine.dispose()


def test_store_sets_sqlite_pragmas_and_reopens(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'deep' / 'er' / 'sb.db'}"
    with Store(url, data_dir=tmp_path) as store:
        store.insert_task({"id": "keep", "text": "survives reopening"}).result(5)
        pragmas = store.run(
            lambda c: [
                c.exec_driver_sql(f"PRAGMA {p}").scalar()
                for p in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            ]
        ).result(5)
    assert pragmas == ["wal", 1, 1, 5000]  # synchronous 1 = NORMAL
    with Store(url, data_dir=tmp_path) as store:
        assert store.get_task("keep").result(5).text == "survives reopening"


def test_newer_database_is_refused_and_left_untouched(tmp_path: Path) -> None:
    db = tmp_path / "sb.db"
    Store(f"sqlite:///{db}", data_dir=tmp_path).close()
    with sqlite3.connect(db) as raw:
        raw.execute(f"UPDATE {VERSION_TABLE} SET version_num = '9999_from_the_future'")
    raw.close()
    before = _fingerprint(tmp_path)
    with pytest.raises(DatabaseUnavailable, match="newer Switchboard") as info:
        Store(f"sqlite:///{db}", data_dir=tmp_path)
    assert "9999_from_the_future" in str(info.value)
    assert "left untouched" in str(info.value)
    assert _fingerprint(tmp_path) == before


def test_foreign_database_is_refused_and_left_untouched(tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    with sqlite3.connect(db) as raw:
        raw.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
        raw.execute("INSERT INTO invoices VALUES (1, 9.5)")
    raw.close()
    before = _fingerprint(tmp_path)
    with pytest.raises(DatabaseUnavailable, match=r"\(invoices\) but is not a Switchboard database"):
        Store(f"sqlite:///{db}", data_dir=tmp_path)
    assert _fingerprint(tmp_path) == before
    with sqlite3.connect(db) as raw:  # not even switched to WAL
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    raw.close()


def test_non_database_file_is_refused_and_left_untouched(tmp_path: Path) -> None:
    db = tmp_path / "notes.db"
    db.write_text("just some notes, not SQLite\n" * 100)
    before = _fingerprint(tmp_path)
    with pytest.raises(DatabaseUnavailable, match="is not a SQLite database"):
        Store(f"sqlite:///{db}", data_dir=tmp_path)
    assert _fingerprint(tmp_path) == before


def test_bad_urls_are_database_unavailable(tmp_path: Path) -> None:
    with pytest.raises(DatabaseUnavailable, match="invalid database URL"):
        Store("not a url at all", data_dir=tmp_path)
    with pytest.raises(DatabaseUnavailable, match="cannot use"):
        Store("nosuchdialect://x/y", data_dir=tmp_path)
    # Nothing listens on port 1: a clear message, and the password never appears in it.
    with pytest.raises(DatabaseUnavailable, match="cannot open postgresql") as info:
        Store("postgresql://sb:s3cret@127.0.0.1:1/none", data_dir=tmp_path)
    assert "s3cret" not in str(info.value)


def test_rows_written_under_0001_survive_the_upgrade_to_head(tmp_path: Path) -> None:
    """A database created and filled at 0001 keeps every row, byte for byte, at head."""
    db = tmp_path / "old.db"
    engine = create_engine(f"sqlite:///{db}")
    seeded = {
        "tasks": "INSERT INTO tasks (id, created_at, updated_at, state, text, specialist, attempt, cost, answer, "
        "result_json) VALUES ('t1', 1.0, 2.0, 'succeeded', 'integrate x', 'numerical', 0, 0.5, '9', "
        '\'{"plan": {"op": "integrate"}}\')',
        "feedback": "INSERT INTO feedback (ts, task_id, kind, specialist, note) VALUES (3.0, 't1', 'correct', "
        "'numerical', 'nice')",
        "decisions": "INSERT INTO decisions (ts, kind, subject, reason, data_json) VALUES (4.0, 'scale', "
        "'numerical', 'because', '{}')",
        "routing_decisions": "INSERT INTO routing_decisions (ts, task_id, text, chosen, router, confidence, "
        "scores_json, latency_ms, rationale, schema_violation) VALUES (5.0, 't1', "
        "'integrate x', 'numerical', 'fast', 0.9, '{}', 1.5, 'r', 0)",
        "golden_runs": "INSERT INTO golden_runs (ts, run_id, specialist, case_id, path, passed, detail, "
        "duration_ms) VALUES (6.0, 'r1', 'numerical', 'num-01', 'explicit', 1, '', 12.0)",
        "metric_points": "INSERT INTO metric_points (ts, name, subject, value) VALUES (7.0, 'm', 's', 1.0)",
    }
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0001_initial")
            for statement in seeded.values():
                conn.exec_driver_sql(statement)
        with engine.connect() as conn:
            before = {t: conn.exec_driver_sql(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in seeded}
    finally:
        engine.dispose()
    with Store(f"sqlite:///{db}", data_dir=tmp_path) as store:  # opening migrates to head
        version = store.run(lambda c: c.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}").scalar()).result(5)
        after = store.run(
            lambda c: {t: c.exec_driver_sql(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in seeded}
        ).result(5)
        assert store.get_task("t1").result(5).result == {"plan": {"op": "integrate"}}
        examples = store.run(lambda c: c.exec_driver_sql("SELECT count(*) FROM dataset_examples").scalar()).result(5)
    assert version == head_revision() == "0003_proposals"
    assert after == before and all(before.values())
    assert examples == 0
    engine = create_engine(f"sqlite:///{db}")
    try:  # and back down to 0001: the new tables go, the old rows stay
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0001_initial")
        with engine.connect() as conn:
            names = set(inspect(conn).get_table_names())
            assert {"variants", "variant_outcomes", "dataset_examples"}.isdisjoint(names)
            assert {t: conn.exec_driver_sql(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in seeded} == before
    finally:
        engine.dispose()
