"""Values of the data that the task names but the program never uses.

"What is the total distance driven by our vans?" over a table whose ``kind`` column holds
'van', 'car' and 'truck': a program that sums every trip ignored the one condition the task
states. The input previews list the few values of such category columns ("values of kind:
'van' (2), 'car' (2)"); a value the task names (as written, or in the plural) must appear in
the program.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from app.engine.llm.value_lists import category_values

__all__ = ["category_values", "unused_named_values"]

_FLAGS = {"yes", "no", "true", "false", "none", "null", "oui", "non", "ja", "nein"}


def _named(value: str, task: str) -> bool:
    forms = [re.escape(value)]
    if re.fullmatch(r"[^\W\d_]+", value):
        forms += [re.escape(value) + "s", re.escape(value) + "es"]
    return re.search(rf"(?<![\w-])(?:{'|'.join(forms)})(?![\w-])", task, re.I) is not None


def unused_named_values(task: str, program: str, values: Sequence[str]) -> list[str]:
    """The listed data values the task names that the program does not contain."""
    lowered = program.casefold()
    out = []
    for value in values:
        if len(value) < 3 or value.casefold() in _FLAGS or not re.search(r"[^\W\d_]", value):
            continue
        if _named(value, task) and value.casefold() not in lowered:
            out.append(value)
    return out
