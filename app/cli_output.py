"""Output of the ``switchboard`` command: one JSON document with ``--json``, tables otherwise."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["emit", "to_jsonable", "table"]


def to_jsonable(value: Any) -> Any:
    """Dataclasses, paths and tuples as plain JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: to_jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def emit(document: dict[str, Any], *, as_json: bool, text: str | None = None) -> None:
    """Print the JSON document, or the human text (defaults to a compact JSON dump)."""
    if as_json:
        sys.stdout.write(json.dumps(to_jsonable(document), indent=2, default=str) + "\n")
    else:
        sys.stdout.write(
            (text if text is not None else json.dumps(to_jsonable(document), indent=2, default=str)) + "\n"
        )


def table(rows: list[list[Any]], headers: list[str]) -> str:
    """A plain aligned text table."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
