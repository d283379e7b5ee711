"""The database specialist's explicit path, run on the host without a container (stdlib sqlite3)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.unit.specialist_code import load_handler, specialist_folder

FOLDER = specialist_folder("database")
GOLDEN = FOLDER / "golden"

from db_sql import load_dump, syntax_error, trim_trailing_prose  # noqa: E402
from switchboard_runtime.api import InputFile, SpecialistError, Task  # noqa: E402

DUMP = """-- made by hand
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE t (k TEXT, v INTEGER);
INSERT INTO t VALUES('a;b', 1);
INSERT INTO t VALUES('c', 2);
COMMIT;
"""


def _handler() -> ModuleType:
    return load_handler("database")


def _task(text: str, tmp_path: Path, files: list[Path] | None = None, plan: dict[str, Any] | None = None) -> Task:
    folder = tmp_path / "input"
    folder.mkdir(exist_ok=True)
    inputs = []
    for f in files or []:
        shutil.copyfile(f, folder / f.name)
        inputs.append(InputFile(f.name, folder / f.name, f.stat().st_size, ""))
    return Task(
        id="t",
        text=text,
        inputs=inputs,
        plan=plan,
        output_dir=tmp_path / "out",
        timeout_s=30.0,
        max_output_bytes=1 << 20,
        data_dir=tmp_path / "data",
    )


def _run(text: str, tmp_path: Path, *files: Path, plan: dict[str, Any] | None = None) -> Any:
    return _handler().handle(_task(text, tmp_path, list(files), plan))


@pytest.fixture
def dump(tmp_path: Path) -> Path:
    path = tmp_path / "src" / "small.sql"
    path.parent.mkdir()
    path.write_text(DUMP, encoding="utf-8")
    return path


# -- SQL helpers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "ok"),
    [
        ("SELECT * FROM no_such_table", True),  # a missing table is not a syntax error
        ("select the best customer", False),
        ("SELECT 'unterminated", False),
        ("CREATE TABLE t (x", False),
        ("EXPLAIN QUERY PLAN SELECT 1", True),
        ("ATTACH DATABASE '/tmp/x.db' AS x", True),  # compiled, never run
    ],
)
def test_syntax_error(sql: str, ok: bool) -> None:
    assert (syntax_error(sql) is None) is ok


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT count(*) FROM orders and tell me the result", "SELECT count(*) FROM orders"),
        ("SELECT * FROM o WHERE amount > 100 and show me the names", "SELECT * FROM o WHERE amount > 100"),
        ("SELECT * FROM o WHERE amount > 100 and list the names", "SELECT * FROM o WHERE amount > 100"),
        ("SELECT name FROM customers?", "SELECT name FROM customers"),
        ("SELECT 1; SELECT 2 please", "SELECT 1; SELECT 2"),
        ("SELECT 1 and show", "SELECT 1 and show"),  # valid SQL ('show' is a column): left alone
        ("UPDATE t SET a = 1 WHERE b = 2 and also c = 3", None),
        ("select the best customer", None),
    ],
)
def test_trim_trailing_prose(sql: str, expected: str | None) -> None:
    assert trim_trailing_prose(sql) == expected


def test_load_dump_is_all_or_nothing(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "x.sqlite")
    with pytest.raises(SpecialistError, match="statement 3") as err:
        load_dump(conn, "CREATE TABLE a (x); INSERT INTO a VALUES (1); INSERT INTO nope VALUES (2);", 1e12)
    assert err.value.kind == "bad_input"
    assert conn.execute("SELECT name FROM sqlite_master").fetchall() == []
    assert load_dump(conn, DUMP, 1e12) == 4  # BEGIN/COMMIT are the loader's own
    assert conn.execute("SELECT k FROM t ORDER BY v").fetchall() == [("a;b",), ("c",)]
    conn.close()


def test_load_dump_refuses_attach(tmp_path: Path) -> None:
    conn = sqlite3.connect(":memory:")
    with pytest.raises(SpecialistError) as err:
        load_dump(conn, f"ATTACH DATABASE '{tmp_path / 'y.db'}' AS y;", 1e12)
    assert err.value.kind == "forbidden"
    conn.close()


# -- SQL inside prose ------------------------------------------------------------------------


SHOP = GOLDEN / "shop.sqlite"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("run this query: SELECT count(*) FROM orders", 6),
        ("Run this query:\nselect count(*) from customers", 4),
        ("please run `SELECT max(amount) FROM orders` and tell me the result", 300.0),
        ("What does SELECT count(*) FROM orders WHERE amount > 50 return?", 4),
        ("can you execute the following SQL: SELECT min(amount) FROM orders", 15.25),
        ("SELECT count(*) FROM orders and tell me the result", 6),
        ("Execute this:\n```\nSELECT count(*) FROM orders WHERE customer_id = 1\n```", 2),
    ],
)
def test_sql_inside_prose(tmp_path: Path, text: str, value: float) -> None:
    assert _run(text, tmp_path, SHOP).data["value"] == value


@pytest.mark.parametrize(
    "text",
    ["which customer spent the most?", "select the best customer", "run the numbers for last month"],
)
def test_sentences_need_a_plan(tmp_path: Path, text: str) -> None:
    with pytest.raises(SpecialistError) as err:
        _run(text, tmp_path, SHOP)
    assert err.value.kind == "needs_plan"


def test_typed_sql_with_a_real_error_still_reports_it(tmp_path: Path) -> None:
    with pytest.raises(SpecialistError, match="syntax error") as err:
        _run("SELECT * FORM orders", tmp_path, SHOP)
    assert err.value.kind == "bad_input"


def test_several_statements_describe_each_result(tmp_path: Path) -> None:
    result = _run("run: SELECT count(*) FROM orders; SELECT name FROM customers ORDER BY name", tmp_path, SHOP)
    assert result.answer.startswith("2 result sets: result: count(*) = 6; result_2: 4 row(s)")
    assert [t.rows for t in result.tables] == [[[6]], [["Ada"], ["Bob"], ["Cy"], ["Dee"]]]


# -- SQL dumps -------------------------------------------------------------------------------


def test_dump_into_a_new_database_then_a_query(tmp_path: Path, dump: Path) -> None:
    result = _run("load small.sql into a new database and run SELECT sum(v) FROM t", tmp_path, dump)
    assert result.data["value"] == 3 and result.data["loaded_statements"] == 4
    created = tmp_path / "out" / "small.sqlite"
    assert created.exists() and "returned as small.sqlite" in result.answer
    with sqlite3.connect(created) as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (2,)
    conn.close()


@pytest.mark.parametrize(
    "text",
    [
        "load small.sql into a new database, then: SELECT sum(v) FROM t",
        "import small.sql into a fresh database; SELECT sum(v) FROM t",
        "load small.sql into a new database.\n```sql\nSELECT sum(v) FROM t\n```",
        "restore small.sql into an empty db and tell me what SELECT sum(v) FROM t returns",
    ],
)
def test_dump_and_query_phrasings(tmp_path: Path, dump: Path, text: str) -> None:
    assert _run(text, tmp_path, dump).data["value"] == 3


def test_dump_alone_lists_the_tables(tmp_path: Path, dump: Path) -> None:
    result = _run("load small.sql", tmp_path, dump)
    assert result.data["items"] == ["t"] and result.tables[0].rows == [["t", 2]]


def test_dump_into_a_named_persistent_database(tmp_path: Path, dump: Path) -> None:
    assert _run("load small.sql into database kept then SELECT count(*) FROM t", tmp_path, dump).data["value"] == 2
    assert (tmp_path / "data" / "kept.sqlite").exists()
    assert _run("in database kept: SELECT sum(v) FROM t", tmp_path).data["value"] == 3
    with pytest.raises(SpecialistError, match="already exists"):
        _run("load small.sql into a new database called kept", tmp_path, dump)


def test_dump_followed_by_a_question_needs_a_plan_and_the_plan_runs_on_the_dump(tmp_path: Path, dump: Path) -> None:
    text = "load small.sql into a new database. Which key has the largest value?"
    with pytest.raises(SpecialistError) as err:
        _run(text, tmp_path, dump)
    assert err.value.kind == "needs_plan"
    planned = _run(text, tmp_path, dump, plan={"sql": "SELECT k FROM t ORDER BY v DESC LIMIT 1", "database": None})
    assert planned.path == "planned" and planned.tables[0].rows == [["c"]]


def test_running_a_script_against_the_default_database(tmp_path: Path, dump: Path) -> None:
    result = _run("run small.sql against the database, then SELECT count(*) FROM t", tmp_path, dump)
    assert result.data["value"] == 2 and (tmp_path / "data" / "default.sqlite").exists()


def test_missing_dump_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(SpecialistError, match="missing.sql was not dropped") as err:
        _run("load missing.sql into a new database", tmp_path)
    assert err.value.kind == "bad_input"


# -- golden suite ----------------------------------------------------------------------------


def _golden() -> list[dict[str, Any]]:
    lines = (FOLDER / "golden.jsonl").read_text(encoding="utf-8").splitlines()
    cases = [json.loads(line) for line in lines if line.strip() and not line.startswith("#")]
    return [c for c in cases if c.get("path", "explicit") == "explicit" or c.get("plan") is not None]


@pytest.mark.parametrize("case", _golden(), ids=lambda c: c["id"])
def test_golden_case(case: dict[str, Any], tmp_path: Path) -> None:
    from switchboard_runtime.results import result_message
    from switchboard_runtime.server import map_exception

    from app.engine.evaluation.golden_checks import GoldenCase, check

    task = _task(case["text"], tmp_path, [FOLDER / f for f in case.get("files", [])], case.get("plan"))
    try:
        response = result_message(task, _handler().handle(task))
    except Exception as exc:  # noqa: BLE001 - mapped like the runtime server does
        response = map_exception(task.id, exc)
    outcome = check(GoldenCase.model_validate(case), response)
    assert outcome.passed, f"{case['id']}: {outcome.detail}"
