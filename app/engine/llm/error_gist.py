"""What a failed program's error says, in the few words a small model can act on.

A sandbox failure is a whole traceback; the prompt has room for a few hundred characters, and
the head of a traceback ("Traceback (most recent call last): File ...") says nothing. The gist
is the exception line, the program line it happened at, and for a few common errors one
sentence on what usually fixes them (general SQL and pandas knowledge, not task-specific).
"""

from __future__ import annotations

import re

__all__ = ["error_gist"]

_EXCEPTION = re.compile(r"^(?:[\w.]+\.)?[A-Z]\w*(?:Error|Exception|Exit|Interrupt)\b(?::.*)?$")
_FRAME = re.compile(r'File "[^"]*\.program\.py", line (\d+)')
_HINTS = (
    (
        re.compile(r"misuse of aggregate", re.I),
        "conditions on aggregates (AVG, SUM, COUNT...) belong in HAVING after GROUP BY, not in WHERE",
    ),
    (re.compile(r"ambiguous column name", re.I), "prefix the column with its table's name or alias"),
    (re.compile(r"no such (?:column|table)", re.I), "use only the tables and columns listed for the input files"),
    (
        re.compile(r"^KeyError", re.M),
        "that key or column does not exist: use the exact names shown for the input files",
    ),
    (
        re.compile(r"(?:could not convert string to float|invalid literal for int\(\) with base 10): '[^\d']*'$", re.I),
        "a text without digits (a header row, a label) was converted to a number: skip the header line "
        "(next(reader), csv.DictReader) or keep only the rows that hold numbers",
    ),
    (
        re.compile(r"could not convert string to float|invalid literal for int", re.I),
        "clean the text first (thousands separators, currency signs, decimal commas) before converting to numbers",
    ),
    (re.compile(r"Columns must be same length|Length of values", re.I), "build the result from one aligned table"),
    (
        re.compile(r"object has no attribute 'to_csv'", re.I),
        "to_csv needs a DataFrame: wrap a single value in pd.DataFrame",
    ),
    (re.compile(r"unsupported operand type|can only concatenate", re.I), "convert the values to numbers first"),
)


def error_gist(message: str, limit: int = 600) -> str:
    """The exception line, where it happened and a hint; the message's tail when no exception is found."""
    lines = [ln.rstrip() for ln in message.splitlines() if ln.strip()]
    exception = next((ln.strip() for ln in reversed(lines) if _EXCEPTION.match(ln.strip())), None)
    if exception is None:
        return message[-limit:].strip()
    where = ""
    for i, line in enumerate(lines):
        frame = _FRAME.search(line)
        if frame and i + 1 < len(lines) and not _FRAME.search(lines[i + 1]):
            where = f" (program line {frame.group(1)}: {lines[i + 1].strip()[:200]})"
    hint = next((text for pattern, text in _HINTS if pattern.search(exception)), "")
    gist = exception[:300] + where + (f". Hint: {hint}." if hint else "")
    return gist[:limit]
