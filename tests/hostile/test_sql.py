"""Hostile SQL for the database container.

ATTACH, DETACH and ``VACUUM INTO`` (which would open or write files outside the task's
database), ``load_extension`` (native code), a dropped database whose name carries URI
options, and tables of the user's persistent database dropped or emptied by SQL the user did
not write (a model's plan, a dropped script) without ``confirm:``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from app.engine.core.specs import SpecialistSpec
from app.engine.orchestrator import Orchestrator
from tests.hostile.conftest import exec_in, expect_refusal, run_task

pytestmark = [pytest.mark.hostile, pytest.mark.docker]


def _shop(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT);INSERT INTO customers(name) VALUES ('Ana'), ('Bo');"
    )
    conn.commit()
    conn.close()
    return path


@pytest.mark.parametrize(
    ("sql", "words"),
    [
        ("ATTACH DATABASE '/data/other.sqlite' AS x", ("attach",)),
        ("VACUUM INTO '/tmp/copy.sqlite'", ("vacuum into",)),
        ("VACUUM INTO '/data/stolen.sqlite'", ("vacuum into",)),
        ("SELECT load_extension('/lib/x86_64-linux-gnu/libc.so.6')", ("extensions",)),
    ],
    ids=["attach", "vacuum-into-tmp", "vacuum-into-data", "load-extension"],
)
def test_sql_that_reaches_outside_the_task_is_forbidden(
    engine: Orchestrator, user_dir: Path, sql: str, words: tuple[str, ...]
) -> None:
    shop = _shop(user_dir / "shop.sqlite")
    outcome = run_task(engine, sql, "database", [shop])
    expect_refusal(outcome, "statement 1", *words, kinds=("forbidden",))
    outcome = run_task(engine, sql, "database")  # on the persistent database too
    expect_refusal(outcome, "statement 1", *words, kinds=("forbidden",))


def test_nothing_was_written_outside_the_task(engine: Orchestrator, docker_client: Any) -> None:
    outcome = run_task(engine, "tables", "database")
    assert outcome.view is not None and outcome.view.container, outcome
    _, listing = exec_in(docker_client, outcome.view.container, "sh", "-c", "ls /tmp /data")
    assert "copy.sqlite" not in listing and "stolen" not in listing and "other" not in listing, listing


def test_a_dropped_database_named_like_uri_options_is_opened_read_only(engine: Orchestrator, user_dir: Path) -> None:
    shop = _shop(user_dir / "shop.db?mode=rwc#x.db")
    outcome = run_task(engine, "SELECT count(*) FROM customers", "database", [shop])
    assert outcome.view is not None and outcome.view.state == "succeeded", outcome
    assert outcome.view.data and outcome.view.data.get("value") == 2
    outcome = run_task(engine, "DROP TABLE customers", "database", [shop])
    assert outcome.view is not None and outcome.view.state == "succeeded", outcome
    assert "copy" in outcome.view.answer  # the drop went to a returned copy; run_task checked the file


class _Planner:
    """Stands in for the planning model: answers every task with ``sql``."""

    def __init__(self, sql: str) -> None:
        self.sql = sql

    def plan(
        self,
        spec: SpecialistSpec,
        text: str,
        inputs_meta: Sequence[Mapping[str, Any]] = (),
        timeout_s: float | None = None,
    ) -> dict[str, Any]:
        return {"sql": self.sql, "database": "crm"}


def test_tables_of_a_persistent_database_are_not_dropped_without_confirmation(
    engine: Orchestrator, user_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = run_task(
        engine,
        "on database crm: CREATE TABLE IF NOT EXISTS contacts(name TEXT); INSERT INTO contacts VALUES ('Ana'), ('Bo')",
        "database",
    )
    assert made.view is not None and made.view.state == "succeeded", made
    assert engine.dispatcher is not None
    monkeypatch.setattr(engine.dispatcher, "coder", None)
    for sql in ("DROP TABLE contacts", "DELETE FROM contacts", "ALTER TABLE contacts DROP COLUMN name"):
        monkeypatch.setattr(engine.dispatcher, "planner", _Planner(sql))
        outcome = run_task(engine, "please tidy up the contacts of the crm database", "database", planning=True)
        expect_refusal(outcome, "crm", "nothing was changed", "confirm:", kinds=("forbidden",))
    script = user_dir / "cleanup.sql"
    script.write_text("DROP TABLE contacts;\nCREATE TABLE contacts(name TEXT);\n", encoding="utf-8")
    outcome = run_task(engine, "load cleanup.sql into database crm", "database", [script])
    expect_refusal(outcome, "crm", "dump was not loaded", "confirm:", kinds=("forbidden",))
    count = run_task(engine, "on database crm: SELECT count(*) FROM contacts", "database")
    assert count.view is not None and count.view.data and count.view.data.get("value") == 2, count
    confirmed = run_task(engine, "confirm: load cleanup.sql into database crm", "database", [script])
    assert confirmed.view is not None and confirmed.view.state == "succeeded", confirmed
