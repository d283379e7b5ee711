"""Database specialist: SQL on a dropped SQLite file or on a persistent database in /data.

Explicit SQL (alone, fenced, or inside a sentence: ``run this query: SELECT ...``), schema
inspection (``schema``, ``tables``), CSV import (``load sales.csv into table sales``) and SQL
dumps (``load shop.sql into a new database, then SELECT ...``) run directly; natural language
raises NeedsPlan and comes back as ``{"sql": ..., "database": ...}``. A dropped database is
opened read-only; a script that writes runs on a copy, which is returned as an artifact. A dump
loaded into "a new database" becomes a fresh SQLite file returned as an artifact.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import time
from pathlib import Path
from urllib.parse import quote

from db_import import import_csv, quote_ident
from db_sql import (
    Guard,
    execute_script,
    is_read_only,
    load_dump,
    split_statements,
    syntax_error,
    trim_trailing_prose,
)
from switchboard_runtime.api import (
    BadPlan,
    InputFile,
    NeedsPlan,
    Result,
    SpecialistError,
    Table,
    Task,
)
from switchboard_runtime.files import check_input, find_input, read_csv, read_text

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
_SCHEMA = re.compile(
    r"^\s*(?:show\s+)?(?P<what>schema|tables|list\s+tables|describe\s+(?P<table>\w+))"
    r"(?:\s+(?:in|of)\s+(?:database|db)\s+(?P<db>[\w-]+))?\s*;?\s*$",
    re.I,
)
_SQL_WORD = r"(?:select|with|insert|update|delete|replace|create|drop|alter|explain|pragma|values)"
_INLINE_SQL = re.compile(rf"`(?P<sql>\s*{_SQL_WORD}\b[^`]*)`", re.I)
_AFTER_LEAD_IN = re.compile(rf"^(?P<lead>[^\n:`]{{0,200}}?)(?::[ \t]*\n?|\n)\s*(?P<sql>{_SQL_WORD}\b.*)$", re.I | re.S)
_VERB_THEN_SQL = re.compile(
    r"^(?:please\s+)?(?:(?:can|could|would)\s+you\s+)?(?:run|execute|try|perform|evaluate)\s+"
    r"(?:this\s+|the\s+following\s+|the\s+|my\s+)?(?:(?:sql|sqlite)\s+)?(?:(?:query|queries|statements?|sql|script|command)\s+)?"
    rf"(?:(?:on|against|in)\s+[\w.-]+\s+)?(?P<sql>{_SQL_WORD}\b.*)$",
    re.I | re.S,
)
_UPPER_SQL = re.compile(
    r"\b(?P<sql>(?:SELECT|WITH|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|EXPLAIN|PRAGMA|VALUES)\b.*)$", re.S
)
_QUESTION_TAIL = re.compile(r"\s+(?:return|returns|give|gives|output|produce|yield|show)\s*\??\s*$", re.I)
_LOAD_SQL = re.compile(
    r"^\s*(?:please\s+)?(?P<verb>load|import|restore|read|run|execute|apply)\s+(?:the\s+(?:dump|script|file)\s+)?"
    r"(?P<file>[\w.-]+\.sql)\b"
    r"(?:\s+(?:(?:in)?to|against|on)\s+(?:"
    r"(?P<fresh>(?:a\s+|an\s+)?(?:new|fresh|empty|blank)\s+)(?:sqlite\s+)?(?:database|db)(?:\s+(?:called|named)\s+(?P<name>[\w-]+))?"
    r"|(?:the\s+)?(?:sqlite\s+)?(?:database|db)\s+(?:(?:called|named)\s+)?(?P<existing>(?!and\b|then\b)[\w-]+)"
    r"|(?P<default>(?:the|my)\s+(?:database|db))(?!\s+(?:called|named)\b)"
    r"|(?P<dropped>[\w.-]+\.(?:sqlite3?|db))))?"
    r"(?P<rest>.*)$",
    re.I | re.S,
)
_REST_LEAD = re.compile(
    r"^[\s,;:.]*(?:(?:and|then)\s+)*(?:(?:run|execute)\s+(?:this\s+|the\s+following\s+|the\s+)?(?:(?:sql\s+)?(?:query|queries|statements?|sql))?\s*:?\s*)?",
    re.I,
)
_CONFIRM = re.compile(r"^\s*confirm(?:ed)?\s*[:,]\s*", re.I)
_ON_DB = re.compile(r"^\s*(?:in|on|use)\s+(?:database|db)\s+(?P<db>[\w-]+)\s*[:;,]\s*(?P<rest>.*)$", re.I | re.S)


def _persistent(task: Task, name: str | None) -> Path:
    name = name or "default"
    if not _NAME.match(name):
        raise SpecialistError("bad_input", f"{name!r} is not a valid database name (letters, digits, _ and -).")
    task.data_dir.mkdir(parents=True, exist_ok=True)
    return task.data_dir / f"{name}.sqlite"


def _dropped(task: Task) -> InputFile | None:
    return find_input(task.inputs, *_DB_EXT)


def _guard(task: Task, label: str | None, typed: bool) -> Guard:
    """The authorizer for SQL on ``label``, a persistent database of the user's (or None).

    SQL the user typed is run as typed; SQL the user did not write (a model's plan, a dropped
    script) may drop tables or empty them there only when the task starts with 'confirm:'.
    """
    confirmed = typed or bool(_CONFIRM.match(task.text))
    return Guard(protect=None if confirmed else label)


def _read_only_uri(path: Path) -> str:
    """A ``mode=ro`` URI for ``path``; quoting keeps '?' or '#' in a file name from adding options."""
    return f"file:{quote(str(path))}?mode=ro"


def _open(task: Task, db_name: str | None, writes: bool) -> tuple[sqlite3.Connection, str, str]:
    """Open the target database; return (connection, label, note for the answer)."""
    dropped = _dropped(task)
    if dropped is not None:
        path = check_input(dropped)
        with open(path, "rb") as f:
            if f.read(16) != b"SQLite format 3\x00":
                raise SpecialistError(
                    "bad_input", f"{dropped.name} is not a SQLite database (its first bytes are not the SQLite header)."
                )
        if not writes:
            conn = sqlite3.connect(_read_only_uri(path), uri=True, timeout=5)
            return conn, dropped.name, ""
        task.output_dir.mkdir(parents=True, exist_ok=True)
        copy = task.output_dir / Path(dropped.name).name
        shutil.copyfile(path, copy)
        note = f" Changes were made to a copy of {dropped.name}, returned as an artifact; the original is unchanged."
        return sqlite3.connect(copy, timeout=5), dropped.name, note
    path = _persistent(task, db_name)
    if writes or not path.exists():
        return sqlite3.connect(path, timeout=10), path.name, ""
    return sqlite3.connect(_read_only_uri(path), uri=True, timeout=10), path.name, ""


def _run_sql(task: Task, sql: str, db_name: str | None, path: str = "explicit") -> Result:
    statements = split_statements(sql)
    if not statements:
        raise SpecialistError("bad_input", "There is no SQL statement to run.")
    writes = not is_read_only(statements)
    conn, label, note = _open(task, db_name, writes)
    try:
        return _execute(
            task, conn, label, note, sql, statements, path, _guard(task, _user_db(task, label), typed=path != "planned")
        )
    finally:
        conn.close()


def _user_db(task: Task, label: str) -> str | None:
    """``label`` when it names a persistent database of the user's (not a copy or a new file)."""
    return label if _dropped(task) is None and label.endswith(".sqlite") and (task.data_dir / label).exists() else None


