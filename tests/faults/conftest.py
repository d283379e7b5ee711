"""Shared checks of the fault-injection suite (issue 13).

Every scenario ends with the same promises checked by :func:`assert_sound`: no task lost,
every task in a terminal state with a reason, SQLite ``PRAGMA integrity_check`` ok. Docker
scenarios also check that no container of the test's namespace is left behind.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

TERMINAL = {"succeeded", "failed", "cancelled"}


def integrity(db: Path) -> str:
    """``PRAGMA integrity_check`` of a SQLite file, read-only."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return ";".join(str(r[0]) for r in conn.execute("PRAGMA integrity_check").fetchall())
    finally:
        conn.close()


def assert_terminal_with_reason(rows: Iterable[dict[str, Any]]) -> None:
    """Each task row is terminal; every failed or cancelled one says why in words."""
    for row in rows:
        assert row["state"] in TERMINAL, f"task {row['id']} left {row['state']}"
        if row["state"] != "succeeded":
            message = row.get("error_message") or row.get("error") or ""
            assert len(message) > 10, f"task {row['id']} {row['state']} without a reason: {row}"
            assert "Traceback" not in message


def assert_sound(db: Path, rows: Iterable[dict[str, Any]], expected_ids: Iterable[str]) -> None:
    """No task lost, all terminal with a reason, the database intact."""
    rows = list(rows)
    assert {r["id"] for r in rows} >= set(expected_ids), "a task was lost"
    assert_terminal_with_reason(rows)
    assert integrity(db) == "ok"
