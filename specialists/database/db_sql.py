"""SQL helpers for the database specialist: splitting, classification, execution with limits."""

from __future__ import annotations

import re
import sqlite3
import time
from typing import Any

from switchboard_runtime.api import SpecialistError, Table

__all__ = [
    "MAX_ROWS",
    "execute_script",
    "is_read_only",
    "load_dump",
    "split_statements",
    "syntax_error",
    "trim_trailing_prose",
]

MAX_ROWS = 1000
MAX_STATEMENTS = 200
MAX_DUMP_STATEMENTS = 200_000
_TRANSACTION = re.compile(r"^\s*(?:begin(?:\s+(?:deferred|immediate|exclusive))?(?:\s+transaction)?|"
                          r"commit(?:\s+transaction)?|end(?:\s+transaction)?)\s*;?\s*$", re.I)
_EXPLAIN_PREFIX = re.compile(r"^\s*explain(?:\s+query\s+plan)?\s+", re.I)
_TAIL_REQUEST = re.compile(
    r"(?:\s*[,;]?\s*(?:and\s+|then\s+)*(?:please\s+)?(?:tell|show|give|send|let)\s+(?:me|us)\b.*"
    r"|\s*[,;]?\s*(?:and\s+|then\s+)+(?:please\s+)?(?:show|print|display|list|report|return|give|explain|"
    r"summari[sz]e|describe)\s+(?:the|it|them|what|all|how|which|its|their|each|every)\b.*"
    r"|\s*[,;]?\s+(?:please|thanks|thank\s+you|for\s+me)\s*[.!]?)$",
    re.I | re.S,
)
_READ_ONLY_START = re.compile(r"^\s*(select|explain|values|pragma\s+table_info|pragma\s+index_list)\b", re.I)
_WRITE_WORDS = re.compile(r"\b(insert|update|delete|replace|create|drop|alter|vacuum|reindex)\b", re.I)


def split_statements(sql: str, limit: int = MAX_STATEMENTS) -> list[str]:
    """Split a script into statements at each ';' that ends a complete statement.

    ``sqlite3.complete_statement`` knows about strings, comments and trigger bodies, so a ';'
    inside them does not split. More than ``limit`` statements is a ``limit`` error.
    """
    statements: list[str] = []
    start = 0
    for index, char in enumerate(sql):
        if char == ";" and sqlite3.complete_statement(sql[start : index + 1]):
            piece = sql[start : index + 1].strip()
            if piece.strip(" \t\r\n;"):
                statements.append(piece)
            start = index + 1
    tail = sql[start:].strip()
    if tail.strip(" \t\r\n;"):
        statements.append(tail)
    if len(statements) > limit:
        raise SpecialistError(
            "limit", f"The script has {len(statements)} statements; the limit is {limit}."
        )
    return statements


def syntax_error(statement: str) -> str | None:
    """SQLite's syntax complaint about ``statement``, or None when it parses.

    The statement is compiled (``EXPLAIN``, never run) against an empty in-memory database,
    so missing tables or columns are not errors here; only text SQLite cannot parse is.
    """
    probe = sqlite3.connect(":memory:")
    try:
        probe.set_authorizer(_authorizer)
        probe.execute("EXPLAIN " + _EXPLAIN_PREFIX.sub("", statement, count=1))
    except sqlite3.Error as exc:
        message = str(exc)
        if "syntax error" in message or "incomplete input" in message or "unrecognized token" in message:
            return message
    except (ValueError, sqlite3.Warning) as exc:  # e.g. two statements in one string
        return str(exc)
    finally:
        probe.close()
    return None


def trim_trailing_prose(sql: str) -> str | None:
    """Cut a request that follows the SQL (``SELECT ... and tell me the total``, ``... please``).

    Only recognisable request phrases are cut (``tell/show/give me ...``, ``and show/list the
    ...``, ``please``, ``thanks``); the rest must then parse as SQL, otherwise None. Words are
    never dropped blindly: ``WHERE a > 1 and show`` would parse, with ``show`` as a column.
    """
    text = sql.strip()
    while True:
        cut = _TAIL_REQUEST.sub("", text).rstrip(" \t\n?!")
        if cut.endswith(".") and not cut.endswith(".."):
            cut = cut[:-1].rstrip()
        if cut == text:
            break
        text = cut
    statements = split_statements(text) if text.strip() else []
    if statements and all(syntax_error(s) is None for s in statements):
        return text
    return None


