"""Database specialist: SQL on a dropped SQLite file or on a persistent database in /data.

Explicit SQL, schema inspection (``schema``, ``tables``) and CSV import (``load sales.csv into
table sales``) run directly; natural language raises NeedsPlan and comes back as
``{"sql": ..., "database": ...}``. A dropped database is opened read-only; a script that writes
runs on a copy, which is returned as an artifact.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import time
from pathlib import Path

from db_import import import_csv, quote_ident
from db_sql import execute_script, is_read_only, split_statements
from switchboard_runtime.api import (
    BadPlan,
    InputFile,
    NeedsPlan,
    Result,
    SpecialistError,
    Table,
    Task,
)
from switchboard_runtime.files import check_input, find_input, read_csv

__all__ = ["handle"]

_DB_EXT = (".sqlite", ".sqlite3", ".db")
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SQL_START = re.compile(
    r"^\s*(select|with|insert|update|delete|replace|create|drop|alter|explain|pragma|values|begin|vacuum|analyze|attach|detach)\b",
    re.I,
)
_FENCE = re.compile(r"```(?:sql|sqlite)?[ \t]*\n(.*?)```", re.DOTALL | re.I)
_LOAD = re.compile(
    r"^\s*(?:load|import)\s+(?P<file>[\w.-]+\.(?:csv|tsv|txt))\s+(?:in)?to\s+(?:(?P<replace>a\s+new\s+|new\s+)?table\s+)?(?P<table>\w+)"
    r"(?:\s+(?:in|of)\s+(?:database|db)\s+(?P<db>[\w-]+))?\s*$",
    re.I,
)
_REPLACE = re.compile(r"^\s*replace\s+table\s+(?P<table>\w+)\s+with\s+(?P<file>[\w.-]+\.(?:csv|tsv|txt))\s*$", re.I)
_SCHEMA = re.compile(r"^\s*(?:show\s+)?(?P<what>schema|tables|list\s+tables|describe\s+(?P<table>\w+))"
                     r"(?:\s+(?:in|of)\s+(?:database|db)\s+(?P<db>[\w-]+))?\s*;?\s*$", re.I)
_ON_DB = re.compile(r"^\s*(?:in|on|use)\s+(?:database|db)\s+(?P<db>[\w-]+)\s*[:;,]\s*(?P<rest>.*)$", re.I | re.S)


def _persistent(task: Task, name: str | None) -> Path:
    name = name or "default"
    if not _NAME.match(name):
        raise SpecialistError("bad_input", f"{name!r} is not a valid database name (letters, digits, _ and -).")
    task.data_dir.mkdir(parents=True, exist_ok=True)
    return task.data_dir / f"{name}.sqlite"


def _dropped(task: Task) -> InputFile | None:
    return find_input(task.inputs, *_DB_EXT)


def _open(task: Task, db_name: str | None, writes: bool) -> tuple[sqlite3.Connection, str, str]:
    """Open the target database; return (connection, label, note for the answer)."""
    dropped = _dropped(task)
    if dropped is not None:
        path = check_input(dropped)
        with open(path, "rb") as f:
            if f.read(16) != b"SQLite format 3\x00":
                raise SpecialistError("bad_input", f"{dropped.name} is not a SQLite database.")
        if not writes:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
            return conn, dropped.name, ""
        task.output_dir.mkdir(parents=True, exist_ok=True)
        copy = task.output_dir / Path(dropped.name).name
        shutil.copyfile(path, copy)
        note = f" Changes were made to a copy of {dropped.name}, returned as an artifact; the original is unchanged."
        return sqlite3.connect(copy, timeout=5), dropped.name, note
    path = _persistent(task, db_name)
    if writes or not path.exists():
        return sqlite3.connect(path, timeout=10), path.name, ""
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10), path.name, ""


def _run_sql(task: Task, sql: str, db_name: str | None, path: str = "explicit") -> Result:
    statements = split_statements(sql)
    if not statements:
        raise SpecialistError("bad_input", "There is no SQL statement to run.")
    writes = not is_read_only(statements)
    conn, label, note = _open(task, db_name, writes)
    try:
        deadline = time.monotonic() + max(1.0, task.timeout_s - 1.0)
        tables, notes, truncated = execute_script(conn, statements, deadline)
    finally:
        conn.close()
    data: dict[str, object] = {"database": label, "statements": len(statements), "row_limit_hit": truncated}
    if tables:
        first = tables[-1] if len(tables) > 1 else tables[0]
        answer = f"{len(first.rows)} row(s) from {label}"
        if len(first.rows) == 1 and len(first.columns) == 1:
            data["value"] = first.rows[0][0]
            answer = f"{first.columns[0]} = {first.rows[0][0]}"
        if truncated:
            answer += " (only the first 1000 rows are shown)"
    else:
        answer = f"Ran {len(statements)} statement(s) on {label}: " + "; ".join(notes)
    return Result(answer=answer + note, data=data, tables=tables, operation_kind="sql",
                  operation_text=sql.strip(), path=path)


def _schema(task: Task, what: str, table: str | None, db_name: str | None) -> Result:
    conn, label, _ = _open(task, db_name, writes=False)
    try:
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        if what.lower().startswith("describe"):
            if table not in names:
                raise SpecialistError("bad_input", f"{label} has no table {table!r}; tables: {', '.join(names) or 'none'}.")
            names = [table]
        rows = []
        counts = []
        for name in names:
            counts.append([name, conn.execute(f"SELECT count(*) FROM {quote_ident(name)}").fetchone()[0]])
            for _cid, col, ctype, notnull, _default, pk in conn.execute(f"PRAGMA table_info({quote_ident(name)})"):
                rows.append([name, col, ctype, bool(notnull), bool(pk)])
    finally:
        conn.close()
    if what.lower() in ("tables", "list tables"):
        return Result(answer=f"{len(names)} table(s) in {label}: {', '.join(names) or 'none'}",
                      data={"items": names, "database": label},
                      tables=[Table("tables", ["table", "rows"], counts)], operation_kind="sql",
                      operation_text="SELECT name FROM sqlite_master WHERE type='table'")
    summary = "; ".join(f"{n}({', '.join(r[1] for r in rows if r[0] == n)})" for n in names)
    return Result(answer=f"{label}: {summary or 'no tables'}", data={"items": names, "database": label},
                  tables=[Table("schema", ["table", "column", "type", "not_null", "primary_key"], rows)],
                  operation_kind="sql", operation_text="PRAGMA table_info(...)")


def _load(task: Task, file: str, table: str, db_name: str | None, replace: bool) -> Result:
    item = next((i for i in task.inputs if i.name.lower() == file.lower()), None)
    if item is None:
        item = find_input(task.inputs, ".csv", ".tsv", ".txt")
    if item is None:
        raise SpecialistError("bad_input", f"{file} was not dropped with the task.")
    data = read_csv(item)
    conn, label, note = _open(task, db_name, writes=True)
    try:
        count, columns = import_csv(conn, data, table, replace)
    finally:
        conn.close()
    cols = ", ".join(f"{n} {t}" for n, t in columns)
    return Result(answer=f"Loaded {count} row(s) from {item.name} into table {table} ({cols}) in {label}.{note}",
                  data={"value": count, "table": table, "database": label, "columns": [n for n, _ in columns]},
                  operation_kind="csv-import", operation_text=f"{item.name} -> {table}")


def handle(task: Task) -> Result:
    """Dispatch the task to SQL, schema inspection or CSV import; otherwise ask for a plan."""
    if task.plan is not None:
        sql = task.plan.get("sql")
        if not isinstance(sql, str) or not sql.strip():
            raise BadPlan("The plan needs a non-empty 'sql' string.")
        database = task.plan.get("database")
        if database is not None and not (isinstance(database, str) and _NAME.match(database)):
            raise BadPlan("'database' must be null or a name of letters, digits, _ and -.")
        return _run_sql(task, sql, database, path="planned")
    text = task.text.strip()
    db_name = None
    on_db = _ON_DB.match(text)
    if on_db:
        db_name, text = on_db["db"], on_db["rest"].strip()
    fence = _FENCE.search(text)
    if fence:
        return _run_sql(task, fence.group(1), db_name)
    if m := _SCHEMA.match(text):
        return _schema(task, m["what"], m["table"], m["db"] or db_name)
    if m := _LOAD.match(text):
        return _load(task, m["file"], m["table"], m["db"] or db_name, replace=bool(m["replace"]))
    if m := _REPLACE.match(text):
        return _load(task, m["file"], m["table"], db_name, replace=True)
    if _SQL_START.match(text):
        return _run_sql(task, text, db_name)
    raise NeedsPlan("This is not SQL or a recognised command ('schema', 'tables', 'load x.csv into table t'); a plan is needed.")
