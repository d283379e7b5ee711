"""The "values of ..." lines of input previews: read for the checks, kept out of the prompt.

:mod:`app.engine.tasks.input_preview` lists the few values a category column takes. The
checks use them (:mod:`app.engine.tasks.named_values`); the program writer is not shown them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["category_values", "without_value_lists"]

_VALUES_LINE = re.compile(r"^(?:--\s*|\s*)values of [^:]+:\s*(?P<values>.+)$", re.M)
_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'\s*\(\d+\)|\"((?:[^\"\\]|\\.)*)\"\s*\(\d+\)")


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
