"""SQL helpers for the database specialist: splitting, classification, execution with limits."""

from __future__ import annotations

import re
import sqlite3
import time
from typing import Any

from switchboard_runtime.api import SpecialistError, Table

__all__ = ["MAX_ROWS", "execute_script", "is_read_only", "split_statements"]

MAX_ROWS = 1000
MAX_STATEMENTS = 200
_READ_ONLY_START = re.compile(r"^\s*(select|explain|values|pragma\s+table_info|pragma\s+index_list)\b", re.I)
_WRITE_WORDS = re.compile(r"\b(insert|update|delete|replace|create|drop|alter|vacuum|reindex)\b", re.I)


def split_statements(sql: str) -> list[str]:
    """Split a script into statements at each ';' that ends a complete statement.

    ``sqlite3.complete_statement`` knows about strings, comments and trigger bodies, so a ';'
    inside them does not split.
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
    if len(statements) > MAX_STATEMENTS:
        raise SpecialistError(
            "limit", f"The script has {len(statements)} statements; the limit is {MAX_STATEMENTS}."
        )
    return statements


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
