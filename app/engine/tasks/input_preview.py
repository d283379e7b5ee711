"""Cheap facts about an input file for the planner's prompt (column names of a table)."""

from __future__ import annotations

import csv
from pathlib import Path

__all__ = ["describe_input", "table_columns"]

_TEXT_TABLES = (".csv", ".tsv", ".txt")


def table_columns(path: Path, name: str, max_bytes: int = 4096) -> list[str]:
    """Header names of a delimited text file, or ``[]`` when it is not one (never raises)."""
    if not name.lower().endswith(_TEXT_TABLES):
        return []
    try:
        with open(path, "rb") as fh:
            head = fh.read(max_bytes)
    except OSError:
        return []
    text = head.decode("utf-8-sig", errors="replace")
    first = text.splitlines()[0] if text.splitlines() else ""
    if not first:
        return []
    try:
        dialect = csv.Sniffer().sniff(first, delimiters=",;\t|")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = "\t" if "\t" in first else ","
    row = next(csv.reader([first], delimiter=delimiter), [])
    return [c.strip() for c in row if c.strip()][:40]


def describe_input(path: Path, name: str, max_bytes: int = 2048) -> str:
    """A few lines a model can write a program from: columns and sample rows, or a text head.

    Never raises. SQLite files are described by their tables and columns (read-only).
    """
    lower = name.lower()
    if lower.endswith((".db", ".sqlite", ".sqlite3")):
        return _describe_sqlite(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(max_bytes)
    except OSError:
        return "(unreadable)"
    if b"\x00" in head[:1024]:
        return f"(binary file, {path.stat().st_size} bytes)"
    text = head.decode("utf-8-sig", errors="replace")
    if lower.endswith(_TEXT_TABLES) and table_columns(path, name):
        lines = text.splitlines()[:6]
        return "columns: " + ", ".join(table_columns(path, name)) + "\nfirst lines:\n" + "\n".join(lines)
    lines = text.splitlines()[:25]
    return "\n".join(line[:200] for line in lines)


def _describe_sqlite(path: Path) -> str:
    import sqlite3

    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2)
    except sqlite3.Error as exc:
        return f"(not a readable SQLite file: {exc})"
    try:
        rows = conn.execute("select name, sql from sqlite_master where type = 'table' limit 20").fetchall()
        return "\n".join(str(sql) for _, sql in rows) or "(no tables)"
    except sqlite3.Error as exc:
        return f"(not a readable SQLite file: {exc})"
    finally:
        conn.close()
