"""A corrupted database: detected at start, kept under a new name, never repaired, start empty.

Each case damages a real engine database the way disks and copies do (a garbage page, a
truncated file, a destroyed header, a WAL file of another database), then starts the store
the way the orchestrator does (:func:`app.engine.store.damage.open_store`). A foreign
database that is healthy is still refused untouched (``tests/unit/test_store_migrations.py``).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from app.engine.core.config import Settings
from app.engine.core.events import Decision
from app.engine.core.views import HealthView
from app.engine.health.probes import Probes
from app.engine.orchestrator import Orchestrator
from app.engine.store import Store
from app.engine.store.damage import open_store
from tests.faults.conftest import integrity

PAGE = 4096


def filled_database(data_dir: Path) -> Path:
    """An engine database with enough task rows to span many pages, closed cleanly."""
    db = data_dir / "switchboard.db"
    store = Store(f"sqlite:///{db}", data_dir=data_dir)
    now = time.time()
    for i in range(400):
        store.insert_task(
            {
                "id": f"t{i:04d}",
                "created_at": now,
                "updated_at": now,
                "state": "succeeded",
                "text": f"task {i} " + "x" * 300,
                "attempt": 1,
            }
        )
    store.get_task("t0000").result(timeout=30)
    store.close()
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    return db


def garbage_page(db: Path) -> None:
    with open(db, "r+b") as fh:
        fh.seek(PAGE * 5)
        fh.write(os.urandom(PAGE))


def truncated(db: Path) -> None:
    size = db.stat().st_size
    with open(db, "r+b") as fh:
        fh.truncate(size // 3)


def header_destroyed(db: Path) -> None:
    with open(db, "r+b") as fh:
        fh.write(b"\0" * 100)


def foreign_wal(db: Path) -> None:
    """A -wal file written by another database, dropped next to ours."""
    other = db.with_name("other.db")
    conn = sqlite3.connect(other)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("CREATE TABLE junk (a, b)")
    conn.executemany("INSERT INTO junk VALUES (?, ?)", [(i, "y" * 500) for i in range(300)])
    conn.commit()
    wal = Path(f"{other}-wal").read_bytes()
    conn.close()
    Path(f"{db}-wal").write_bytes(wal)
    for leftover in (other, Path(f"{other}-wal"), Path(f"{other}-shm")):
        leftover.unlink(missing_ok=True)


DAMAGE: dict[str, Callable[[Path], None]] = {
    "garbage page": garbage_page,
    "truncated": truncated,
    "header destroyed": header_destroyed,
    "foreign WAL": foreign_wal,
}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("case", list(DAMAGE))
def test_a_damaged_database_is_kept_aside_and_the_app_starts_empty(tmp_path: Path, case: str) -> None:
    db = filled_database(tmp_path)
    DAMAGE[case](db)
    before = {p.name: digest(p) for p in tmp_path.iterdir() if p.name.startswith("switchboard.db")}
    store = open_store(f"sqlite:///{db}", data_dir=tmp_path, own_file=db)
    try:
        assert store.notice, f"{case}: the damage was not detected"
        kept = sorted(p for p in tmp_path.iterdir() if ".damaged-" in p.name)
        assert kept, "the damaged file must be kept"
        # never repaired in place: the kept files are byte-for-byte what was damaged
        after = {
            p.name.split(".damaged-")[0] + ("-wal" if p.name.endswith("-wal") else ""): digest(p)
            for p in kept
            if not p.name.endswith("-shm")
        }
        for name, value in before.items():
            if not name.endswith("-shm"):
                assert after.get(name) == value, f"{name} changed while it was kept aside"
        assert str(db) in store.notice and kept[0].name in store.notice and "empty" in store.notice
        # the new database is empty and sound, and usable
        assert store.list_tasks(limit=10).result(timeout=10) == []
        now = time.time()
        store.insert_task(
            {"id": "new", "created_at": now, "updated_at": now, "state": "queued", "text": "2+2", "attempt": 0}
        )
        assert store.get_task("new").result(timeout=10).text == "2+2"
    finally:
        store.close()
    assert integrity(db) == "ok"
    # the next start finds a healthy database: no crash loop, no second copy
    again = open_store(f"sqlite:///{db}", data_dir=tmp_path, own_file=db)
    try:
        assert again.notice is None
        assert [t.id for t in again.list_tasks().result(timeout=10)] == ["new"]
    finally:
        again.close()
    assert len([p for p in tmp_path.iterdir() if ".damaged-" in p.name and not p.name.endswith(("-wal", "-shm"))]) == 1


def test_someone_elses_non_database_file_is_still_refused_untouched(tmp_path: Path) -> None:
    """Only the engine's own file counts as damaged; a file the user pointed at is not renamed."""
    other = tmp_path / "notes.db"
    other.write_text("not a database\n" * 100)
    from app.engine.core.errors import DatabaseUnavailable

    with pytest.raises(DatabaseUnavailable, match="not a SQLite database"):
        open_store(f"sqlite:///{other}", data_dir=tmp_path, own_file=tmp_path / "switchboard.db")
    assert other.read_text() == "not a database\n" * 100
    assert not [p for p in tmp_path.iterdir() if ".damaged-" in p.name]


def test_the_orchestrator_tells_the_user_in_words(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    db = filled_database(data_dir)
    garbage_page(db)
    settings = Settings(data_dir=data_dir, ollama_autostart=False, llama_autostart=False, autoscale=False)
    orch = Orchestrator(settings)
    told: list[Decision] = []
    orch.bus.subscribe(Decision, lambda d: told.append(d) if d.kind == "database_damaged" else None)
    try:
        orch.start(docker=False, reconcile=True, monitors=False).result(timeout=60)
        assert told and "damaged" in told[0].reason and str(db) in told[0].reason
        health: HealthView = Probes.database(orch.probes)
        assert health.status == "degraded" and "kept unchanged" in health.detail
        assert orch.tasks() == []
    finally:
        orch.close()
