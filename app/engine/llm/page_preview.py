"""What the SQL writer is shown of a saved HTML page: the tables it becomes, with a few rows.

The names, columns and values are those the program's database will hold
(:func:`app.engine.llm.html_tables.page_tables`, numbers read by
:func:`app.engine.llm.table_cells.number`), so a query written from the preview runs as read.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.engine.llm.html_tables import HtmlTable, page_tables
from app.engine.llm.table_cells import number
from app.engine.llm.value_lists import MAX_CATEGORIES, few_values

__all__ = ["PAGE_TABLES", "page_preview", "split_page_preview"]

PAGE_TABLES = "As SQL tables:"  # the line that starts the tables part of an HTML input's preview
_SHOWN_ROWS = {"page": 1, "links": 3, "texts": 4}
_CELL = 48  # characters of a cell shown
# A page with hundreds of tables or an item with hundreds of parts must not fill the model's
# context: the largest tables are described, the rest only named; columns are capped per table.
_MAX_DESCRIBED = 8
_MAX_COLUMNS = 40
_MAX_NAMED = 600  # characters of the names of tables not described


def _kind(values: list[object]) -> str:
    present = [v for v in values if v is not None and v != ""]
    if present and all(isinstance(v, int | float) for v in present):
        return "number"
    return "text"


def _shown(value: object) -> str:
    if value is None:
        return "NULL"
    text = f"{value:.12g}" if isinstance(value, float) else str(value)
    return text if len(text) <= _CELL else text[: _CELL - 1] + "…"


def _describe(table: HtmlTable, role: str) -> str:
    rows = [[None if c is None else number(c, ";") for c in r] for r in table.rows]
    columns = table.columns[:_MAX_COLUMNS]
    kinds = [_kind([r[i] for r in rows]) for i in range(len(columns))]
    more = len(table.columns) - len(columns)
    lines = [
        f"table {table.name}: {len(rows)} row{'s' if len(rows) != 1 else ''}, {table.source}",
        "columns: "
        + ", ".join(
            f"{c} ({k}{', ' + table.origins[c] if c in table.origins else ''})"
            for c, k in zip(columns, kinds, strict=True)
        )
        + (f", … {more} more columns" if more else ""),
    ]
    for row in rows[: _SHOWN_ROWS.get(role, 3)]:
        lines.append("  " + " | ".join(_shown(v) for v in row[: len(columns)]))
    lines.extend(_categories(columns, kinds, rows))
    return "\n".join(lines)


def _categories(columns: list[str], kinds: list[str], rows: Sequence[Sequence[object]]) -> list[str]:
    """Every value of a text column that only takes a few (links' area, an item's stock or class).

    A filter must spell a value exactly as the page does; the sample rows may not show it.
    """
    out: list[str] = []
    for i, (column, kind) in enumerate(zip(columns, kinds, strict=True)):
        if kind != "text" or len(out) >= MAX_CATEGORIES:
            continue
        counts: dict[str, int] = {}
        for row in rows:
            if i < len(row) and row[i] not in (None, ""):
                key = str(row[i])
                counts[key] = counts.get(key, 0) + 1
        shown = few_values(counts, len(rows))
        if shown is not None:
            out.append(f"  values of {column}: {shown}")
    return out


def page_preview(html: str, prefix: str) -> str:
    """The tables of one page as the prompt shows them, items and ``<table>``s first."""
    tables = page_tables(html, prefix=prefix)
    roles = {t.name: t.name[len(prefix) :] for t in tables}
    fixed = [t for t in tables if roles[t.name] in _SHOWN_ROWS]
    found = [t for t in tables if roles[t.name] not in _SHOWN_ROWS]
    largest = {id(t) for t in sorted(found, key=lambda t: -len(t.rows))[:_MAX_DESCRIBED]}
    described = [t for t in found if id(t) in largest]  # in page order
    parts = [_describe(t, roles[t.name]) for t in [*described, *fixed]]
    named = [t.name for t in found if id(t) not in largest]
    if named:
        names = ", ".join(named)
        names = names if len(names) <= _MAX_NAMED else names[: _MAX_NAMED - 1] + "…"
        parts.append(f"… and {len(named)} smaller tables, not described here: {names}")
    return "\n".join(parts)


def split_page_preview(preview: str) -> tuple[str, str]:
    """An input's preview cut in two: the outline a program writer reads, the tables for SQL ("" if none)."""
    outline, mark, tables = preview.partition("\n\n" + PAGE_TABLES + "\n")
    return outline, tables if mark else ""
