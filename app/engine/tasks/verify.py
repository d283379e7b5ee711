"""Checks of a program's result against its task, before the answer is shown as done.

Cheap and general: the program printed an answer of the asked kind (a number when the task
asks how many / how much / what value), it did not print an error instead of an answer, and
the column names it quotes exist in the attached tables. A failed check is the feedback for
the next, differently constructed attempt.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["agree", "answer_key", "check_result"]

_NUMERIC_ASK = re.compile(
    r"\b(how (many|much|long|far|old)|what (is|was|are) the (total|sum|average|mean|median|number|count|value|"
    r"maximum|minimum|max|min|probability|percentage|ratio|rate)|count|total|sum of|average|mean|median|"
    r"combien|wie viele|wieviel|cuánto|cuántos|quanti|quanto)\b",
    re.I,
)
_NUMBER = re.compile(r"[-−]?\d[\d_,]*(?:\.\d+)?(?:[eE][-+]?\d+)?")
_ERROR_WORDS = re.compile(r"^(Traceback|Error|Exception)|\b(nan|NaN)\b|not found|no such", re.M)
_QUOTED = re.compile(r"""\[\s*['"]([^'"\]]{1,64})['"]\s*\]""")


def check_result(task: str, answer: str, program: str, columns: Iterable[str]) -> str:
    """A sentence naming what is wrong with the result, or ``""`` when it passes."""
    text = answer.strip()
    if not text:
        return "it printed nothing"
    if _ERROR_WORDS.search(text):
        line = next((ln for ln in text.splitlines() if _ERROR_WORDS.search(ln)), text[:120])
        return f"it printed an error or a missing value instead of an answer: {line[:160]}"
    if _NUMERIC_ASK.search(task) and not _NUMBER.search(text):
        return "the task asks for a number but the program printed none"
    known = {c.strip() for c in columns if c.strip()}
    if known:
        lowered = {k.lower() for k in known}
        missing = sorted({q for q in _QUOTED.findall(program) if q not in known and q.lower() not in lowered
                          and q.replace("_", " ").lower() not in lowered and _looks_like_column(q, program)})
        if missing:
            return f"it uses columns that the files do not have: {', '.join(missing[:5])} (columns: {', '.join(sorted(known)[:30])})"
    return ""


def _looks_like_column(name: str, program: str) -> bool:
    """A quoted subscript that is not a key the program itself created."""
    created = re.search(r"""\[\s*['"]""" + re.escape(name) + r"""['"]\s*\]\s*=(?!=)""", program)
    named = re.search(r"""(rename|columns\s*=|as_index|agg|assign|name\s*=)[^\n]*['"]""" + re.escape(name), program)
    return created is None and named is None


def answer_key(answer: str) -> str:
    """What two answers must share to count as agreeing: their numbers, or their words."""
    numbers = [n.replace(",", "").replace("_", "").replace("−", "-") for n in _NUMBER.findall(answer)]
    if numbers:
        try:
            return " ".join(f"{float(n):.6g}" for n in numbers[-6:])
        except ValueError:
            pass
    return " ".join(answer.lower().split())[-200:]


def agree(a: str, b: str) -> bool:
    """Whether two answers agree by :func:`answer_key`."""
    return answer_key(a) == answer_key(b)
