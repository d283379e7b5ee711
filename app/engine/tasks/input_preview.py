"""Cheap facts about an input file for the program writer's prompt: the exact shape to code against.

Tables get their delimiter, column names with a guessed type and the first rows; JSON its
structure (keys of the records); SQLite files and SQL dumps their tables with columns and a
few rows; HTML pages an outline of their elements (:mod:`app.engine.tasks.html_outline`).
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

from app.engine.llm.page_preview import PAGE_TABLES, page_preview
from app.engine.llm.sql_program import page_prefixes
from app.engine.llm.value_lists import MAX_CATEGORIES, few_values
from app.engine.tasks.html_outline import html_outline

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


def _delimiter(first: str) -> str:
    try:
        return csv.Sniffer().sniff(first, delimiters=",;\t|").delimiter
    except csv.Error:
        return "\t" if "\t" in first else ","


_INT = re.compile(r"[-+]?\d+")
_FLOAT = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?")


def _kind(values: list[str]) -> str:
    cells = [v.strip() for v in values if v.strip()]
    if not cells:
        return "empty"
    if all(_INT.fullmatch(c) for c in cells):
        return "int"
    if all(_FLOAT.fullmatch(c) for c in cells):
        return "float"
    if all(_DATE.fullmatch(c) for c in cells):
        return "date"
    if all(re.fullmatch(r"[-+]?[\d.,\s]+", c) for c in cells):
        return "text number (thousands separators or decimal comma: convert before maths)"
    if all(re.fullmatch(r"(?:[$€£¥₹]\s?)?[-+]?\d[\d.,\s]*(?:\s?(?:[$€£¥₹%]|[A-Za-z]{1,4}))?", c) for c in cells):
        return "text with a number (strip the unit/currency, then convert)"
    return "text"


def _describe_table(text: str, name: str, path: Path | None = None) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        return "(empty file)"
    delimiter = _delimiter(lines[0])
    rows = list(csv.reader(lines[:40], delimiter=delimiter))
    header, body = rows[0], rows[1:]
    kinds = [_kind([r[i] for r in body if i < len(r)]) for i in range(len(header))]
    said = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}.get(delimiter, repr(delimiter))
    sep = "'\\t'" if delimiter == "\t" else repr(delimiter)
    cols = ", ".join(f"{h.strip()} ({k})" for h, k in zip(header, kinds, strict=False))
    sample = "\n".join(lines[:6])
    described = f"{said}-separated table (sep={sep}), {len(header)} columns\ncolumns: {cols}\nfirst lines:\n{sample}"
    few = _few_values(path, delimiter, header, kinds) if path is not None else []
    return described + "".join(f"\n{line}" for line in few)


CATEGORY_BYTES = 256 * 1024  # how much of a table is read to list the values of its category columns


def _few_values(path: Path, delimiter: str, header: list[str], kinds: list[str]) -> list[str]:
    """Every value of a text column that takes only a few short ones ('Paris', 'yes'/'no').

    A filter must spell a value exactly as the file does; the first lines may not show it.
    """
    try:
        with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
            chunk = fh.read(CATEGORY_BYTES)
    except OSError:
        return []
    complete = chunk if len(chunk) < CATEGORY_BYTES else chunk[: chunk.rfind("\n") + 1]
    rows = [r for r in csv.reader(complete.splitlines()[1:], delimiter=delimiter) if any(c.strip() for c in r)]
    out: list[str] = []
    for i, (column, kind) in enumerate(zip(header, kinds, strict=False)):
        if kind != "text" or len(out) >= MAX_CATEGORIES:
            continue
        counts: dict[str, int] = {}
        for row in rows:
            if i < len(row) and row[i].strip():
                counts[row[i].strip()] = counts.get(row[i].strip(), 0) + 1
        shown = few_values(counts, len(rows))
        if shown is not None:
            scope = "" if len(chunk) < CATEGORY_BYTES else f" in the first {len(rows)} rows"
            out.append(f"values of {column.strip()}{scope}: {shown}")
    return out


def _is_table(text: str) -> bool:
    """Several lines that split into the same number (two or more) of cells: a table, not prose."""
    lines = [ln for ln in text.splitlines()[:8] if ln.strip()]
    if len(lines) < 2:
        return False
    rows = list(csv.reader(lines[:-1] if len(lines) > 2 else lines, delimiter=_delimiter(lines[0])))
    return len(rows[0]) >= 2 and all(len(r) == len(rows[0]) for r in rows)


def _describe_json(text: str, path: Path) -> str:
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig")) if path.stat().st_size < 5_000_000 else None
    except (OSError, ValueError, UnicodeDecodeError):
        doc = None
    if isinstance(doc, dict) and len(doc) <= 5:
        parts = [
            f"{k}: {type(v).__name__}" + (f" of {len(v)}" if isinstance(v, list | dict) else "") for k, v in doc.items()
        ]
        inner = next((v for v in doc.values() if isinstance(v, list) and v and isinstance(v[0], dict)), None)
        shape = "JSON object {" + ", ".join(parts) + "}"
        if inner is not None:
            shape += f"; records have keys {list(inner[0])}"
        return shape + "\nstart:\n" + "\n".join(text.splitlines()[:14])
    if isinstance(doc, list) and doc and isinstance(doc[0], dict):
        keys = list(doc[0])
        return (
            f"JSON list of {len(doc)} records with keys {keys} (pd.read_json or json.load)\nfirst record: "
            + json.dumps(doc[0], ensure_ascii=False)[:300]
        )
    return "\n".join(line[:200] for line in text.splitlines()[:25])


def _describe_sql_dump(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")[:200_000]
    except OSError:
        return "(unreadable)"
    creates = re.findall(r"CREATE\s+TABLE[^;]+;", text, re.I)
    out = ["SQL dump (load with sqlite3.connect(':memory:').executescript(open(name).read()))"]
    out += [" ".join(c.split()) for c in creates[:10]]
    for table in re.findall(r"CREATE\s+TABLE\s+(?:IF NOT EXISTS\s+)?[\"`]?(\w+)", text, re.I)[:10]:
        inserts = re.findall(rf"INSERT\s+INTO\s+[\"`]?{table}[\"`]?\b[^\n]*", text, re.I)
        if inserts:
            out.append(f"-- {len(inserts)} insert lines into {table}, e.g. {inserts[0][:160]}")
    return "\n".join(out) if creates else "\n".join(text.splitlines()[:25])


SCRIPT_LINES, SCRIPT_CHARS = 80, 6000  # how much of a dropped script the program writer sees


def describe_input(path: Path, name: str, max_bytes: int = 4096) -> str:
    """A few lines a model can write a program from: the file's exact shape, never the whole file.

    Never raises. SQLite files are described by their tables, columns and first rows (read-only).
    """
    lower = name.lower()
    if lower.endswith((".db", ".sqlite", ".sqlite3")):
        return _describe_sqlite(path)
    if lower.endswith(".sql"):
        return _describe_sql_dump(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(max_bytes)
    except OSError:
        return "(unreadable)"
    if b"\x00" in head[:1024]:
        return f"(binary file, {path.stat().st_size} bytes)"
    text = head.decode("utf-8-sig", errors="replace")
    if lower.endswith((".html", ".htm", ".xhtml")) or text.lstrip()[:15].lower().startswith(
        ("<!doctype html", "<html")
    ):
        try:
            page = path.read_text(encoding="utf-8", errors="replace")[:400_000]
        except OSError:
            page = text
        outline = "saved HTML page\n" + html_outline(page)
        prefix = page_prefixes([name]).get(name)  # a page the SQL program loads: its tables too
        return outline if prefix is None else f"{outline}\n\n{PAGE_TABLES}\n{page_preview(page, prefix)}"
    if lower.endswith(".json"):
        return _describe_json(text, path)
    if lower.endswith(_TEXT_TABLES) and table_columns(path, name) and _is_table(text):
        return _describe_table(text, name, path)
    if lower.endswith(".py"):  # a script is read whole (up to a bound): its usage and functions matter
        try:
            code = path.read_text(encoding="utf-8", errors="replace")[:SCRIPT_CHARS]
        except OSError:
            code = text
        shown = code.splitlines()[:SCRIPT_LINES]
        more = (
            "\n# ... (the script goes on)" if len(code.splitlines()) > SCRIPT_LINES or len(code) >= SCRIPT_CHARS else ""
        )
        return "Python script:\n" + "\n".join(line[:200] for line in shown) + more
    lines = text.splitlines()[:25]
    return "\n".join(line[:200] for line in lines)


def _sqlite_categories(conn: Any, table: str, count: int) -> list[str]:
    """``-- values of t.col: ...`` for text columns that take only a few short values."""
    if count > 200_000 or count < 2:
        return []  # a GROUP BY per column stays cheap
    out: list[str] = []
    quoted = table.replace('"', '""')
    for column in [r[1] for r in conn.execute(f'pragma table_info("{quoted}")')][:40]:
        if len(out) >= MAX_CATEGORIES:
            break
        col = str(column).replace('"', '""')
        found = conn.execute(
            f'select "{col}", count(*) from "{quoted}" where "{col}" is not null and typeof("{col}") = \'text\' '  # noqa: S608
            f'group by "{col}" order by 2 desc limit 9'  # one more than a category may take
        ).fetchall()
        counts = {str(v): int(n) for v, n in found}
        shown = few_values(counts, sum(counts.values()))
        if shown is not None:
            out.append(f"-- values of {table}.{column}: {shown}")
    return out


def _describe_sqlite(path: Path) -> str:
    import sqlite3

    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2)
    except sqlite3.Error as exc:
        return f"(not a readable SQLite file: {exc})"
    try:
        rows = conn.execute("select name, sql from sqlite_master where type = 'table' limit 20").fetchall()
        out = ["SQLite database (sqlite3.connect(name)); tables:"]
        for table, sql in rows:
            out.append(" ".join(str(sql).split()))
            sample = conn.execute(f'select * from "{table}" limit 2').fetchall()  # noqa: S608 - names from sqlite_master
            count = conn.execute(f'select count(*) from "{table}"').fetchone()[0]  # noqa: S608
            out.append(f"-- {count} rows, e.g. " + "; ".join(repr(r)[:140] for r in sample))
            out.extend(_sqlite_categories(conn, table, count))
        return "\n".join(out) if rows else "(no tables)"
    except sqlite3.Error as exc:
        return f"(not a readable SQLite file: {exc})"
    finally:
        conn.close()
