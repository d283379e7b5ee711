"""A table read back from a program's printed answer, when it printed rows but saved no CSV.

Tables stay tables: a list of items or ``name: value`` lines is shown (and checked) as a
table even when the program only printed it. Only used when the task asks for an item, a
list or a table (:func:`~app.engine.llm.answer_shape.answer_shape`) and the program wrote no
table itself. Recognised layouts, in order: ``a | b`` or tab-separated cells, ``key: value``
lines, a pandas ``to_string`` block (cells two or more spaces apart, under a header), one
item per line, and ``label: a, b, c`` on one line.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["table_from_answer"]

_NUM = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
MAX_ROWS = 500


def _cell(text: str) -> Any:
    text = text.strip().strip("'\"")
    if _NUM.fullmatch(text):
        value = float(text)
        if value.is_integer() and "." not in text and "e" not in text.lower():
            return int(value)
        return float(f"{value:.12g}")  # float noise such as 786.4699999999999
    return text


def _has_header(rows: list[list[str]]) -> bool:
    """The first row names columns: none of its cells is a number while a later row has one there."""
    if len(rows) < 2:
        return False
    first = rows[0]
    if any(_NUM.fullmatch(c.strip()) for c in first):
        return False
    return any(_NUM.fullmatch(r[i].strip()) for r in rows[1:] for i in range(min(len(first), len(r))))


def _table(rows: list[list[str]]) -> dict[str, Any] | None:
    width = len(rows[0])
    if not rows or any(len(r) != width for r in rows):
        return None
    if _has_header(rows):
        columns, body = [c.strip() for c in rows[0]], rows[1:]
    else:
        columns, body = (["item"] if width == 1 else ["item", *[f"value{i}" for i in range(1, width)]]), rows
    return {"name": "answer", "columns": columns, "rows": [[_cell(c) for c in r] for r in body[:MAX_ROWS]]}


def table_from_answer(answer: str) -> dict[str, Any] | None:
    """The rows printed in ``answer`` as ``{name, columns, rows}``, or None when it holds no rows."""
    lines = [ln.rstrip() for ln in answer.strip().splitlines() if ln.strip()]
    if not lines or len(lines) > MAX_ROWS:
        return None
    if len(lines) > 1 and lines[0].rstrip().endswith(":") and ":" not in lines[0].rstrip()[:-1]:
        lines = lines[1:]  # a heading such as "Products over 20 €:"
    for sep in (" | ", "|", "\t"):
        if all(sep in ln for ln in lines):
            return _table([[c for c in ln.strip().strip("|").split(sep.strip() or sep)] for ln in lines])
    pairs = [re.match(r"^\s*(?:[-*•]\s+)?(.+?):\s+(.+)$", ln) for ln in lines]
    if len(lines) > 1 and all(pairs):
        return _table([[m.group(1), m.group(2)] for m in pairs if m])
    if len(lines) > 1:
        split = [re.split(r"\s{2,}", ln.strip()) for ln in lines]
        if len(split[0]) > 1 and all(len(r) == len(split[0]) for r in split):
            return _table(split)
        if (
            len(split) > 2
            and len(split[0]) == 1
            and len(split[1]) > 1
            and all(len(r) == len(split[1]) for r in split[1:])
        ):
            # a pandas Series: its index name on a line of its own, then "key  value" lines
            return _table([[split[0][0], *[f"value{i}" for i in range(1, len(split[1]))]], *split[1:]])
        if all(len(r) == 1 for r in split):
            return _table([[re.sub(r"^\s*(?:[-*•]|\d+[.)])\s+", "", ln)] for ln in lines])
    single = re.match(r"^[^:]{1,80}:\s+(.+)$", lines[0])
    if len(lines) == 1 and single and "," in single.group(1):
        return _table([[item] for item in single.group(1).split(", ") if item.strip()])
    if len(lines) == 1:
        pair = pairs[0]
        return _table([[pair.group(1), pair.group(2)]] if pair else [[lines[0]]])
    return None
