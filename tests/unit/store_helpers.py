"""Helpers shared by the store tests (also re-run on PostgreSQL by tests/integration/test_store_postgres.py)."""

from __future__ import annotations

from sqlalchemy import func, select

from app.engine.store import Store
from app.engine.store.models import table

T0 = 1_700_000_400.0  # a fixed base time, a multiple of 120 s so buckets align with it


def count_rows(store: Store, name: str) -> int:
    """Rows in table ``name``."""
    t = table(name)
    return int(store.run(lambda c: c.execute(select(func.count()).select_from(t)).scalar()).result())


def add_task(store: Store, task_id: str, **extra: object) -> None:
    """Insert a minimal task and wait for it."""
    store.insert_task({"id": task_id, "text": f"task {task_id}", **extra}).result(5)