def _execute(
    task: Task,
    conn: sqlite3.Connection,
    label: str,
    note: str,
    sql: str,
    statements: list[str],
    path: str,
    guard: Guard | None = None,
) -> Result:
    """Run ``statements`` on an open connection and describe the outcome."""
    deadline = time.monotonic() + max(1.0, task.timeout_s - 1.0)
    tables, notes, truncated = execute_script(conn, statements, deadline, guard=guard)
    data: dict[str, object] = {"database": label, "statements": len(statements), "row_limit_hit": truncated}
    if tables:
        first = tables[-1] if len(tables) > 1 else tables[0]
        answer = _describe(first, label)
        if len(first.rows) == 1 and len(first.columns) == 1:
            data["value"] = first.rows[0][0]
        if len(tables) > 1:
            answer = f"{len(tables)} result sets: " + "; ".join(f"{t.name}: {_describe(t, label)}" for t in tables)
        if truncated:
            answer += " (only the first 1000 rows are shown)"
    else:
        answer = f"Ran {len(statements)} statement(s) on {label}: " + "; ".join(notes)
    return Result(
        answer=answer + note, data=data, tables=tables, operation_kind="sql", operation_text=sql.strip(), path=path
    )


def _describe(table: Table, label: str) -> str:
    if len(table.rows) == 1 and len(table.columns) == 1:
        return f"{table.columns[0]} = {table.rows[0][0]}"
    return f"{len(table.rows)} row(s) from {label}"