def is_read_only(statements: list[str]) -> bool:
    """True when no statement can write (CTEs are checked for DML words)."""
    for stmt in statements:
        head = stmt.lstrip().lower()
        if head.startswith("with"):
            if _WRITE_WORDS.search(stmt):
                return False
            continue
        if not _READ_ONLY_START.match(stmt):
            return False
    return True


def _authorizer(action: int, *_args: Any) -> int:
    """Deny ATTACH/DETACH: a task must not open other files of the container."""
    if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH):
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def execute_script(
    conn: sqlite3.Connection, statements: list[str], deadline: float, max_rows: int = MAX_ROWS
) -> tuple[list[Table], list[str], bool]:
    """Run ``statements`` in order; return result tables, per-statement notes and truncation.

    A progress handler aborts the work once ``deadline`` (time.monotonic) passes, so a runaway
    query ends with a timeout instead of occupying the container.
    """
    conn.set_authorizer(_authorizer)
    conn.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 10_000)
    tables: list[Table] = []
    notes: list[str] = []
    truncated = False
    for number, stmt in enumerate(statements, start=1):
        try:
            cursor = conn.execute(stmt)
            if cursor.description:
                columns = [d[0] for d in cursor.description]
                rows = cursor.fetchmany(max_rows + 1)
                if len(rows) > max_rows:
                    rows = rows[:max_rows]
                    truncated = True
                name = "result" if not tables else f"result_{len(tables) + 1}"
                tables.append(Table(name=name, columns=columns, rows=[list(r) for r in rows]))
                notes.append(f"statement {number}: {len(rows)} row(s)")
            else:
                count = cursor.rowcount
                notes.append(f"statement {number}: ok" + (f", {count} row(s) affected" if count >= 0 else ""))
        except sqlite3.DatabaseError as exc:
            message = str(exc)
            if "interrupted" in message:
                raise SpecialistError("timeout", f"Statement {number} ran past the time limit and was stopped.") from None
            if "not authorized" in message:
                raise SpecialistError("forbidden", f"Statement {number}: ATTACH/DETACH is not allowed.") from None
            snippet = " ".join(stmt.split())[:120]
            raise SpecialistError("bad_input", f"SQL error in statement {number} ({snippet!r}): {message}.") from None
    conn.commit()
    return tables, notes, truncated


def load_dump(conn: sqlite3.Connection, sql: str, deadline: float) -> int:
    """Execute a SQL dump (``sqlite3 .dump`` output or any script) in one transaction.

    The dump's own ``BEGIN``/``COMMIT`` are dropped so that a failing statement rolls the
    whole load back instead of leaving half a database. Returns how many statements ran.
    """
    statements = [s for s in split_statements(sql, MAX_DUMP_STATEMENTS) if not _TRANSACTION.match(s)]
    conn.isolation_level = None
    conn.set_authorizer(_authorizer)
    conn.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 10_000)
    conn.execute("BEGIN")
    try:
        for number, stmt in enumerate(statements, start=1):
            try:
                conn.execute(stmt)
            except sqlite3.DatabaseError as exc:
                message = str(exc)
                if "interrupted" in message:
                    raise SpecialistError("timeout", f"Loading stopped at statement {number}: the time limit passed.") from None
                if "not authorized" in message:
                    raise SpecialistError("forbidden", f"Statement {number} of the dump: ATTACH/DETACH is not allowed.") from None
                snippet = " ".join(stmt.split())[:120]
                raise SpecialistError("bad_input", f"The dump failed at statement {number} ({snippet!r}): {message}.") from None
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise
    finally:
        conn.isolation_level = ""
    return len(statements)
