"""The "values of ..." lines of input previews: one rule writes them, the checks read them.

The previews of table files, SQLite files and saved pages list the few values a category
column takes (:func:`few_values`, the one rule for all three). The checks use them
(:mod:`app.engine.tasks.named_values`); the program writer is not shown them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

__all__ = ["MAX_CATEGORIES", "category_values", "few_values", "without_value_lists"]

MAX_CATEGORIES = 4  # columns of one table whose few values are listed
_MAX_VALUES = 8
_CATEGORY_CHARS = 24  # longer values are names or prose, not categories

_VALUES_LINE = re.compile(r"^(?:--\s*|\s*)values of [^:]+:\s*(?P<values>.+)$", re.M)
_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'\s*\(\d+\)|\"((?:[^\"\\]|\\.)*)\"\s*\(\d+\)")


def few_values(counts: Mapping[str, int], rows: int) -> str | None:
    """``'a' (n), 'b' (m)``, most frequent first, when a column of ``rows`` rows is a category.

    A category takes 2 to 8 short values and repeats some of them; anything else (names,
    prose, one value, unique keys) gives ``None``.
    """
    if 2 <= len(counts) <= _MAX_VALUES and rows > len(counts) and all(len(k) <= _CATEGORY_CHARS for k in counts):
        return ", ".join(f"{k!r} ({n})" for k, n in sorted(counts.items(), key=lambda kv: -kv[1]))
    return None


def without_value_lists(preview: str) -> str:
    """``preview`` without its "values of ..." lines: those are for the checks, not the writer.

    Shown to the small model, a list of a column's values invited filters nobody asked for
    (``WHERE customer IN ('Nordwind GmbH', ...)`` for "revenue per product"): measured on the
    data-analytics suite, so the lists stay out of the prompt.
    """
    return "\n".join(line for line in preview.splitlines() if not _VALUES_LINE.fullmatch(line))


def category_values(previews: Iterable[tuple[str, str]]) -> list[str]:
    """Every value listed on a "values of ..." line of the inputs' previews."""
    found: list[str] = []
    for _, preview in previews:
        for line in _VALUES_LINE.finditer(preview):
            for single, double in _QUOTED.findall(line.group("values")):
                value = single or double
                if value and value not in found:
                    found.append(value)
    return found