def _syntax_ok(sql: str) -> bool:
    try:
        statements = split_statements(sql)
    except SpecialistError:
        return False
    return bool(statements) and all(syntax_error(st) is None for st in statements)


def _clean_sql(sql: str, strict: bool) -> str | None:
    """``sql`` if it parses, else with a trailing request cut off (``... and tell me the total``).

    When nothing parses, ``strict`` (SQL found inside prose) gives None; otherwise the text is
    returned unchanged so running it reports SQLite's own error, as typed SQL always has.
    """
    sql = sql.strip()
    if _syntax_ok(sql):
        return sql
    trimmed = trim_trailing_prose(_QUESTION_TAIL.sub("", sql))
    if trimmed is not None:
        return trimmed
    return None if strict else sql


def _embedded_sql(text: str) -> str | None:
    """SQL quoted in a sentence: in backticks, after a lead-in and ':', after 'run', or in capitals."""
    if m := _INLINE_SQL.search(text):
        return _clean_sql(m["sql"], strict=True)
    for pattern in (_AFTER_LEAD_IN, _VERB_THEN_SQL):
        m = pattern.match(text)
        if m:
            return _clean_sql(m["sql"], strict=True)
    m = _UPPER_SQL.search(text)
    if m and not re.search(r"[;`]", text[: m.start()]):
        return _clean_sql(m["sql"], strict=True)
    return None


def _load_target(task: Task, m: re.Match[str], db_name: str | None) -> tuple[sqlite3.Connection, str, str]:
    """Where a dump goes: a fresh file returned as an artifact, a persistent database, or a dropped copy."""
    verb = m["verb"].lower()
    if m["dropped"]:
        dropped = _dropped(task)
        if dropped is None or dropped.name.lower() != m["dropped"].lower():
            raise SpecialistError("bad_input", f"{m['dropped']} was not dropped with the task.")
        return _open(task, None, writes=True)
    if m["existing"] or m["default"] or (verb in ("run", "execute", "apply") and not m["fresh"]):
        name = m["existing"] or db_name
        if name is None and _dropped(task) is not None:
            return _open(task, None, writes=True)
        return _open(task, name, writes=True)
    if m["name"]:
        path = _persistent(task, m["name"])
        if path.exists():
            raise SpecialistError(
                "bad_input", f"Database {m['name']} already exists; load into 'database {m['name']}' to add to it."
            )
        return sqlite3.connect(path, timeout=10), path.name, ""
    task.output_dir.mkdir(parents=True, exist_ok=True)
    target = task.output_dir / (Path(m["file"]).stem + ".sqlite")
    target.unlink(missing_ok=True)
    return sqlite3.connect(target, timeout=10), target.name, f" The new database is returned as {target.name}."


