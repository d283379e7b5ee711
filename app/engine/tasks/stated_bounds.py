"""Whether a program compares with the task's numbers the way the task's words say.

"joined after 2019" is ``> 2019`` and "2020 or later" is ``>= 2020``; a small model often writes
``>= 2019`` for both. The words before or after a number fix whether the bound is strict, so a
program that uses that very number with the other kind of comparison is wrong whatever it
prints. Only exact matches are judged: a number the program does not compare with, or words
that do not clearly say strict or inclusive, give no verdict.
"""

from __future__ import annotations

import re

__all__ = ["bound_mismatches"]

_NUM = r"(?P<n>\d+(?:\.\d+)?)"
_STRICT_UP = r"after|later\s+than|more\s+than|greater\s+than|above|exceeding|over|higher\s+than"
_STRICT_DOWN = r"before|earlier\s+than|less\s+than|fewer\s+than|below|under|lower\s+than|cheaper\s+than"
_AT_LEAST = r"at\s+least|no\s+less\s+than|no\s+fewer\s+than|not\s+less\s+than|from"
_AT_MOST = r"at\s+most|no\s+more\s+than|not\s+more\s+than|up\s+to"
_OR_UP = r"later|after|more|over|above|up|higher|greater|newer|better|bigger|larger|longer"
_OR_DOWN = r"earlier|before|less|fewer|under|below|lower|older|cheaper|smaller|shorter"


def _before(words: str) -> re.Pattern[str]:
    return re.compile(rf"\b(?:{words})\s+[$€£]?{_NUM}\b", re.I)


def _after(words: str) -> re.Pattern[str]:
    # a unit may sit between: "4.5 stars or better", "10 kg and over"
    return re.compile(rf"(?<![\d.]){_NUM}(?:\s*[$€£%]|\s+[^\W\d]{{1,12}})?\s+(?:or|and)\s+(?:{words})\b", re.I)


# words before the number ("after 2019", "more than 20", "at least 3") and after it ("2020 or later")
_BEFORE = [
    (_before(_STRICT_UP), ">"),
    (_before(_STRICT_DOWN), "<"),
    (_before(_AT_LEAST), ">="),
    (_before(_AT_MOST), "<="),
]
_AFTER = [(_after(_OR_UP), ">="), (_after(_OR_DOWN), "<=")]
# "over 18" and "under 5" are said loosely; "and over" after the number already counts as inclusive
_LOOSE = {"over", "under"}
_COMPARE = re.compile(
    r"(?P<op>>=|<=|(?<![<>=!-])>(?!=)|(?<![<>=])<(?![=>-]))\s*\(?\s*['\"]?(?P<n>\d+(?:\.\d+)?)['\"]?(?![\d.])"
)
_FLIP = {">": "<", "<": ">", ">=": "<=", "<=": ">="}
_REVERSED = re.compile(r"(?<![\w.])['\"]?(?P<n>\d+(?:\.\d+)?)['\"]?\s*(?P<op>>=|<=|>(?!=)|<(?![=>]))\s*[A-Za-z_\"`\[]")


def _stated(task: str) -> dict[float, set[str]]:
    """The comparison the task's words ask for, per number."""
    found: dict[float, set[str]] = {}
    for pattern, op in _AFTER:
        for m in pattern.finditer(task):
            found.setdefault(float(m["n"]), set()).add(op)
    for pattern, op in _BEFORE:
        for m in pattern.finditer(task):
            word = m.group(0).split()[0].lower()
            value = float(m["n"])
            if word in _LOOSE and value in found:
                continue
            found.setdefault(value, set()).add(op)
    return found


def _used(program: str) -> dict[float, set[str]]:
    """The comparisons the program makes with each literal number (``x >= 2019``, ``2019 <= x``)."""
    used: dict[float, set[str]] = {}
    for m in _COMPARE.finditer(program):
        used.setdefault(float(m["n"]), set()).add(m["op"])
    for m in _REVERSED.finditer(program):
        used.setdefault(float(m["n"]), set()).add(_FLIP[m["op"]])
    return used


def bound_mismatches(task: str, program: str) -> list[str]:
    """Sentences for each number the program compares differently from the task's words."""
    stated, used = _stated(task), _used(program)
    problems = []
    for value, ops in stated.items():
        if len(ops) != 1 or value not in used:
            continue
        want = next(iter(ops))
        same_side = {">", ">="} if want in (">", ">=") else {"<", "<="}  # a flipped side may be a negation
        wrong = sorted(op for op in used[value] if op in same_side and op != want)
        if wrong and want not in used[value]:
            shown = f"{value:g}"
            problems.append(
                f"the task's words ask for {want} {shown} but the program compares {wrong[0]} {shown}"
                + (" (strictly after or more: the bound itself is excluded)" if want in (">", "<") else "")
            )
    return problems
