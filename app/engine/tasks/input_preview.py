"""Cheap facts about an input file for the planner's prompt (column names of a table)."""

from __future__ import annotations

import csv
from pathlib import Path

__all__ = ["table_columns"]

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
