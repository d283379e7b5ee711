"""CSV import into a SQLite table with column types inferred from the values."""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from switchboard_runtime.api import SpecialistError
from switchboard_runtime.files import CsvData

__all__ = ["import_csv", "quote_ident", "valid_ident"]

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def valid_ident(name: str, what: str = "table") -> str:
    """Return ``name`` if it is a plain SQL identifier, else a bad_input error."""
    if not _IDENT.match(name):
        raise SpecialistError("bad_input", f"{name!r} is not a valid {what} name (letters, digits, _).")
    return name


def quote_ident(name: str) -> str:
    """Quote an identifier for SQLite (column names from CSV headers may hold spaces)."""
    return '"' + name.replace('"', '""') + '"'


def _infer(values: list[str]) -> str:
    kind = "INTEGER"
    seen = False
    for value in values:
        value = value.strip()
        if not value:
            continue
        seen = True
        if kind == "INTEGER":
            try:
                int(value)
                continue
            except ValueError:
                kind = "REAL"
        if kind == "REAL":
            try:
                float(value)
                continue
            except ValueError:
                return "TEXT"
    return kind if seen else "TEXT"


def _convert(value: str, kind: str) -> Any:
    value = value.strip()
    if value == "":
        return None
    if kind == "INTEGER":
        return int(value)
    if kind == "REAL":
        return float(value)
    return value


def import_csv(conn: sqlite3.Connection, data: CsvData, table: str, replace: bool) -> tuple[int, list[tuple[str, str]]]:
    """Create (or replace/append to) ``table`` from ``data``; return row count and column types."""
    valid_ident(table)
    names = [c or f"column_{i + 1}" for i, c in enumerate(data.columns)]
    if len({n.lower() for n in names}) != len(names):
        raise SpecialistError("bad_input", f"{data.name} has duplicate column names: {', '.join(names)}.")
    types = [_infer([row[i] for row in data.rows]) for i in range(len(names))]
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (table,)).fetchone()
    if exists and replace:
        conn.execute(f"DROP TABLE {quote_ident(table)}")
        exists = None
    if exists:
        current = [r[1] for r in conn.execute(f"PRAGMA table_info({quote_ident(table)})")]
        if [c.lower() for c in current] != [n.lower() for n in names]:
            raise SpecialistError(
                "bad_input",
                f"Table {table} exists with columns ({', '.join(current)}), but {data.name} has "
                f"({', '.join(names)}); say 'replace table {table}' to overwrite it.",
            )
    else:
        cols = ", ".join(f"{quote_ident(n)} {t}" for n, t in zip(names, types, strict=True))
        conn.execute(f"CREATE TABLE {quote_ident(table)} ({cols})")
    placeholders = ", ".join("?" for _ in names)
    rows = []
    for line_no, row in enumerate(data.rows, start=2):
        try:
            rows.append([_convert(v, t) for v, t in zip(row, types, strict=True)])
        except ValueError:
            raise SpecialistError(
                "bad_input", f"{data.name} row {line_no}: a value does not fit its column type."
            ) from None
    conn.executemany(f"INSERT INTO {quote_ident(table)} VALUES ({placeholders})", rows)
    conn.commit()
    return len(rows), list(zip(names, types, strict=True))
