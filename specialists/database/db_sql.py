"""SQL helpers for the database specialist: splitting, classification, execution with limits."""

from __future__ import annotations

import re
import sqlite3
import time
from typing import Any

from switchboard_runtime.api import SpecialistError, Table

__all__ = [
    "MAX_ROWS",
    "Guard",
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
_TRANSACTION = re.compile(
    r"^\s*(?:begin(?:\s+(?:deferred|immediate|exclusive))?(?:\s+transaction)?|"
    r"commit(?:\s+transaction)?|end(?:\s+transaction)?)\s*;?\s*$",
    re.I,
)
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
        raise SpecialistError("limit", f"The script has {len(statements)} statements; the limit is {limit}.")
    return statements


def syntax_error(statement: str) -> str | None:
    """SQLite's syntax complaint about ``statement``, or None when it parses.

    The statement is compiled (``EXPLAIN``, never run) against an empty in-memory database,
    so missing tables or columns are not errors here; only text SQLite cannot parse is.
    """
    probe = sqlite3.connect(":memory:")
    try:
        probe.set_authorizer(Guard())
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


_DROPS = {
    sqlite3.SQLITE_DROP_TABLE: "table",
    sqlite3.SQLITE_DROP_VIEW: "view",
    sqlite3.SQLITE_DROP_TRIGGER: "trigger",
}
_DELETE_ALL = re.compile(r"^\s*delete\s+from\s+[\w\"'`\[\].]+\s*;?\s*$", re.I)
_DROP_COLUMN = re.compile(r"^\s*alter\s+table\s+.+\bdrop\b", re.I | re.S)


class Guard:
    """The SQLite authorizer of a task: what it may touch, and why a statement was refused.

    ATTACH/DETACH (and VACUUM INTO, which attaches its target) are always denied: a task must
    not open or write files of the container besides its database. ``load_extension`` is
    denied (native code). With ``protect`` (a persistent database of the user's, no
    confirmation in the task) dropping a table, view or trigger is denied too, as are
    ``DELETE`` without ``WHERE`` and ``ALTER TABLE ... DROP``, checked by :meth:`check`.
    """

    def __init__(self, protect: str | None = None) -> None:
        self.protect = protect  # the database's label when destructive statements need confirming
        self.reason: str | None = None

    def __call__(self, action: int, arg1: Any, arg2: Any, db: Any, _source: Any) -> int:
        """The ``set_authorizer`` callback."""
        if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH):
            self.reason = (
                "ATTACH, DETACH and VACUUM INTO are not allowed: a task may only use its own "
                "database, never open or write other files"
            )
            return sqlite3.SQLITE_DENY
        if action == sqlite3.SQLITE_FUNCTION and str(arg2).lower() == "load_extension":
            self.reason = "loading SQLite extensions (native code) is not allowed"
            return sqlite3.SQLITE_DENY
        if self.protect and action in _DROPS and db != "temp" and not str(arg1).startswith("sqlite_"):
            self.reason = (
                f"dropping {_DROPS[action]} {arg1} would delete it from your database "
                f"{self.protect}; nothing was changed. To go ahead, send the task again "
                "starting with 'confirm:'"
            )
            return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK

    def check(self, statement: str) -> None:
        """Refuse, before running it, a statement that empties or drops columns unconfirmed."""
        if not self.protect:
            return
        what = None
        if _DELETE_ALL.match(statement):
            what = "deletes every row of a table"
        elif _DROP_COLUMN.match(statement):
            what = "drops part of a table"
        if what is not None:
            snippet = " ".join(statement.split())[:120]
            raise SpecialistError(
                "forbidden",
                f"{snippet!r} {what} of your database {self.protect}; "
                "nothing was changed. To go ahead, send the task again starting with 'confirm:'.",
            )


def _refused(guard: Guard, number: int, message: str) -> SpecialistError | None:
    """A ``forbidden`` error when SQLite's failure came from ``guard``; None otherwise."""
    if guard.reason and ("not authorized" in message or "authorization denied" in message):
        return SpecialistError("forbidden", f"Statement {number}: {guard.reason}.")
    return None


def execute_script(
    conn: sqlite3.Connection,
    statements: list[str],
    deadline: float,
    max_rows: int = MAX_ROWS,
    guard: Guard | None = None,
) -> tuple[list[Table], list[str], bool]:
    """Run ``statements`` in order; return result tables, per-statement notes and truncation.

    A progress handler aborts the work once ``deadline`` (time.monotonic) passes, so a runaway
    query ends with a timeout instead of occupying the container. ``guard`` decides what the
    statements may do (ATTACH and extensions never; drops only when confirmed).
    """
    guard = guard or Guard()
    for stmt in statements:
        guard.check(stmt)
    conn.set_authorizer(guard)
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
                raise SpecialistError(
                    "timeout", f"Statement {number} ran past the time limit and was stopped."
                ) from None
            refused = _refused(guard, number, message)
            if refused is not None:
                conn.rollback()
                raise refused from None
            snippet = " ".join(stmt.split())[:120]
            raise SpecialistError("bad_input", f"SQL error in statement {number} ({snippet!r}): {message}.") from None
    conn.commit()
    return tables, notes, truncated


def load_dump(conn: sqlite3.Connection, sql: str, deadline: float, guard: Guard | None = None) -> int:
    """Execute a SQL dump (``sqlite3 .dump`` output or any script) in one transaction.

    The dump's own ``BEGIN``/``COMMIT`` are dropped so that a failing statement rolls the
    whole load back instead of leaving half a database. Returns how many statements ran.
    """
    statements = [s for s in split_statements(sql, MAX_DUMP_STATEMENTS) if not _TRANSACTION.match(s)]
    guard = guard or Guard()
    for stmt in statements:
        guard.check(stmt)
    conn.isolation_level = None
    conn.set_authorizer(guard)
    conn.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 10_000)
    conn.execute("BEGIN")
    try:
        for number, stmt in enumerate(statements, start=1):
            try:
                conn.execute(stmt)
            except sqlite3.DatabaseError as exc:
                message = str(exc)
                if "interrupted" in message:
                    raise SpecialistError(
                        "timeout", f"Loading stopped at statement {number}: the time limit passed."
                    ) from None
                refused = _refused(guard, number, message)
                if refused is not None:
                    raise SpecialistError("forbidden", f"The dump was not loaded: {refused.message}") from None
                snippet = " ".join(stmt.split())[:120]
                raise SpecialistError(
                    "bad_input", f"The dump failed at statement {number} ({snippet!r}): {message}."
                ) from None
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise
    finally:
        conn.isolation_level = ""
    return len(statements)
