"""Text values a program filters on that the task never mentions.

A small model adds conditions nobody asked for ("which bikes cost less than 1000 €" became
``WHERE stock_class = 'in' AND price < 1000``). A compared text value usually comes from the
task's own words ('Paris', 'sold out'); one that shares no word with the task is likely
invented. Dates, numbers, codes with digits and yes/no-like flags are not judged (the task
says "in March" or "churned" without spelling the stored value), and neither is a value the
task's words only translate, which this check cannot see: it is a reason to try again, not a
verdict.
"""

from __future__ import annotations

import re

__all__ = ["unstated_filters"]

_SQL_COMPARED = re.compile(
    r"(?:(?<![<>!])=|!=|<>|\b(?:not\s+)?like|\bglob)\s*'((?:[^']|'')*)'"
    r"|\bin\s*\(\s*((?:'(?:[^']|'')*'\s*,?\s*)+)\)",
    re.I,
)
_PY_COMPARED = re.compile(
    r"(?:==|!=)\s*(['\"])(.*?)\1|\.(?:isin|contains|startswith|endswith)\(\s*\[?\s*(['\"])(.*?)\3", re.S
)
_FLAGS = {"yes", "no", "true", "false", "y", "n", "t", "f", "oui", "non", "ja", "nein", "si", "sí", "none", "null"}
_WORD = re.compile(r"[^\W\d_]+", re.U)


def _literals(program: str, sql: bool) -> list[str]:
    found: list[str] = []
    if sql:
        for m in _SQL_COMPARED.finditer(program):
            if m.group(1) is not None:
                found.append(m.group(1).replace("''", "'"))
            else:
                found.extend(v.replace("''", "'") for v in re.findall(r"'((?:[^']|'')*)'", m.group(2)))
    else:
        for m in _PY_COMPARED.finditer(program):
            found.append(m.group(2) if m.group(2) is not None else m.group(4))
    return found


def _mentioned(value: str, task_words: set[str]) -> bool:
    words = [w.casefold() for w in _WORD.findall(value)]
    if not words or any(ch.isdigit() for ch in value) or value.strip("%_ ").casefold() in _FLAGS:
        return True  # a date, a number, a code or a flag: not judged
    if re.fullmatch(r"%[a-zA-Z%-]+", value.strip()):
        return True  # a strftime format
    for word in words:
        if word in task_words or any(t.startswith(word) and len(t) - len(word) <= 2 for t in task_words):
            continue  # as written, or in the plural (van / vans, box / boxes)
        if len(word) >= 4 and any(len(t) >= 4 and t[:4] == word[:4] for t in task_words):
            continue  # cancelled / canceled, garden / gardening
        return False
    return True


def unstated_filters(task: str, program: str, *, sql: bool) -> list[str]:
    """The compared text values of ``program`` that share no word with ``task``."""
    task_words = {w.casefold() for w in _WORD.findall(task)}
    values = []
    for value in _literals(program, sql):
        clean = value.strip("%_ ")
        if clean and len(clean) <= 60 and not _mentioned(clean, task_words) and clean not in values:
            values.append(clean)
    return values