def _load_dump(task: Task, m: re.Match[str], db_name: str | None, planned_sql: str | None) -> Result:
    """Execute a dropped .sql file into its target, then run the query that follows, if any."""
    item = next((i for i in task.inputs if i.name.lower() == m["file"].lower()), None)
    if item is None:
        have = ", ".join(i.name for i in task.inputs) or "none"
        raise SpecialistError("bad_input", f"{m['file']} was not dropped with the task (dropped: {have}).")
    dump, _ = read_text(item)
    query = planned_sql
    if query is None:
        rest = _REST_LEAD.sub("", m["rest"], count=1).strip()
        if rest:
            fence = _FENCE.search(rest)
            if fence:
                query = fence.group(1)
            elif _SQL_START.match(rest):
                query = _clean_sql(rest, strict=True)
            else:
                query = _embedded_sql(rest)
            if query is None:
                raise NeedsPlan(f"After loading {m['file']} the task asks a question, not SQL; a plan is needed.")
    conn, label, note = _load_target(task, m, db_name)
    target = _user_db(task, label)
    try:
        deadline = time.monotonic() + max(1.0, task.timeout_s - 1.0)
        count = load_dump(conn, dump, deadline, guard=_guard(task, target, typed=False))
        loaded = f"Loaded {count} statement(s) from {item.name} into {label}."
        if query:
            result = _execute(
                task,
                conn,
                label,
                "",
                query,
                split_statements(query),
                "planned" if planned_sql is not None else "explicit",
                _guard(task, target, typed=planned_sql is None),
            )
            result.answer = f"{result.answer} ({loaded.rstrip('.')}){note}"
            assert result.data is not None
            result.data["loaded_statements"] = count
            return result
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        counts = [[n, conn.execute(f"SELECT count(*) FROM {quote_ident(n)}").fetchone()[0]] for n in names]
    finally:
        conn.close()
    shown = ", ".join(f"{n} ({c} rows)" for n, c in counts) or "no tables"
    return Result(
        answer=f"{loaded} Tables: {shown}.{note}",
        data={"value": len(names), "items": names, "database": label, "loaded_statements": count},
        tables=[Table("tables", ["table", "rows"], counts)],
        operation_kind="sql",
        operation_text=f"{item.name} -> {label}",
    )


def _schema(task: Task, what: str, table: str | None, db_name: str | None) -> Result:
    conn, label, _ = _open(task, db_name, writes=False)
    try:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        if what.lower().startswith("describe"):
            if table not in names:
                raise SpecialistError(
                    "bad_input", f"{label} has no table {table!r}; tables: {', '.join(names) or 'none'}."
                )
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
        return Result(
            answer=f"{len(names)} table(s) in {label}: {', '.join(names) or 'none'}",
            data={"items": names, "database": label},
            tables=[Table("tables", ["table", "rows"], counts)],
            operation_kind="sql",
            operation_text="SELECT name FROM sqlite_master WHERE type='table'",
        )
    summary = "; ".join(f"{n}({', '.join(r[1] for r in rows if r[0] == n)})" for n in names)
    return Result(
        answer=f"{label}: {summary or 'no tables'}",
        data={"items": names, "database": label},
        tables=[Table("schema", ["table", "column", "type", "not_null", "primary_key"], rows)],
        operation_kind="sql",
        operation_text="PRAGMA table_info(...)",
    )


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
    return Result(
        answer=f"Loaded {count} row(s) from {item.name} into table {table} ({cols}) in {label}.{note}",
        data={"value": count, "table": table, "database": label, "columns": [n for n, _ in columns]},
        operation_kind="csv-import",
        operation_text=f"{item.name} -> {table}",
    )


def handle(task: Task) -> Result:
    """Dispatch the task to SQL, schema inspection, CSV or dump import; otherwise ask for a plan."""
    text = _CONFIRM.sub("", task.text.strip(), count=1)
    db_name = None
    on_db = _ON_DB.match(text)
    if on_db:
        db_name, text = on_db["db"], on_db["rest"].strip()
    load_sql = _LOAD_SQL.match(text)
    if task.plan is not None:
        sql = task.plan.get("sql")
        if not isinstance(sql, str) or not sql.strip():
            raise BadPlan("The plan needs a non-empty 'sql' string.")
        database = task.plan.get("database")
        if database is not None and not (isinstance(database, str) and _NAME.match(database)):
            raise BadPlan("'database' must be null or a name of letters, digits, _ and -.")
        if load_sql:  # "load x.sql into a new database; <question>": the plan's SQL runs on the loaded dump
            return _load_dump(task, load_sql, database or db_name, planned_sql=sql)
        return _run_sql(task, sql, database, path="planned")
    if load_sql:
        return _load_dump(task, load_sql, db_name, planned_sql=None)
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
        sql = _clean_sql(text, strict=False)
        assert sql is not None
        if not _syntax_ok(sql) and not re.search(r"[*(),;=<>'\"]", sql):
            raise NeedsPlan("This reads as a sentence rather than SQL; a plan is needed.")
        return _run_sql(task, sql, db_name)
    sql = _embedded_sql(text)
    if sql is not None:
        return _run_sql(task, sql, db_name)
    raise NeedsPlan(
        "This is not SQL or a recognised command ('schema', 'tables', 'load x.csv into table t'); a plan is needed."
    )
