"""Checks of a program's result against its task, before the answer is shown as done.

Cheap and general: the program printed an answer of the asked kind (a number when the task
asks how many / how much / what value), it did not print an error, an empty result or a
missing value instead of an answer, the column names it quotes exist in the attached
tables, and its table has the shape the wording asks for (one row for "which ... the most",
N rows for "top N", items rather than counts in the first column of a list). A failed check
is the feedback for the next, differently constructed attempt; :func:`is_soft` tells the
shape problems (a heuristic reading of the wording) from real errors.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from app.engine.llm.answer_shape import answer_shape
from app.engine.llm.scrape_helpers import HELPERS
from app.engine.llm.sql_program import NO_ROWS, NOTE, sql_of
from app.engine.tasks.named_values import unused_named_values
from app.engine.tasks.stated_bounds import bound_mismatches
from app.engine.tasks.unstated_filters import unstated_filters

__all__ = ["SHAPE_PROBLEM", "agree", "answer_key", "check_result", "is_soft"]

SHAPE_PROBLEM = "answer shape: "  # the prefix of problems that only concern the shape

_NUMERIC_ASK = re.compile(
    r"\b(how (many|much|long|far|old)|what (is|was|are) the (total|sum|average|mean|median|number|count|value|"
    r"maximum|minimum|max|min|probability|percentage|ratio|rate)|count|total|sum of|average|mean|median|"
    r"combien|wie viele|wieviel|cuánto|cuántos|quanti|quanto)\b",
    re.I,
)
# "give me its determinant", "by what percentage did it grow": a quantity asked by its name
_QUANTITY_ASK = re.compile(
    r"\b(what|which|give me|find|compute|calculate|determine|by)\b[^.?!]{0,40}?\b(determinant|eigenvalues?|rank|trace|"
    r"integral|derivative|area|volume|perimeter|circumference|length|distance|speed|velocity|temperature|price|cost|"
    r"amount|balance|interest|percentage|probability|standard deviation|variance|gcd|lcm|value|population)\b",
    re.I,
)
_NUMBER = re.compile(r"[-−]?\d[\d_,]*(?:\.\d+)?(?:[eE][-+]?\d+)?")
_ASKS_EMAIL = re.compile(
    r"\b(e-?mail|courriel|correo electr[oó]nico)(\s+address(es)?|s)?\b(?!\s+(subject|body|text))", re.I
)
_ASKS_PHONE = re.compile(r"\b(phone|telephone|tel|mobile number|t[ée]l[ée]phone|telefon\w*|tel[ée]fono)\b", re.I)
_PHONE = re.compile(r"\+?\d[\d\s().\-/]{5,}\d")
_ASKS_LINK = re.compile(r"\b(links?|urls?|hrefs?|web addresse?s?|liens?|enlaces?)\b", re.I)
_LINK = re.compile(r"https?://|www\.|(?:^|[\s|,])/[\w.-]|\w\.(?:html?|php)\b|mailto:", re.I | re.M)
_ERROR_WORDS = re.compile(
    r"^(Traceback|Error|Exception)|\b(nan|NaN|NaT|inf)\b|not found|no such|\[Errno 2\] No such file|can't open file",
    re.M,
)
_EMPTY = re.compile(
    r"^(Empty DataFrame|Series\(\[\], |\[\]$|\{\}$|None$|set\(\)$)|[:=]\s*(\[\]|None|\(\)|set\(\))?\s*$"
)
_SYMBOLIC = re.compile(r"\b(pi|sqrt|exp|log|E|oo|I)\b|\d\s*/\s*\d|\*\*")
_SERIES_DUMP = re.compile(r"^(?:Name: .*)?dtype: \w+$", re.M)  # the last line pandas prints for a Series
_ZERO = re.compile(r"[-−]?0+(?:\.0+)?")
_QUOTED = re.compile(r"""\[\s*['"]([^'"\]]{1,64})['"]\s*\]""")


def check_result(
    task: str,
    answer: str,
    program: str,
    columns: Iterable[str],
    tables: Sequence[Mapping[str, Any]] = (),
    categories: Sequence[str] = (),
) -> str:
    """A sentence naming what is wrong with the result, or ``""`` when it passes."""
    text = answer.strip()
    if not text:
        return "it printed nothing"
    if _ERROR_WORDS.search(text):
        line = next((ln for ln in text.splitlines() if _ERROR_WORDS.search(ln)), text[:120])
        return f"it printed an error or a missing value instead of an answer: {line[:160]}"
    lines = text.splitlines()
    last = lines[-1].strip()
    if last == NO_ROWS:  # the SQL program's word for an empty result, whatever table was read from it
        found = [ln.strip()[len(NOTE) :] for ln in lines if ln.startswith(NOTE)]  # where the compared texts occur
        return (
            "the query returned no rows: a filter matched nothing; check which column holds the value and its "
            "spelling" + (" (" + "; ".join(found) + ")" if found else "")
        )
    if _EMPTY.search(last) and not tables:
        return (
            f"it found nothing (the last line is {last[:80]!r}): the filter or selector matched no data; "
            "check the values in the files"
        )
    shape = answer_shape(task)
    if shape.kind == "one" and not tables and _NUMBER.fullmatch(last.replace(" ", "")) and len(lines) == 1:
        return (
            f"{SHAPE_PROBLEM}the task asks which item it is, but only a figure ({last[:40]}) was printed; "
            "give the item's name first, then its figure (ORDER BY the figure ... LIMIT 1)"
        )
    asks_number = _NUMERIC_ASK.search(task) or _QUANTITY_ASK.search(task)
    if not asks_number and _ASKS_EMAIL.search(task) and "@" not in text:
        return "the task asks for an email address but the answer holds none (look for mailto: links and texts with @)"
    if not _NUMERIC_ASK.search(task) and _ASKS_PHONE.search(task) and not _PHONE.search(text):
        return "the task asks for a phone number but the answer holds none (look for tel: links and texts)"
    if not asks_number and _ASKS_LINK.search(task) and not _LINK.search(text):
        return "the task asks for links but the answer holds no URL or path (print the href values)"
    if asks_number and shape.kind not in ("one", "list") and not _NUMBER.search(text):
        return "the task asks for a number but the program printed none"
    if shape.kind == "value" and _NUMERIC_ASK.search(task) and _ZERO.fullmatch(last):
        return (
            f"{SHAPE_PROBLEM}the result is 0: a filter may be wrong or invented; use only the conditions "
            "the task states, with values spelled as in the data"
        )
    one_figure = shape.kind in ("value", "free") or len(lines) <= 2  # "Find the area ..." reads as a list
    implausible = _implausible(task, last) if one_figure else ""
    if implausible:  # not a matter of shape: attempts that agree on an impossible figure are still wrong
        return implausible
    if shape.kind == "value" and _SERIES_DUMP.search(text) and len(lines) > 2:
        return (
            "it printed a whole column (a pandas Series) where one value was asked; "
            "aggregate it (sum, mean, count...) or select the one row, and print that value"
        )
    if shape.kind in ("value", "free") and len(lines) <= 3 and _constant_expression(last):
        return f"{SHAPE_PROBLEM}the last line {last[:80]!r} is symbolic; print its decimal value (sympy N()) last"
    written = sql_of(program) or program.removeprefix(HELPERS)  # what the model wrote, not our helpers
    mismatched = bound_mismatches(task, written)
    if mismatched:  # not a matter of shape: agreeing attempts with the wrong bound are all wrong
        return "; ".join(mismatched)
    ignored = unused_named_values(task, written, categories)
    if ignored:
        shown = ", ".join(repr(v) for v in ignored[:3])
        return (
            f"{SHAPE_PROBLEM}the task names {shown}, a value in the data, but the program never uses it; "
            "filter on it (spelled as in the data)"
        )
    invented = unstated_filters(task, written, sql=sql_of(program) is not None)
    if invented:
        shown = ", ".join(repr(v) for v in invented[:3])
        return (
            f"{SHAPE_PROBLEM}the program filters on {shown}, which the task does not mention; keep only the "
            "conditions the task states"
        )
    unpassed = _values_not_passed(task, program)
    if unpassed:
        return (
            f"{SHAPE_PROBLEM}the task states {', '.join(unpassed)}, which the program does not pass to the "
            "script it runs; give the task's values as the script's arguments (see its usage line)"
        )
    known = {c.strip() for c in columns if c.strip()}
    if known and sql_of(program) is None:  # SQL names are checked by SQLite itself
        lowered = {k.lower() for k in known}
        missing = sorted(
            {
                q
                for q in _QUOTED.findall(program)
                if q not in known
                and q.lower() not in lowered
                and q.replace("_", " ").lower() not in lowered
                and _looks_like_column(q, program)
            }
        )
        if missing:
            return (
                f"it uses columns that the files do not have: {', '.join(missing[:5])} "
                f"(columns: {', '.join(sorted(known)[:30])})"
            )
    return _table_shape(task, tables)


_RUNS_SCRIPT = re.compile(r"subprocess\.(?:run|check_output|call|Popen)\(")
_STATED = re.compile(
    r"(?<![\w.\-/])(\d+(?:[.,]\d+)?)(\s*(?:%|percent|per cent|pour ?cent|prozent|por ciento))?(?![\w.\-/]*\.\w{1,5}\b)"
)


def _values_not_passed(task: str, program: str) -> list[str]:
    """Numbers the task states for a script the program runs, found nowhere in the program.

    "Run invoice.py with a 10 percent discount" must pass 10 (or 0.1 for a percentage); numbers in
    file names and in code quoted in the task do not count.
    """
    if not _RUNS_SCRIPT.search(program):
        return []
    prose = re.sub(r"```.*?(```|$)|`[^`]*`", " ", task, flags=re.S)
    literals = set(re.findall(r"\d+(?:\.\d+)?", program))
    missing = []
    for figure, percent in _STATED.findall(prose):
        plain = figure.replace(",", ".") if re.fullmatch(r"\d+,\d{1,2}", figure) else figure.replace(",", "")
        forms = {plain, plain.rstrip("0").rstrip(".") if "." in plain else plain}
        if percent:
            forms |= {f"{float(plain) / 100:g}", f"{float(plain) / 100}"}
        if not forms & literals and plain not in missing:
            missing.append(plain)
    return missing


_PROBABILITY = re.compile(r"\b(probabilit(y|é|à)|probabilidad|wahrscheinlichkeit|chance|likelihood)\b", re.I)
_PERCENT = re.compile(r"%|\b(percent|per cent|pourcentage|prozent|porcentaje)\b", re.I)
_SIZE = re.compile(
    r"\b(area|surface|volume|length|distance|perimeter|circumference|radius|diameter|variance|standard deviation|"
    r"height|how (?:high|tall|far|long|wide|deep)|width|depth|"
    r"aire|superficie|fläche|flaeche|área|longueur|länge|écart[- ]type|standardabweichung)\b",
    re.I,
)
_UNIT_POWER = re.compile(r"(?<=[A-Za-zµ°])\s*(?:\^|\*\*)\s*[-−]?\d+|[⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+")  # cm^2, m²: not numbers


def _implausible(task: str, last: str) -> str:
    """What makes the value on the last line impossible for what the task asks ("" if nothing).

    A probability lies in [0, 1] (or [0, 100] as a percentage); an area, a length, a volume or a
    spread is never negative. Cheap sanity checks that catch a wrong formula, not a wrong digit.
    """
    numbers = _NUMBER.findall(_UNIT_POWER.sub("", last).replace(",", ""))
    if not numbers:
        return ""
    try:
        value = float(numbers[-1].replace("−", "-").replace("_", ""))
    except ValueError:
        return ""
    ask = task.split("\n")[-1] if "?" in task.split("\n")[-1] else task
    if _PROBABILITY.search(ask) and not 0 <= value <= (100 if _PERCENT.search(ask + last) else 1):
        return f"a probability must lie between 0 and 1, but the result is {value:g}: check the formula"
    if _SIZE.search(ask) and value < 0:
        return f"the task asks for a size (area, length, volume, spread), which is never negative, but got {value:g}"
    return ""


def _constant_expression(line: str) -> bool:
    """Whether the value after the last ``=``/``:`` is an exact constant such as ``pi/4`` or ``sqrt(2)/2``.

    A number asked for should end in its decimal; an expression in a variable (``2*x/(x**2 + 1)``)
    is an answer in its own right and passes.
    """
    value = re.split(r"[=:]", line)[-1].strip()
    if not value or "." in value or not _SYMBOLIC.search(value):
        return False
    rest = re.sub(r"\b(pi|sqrt|exp|log|E|oo|I|Rational)\b", "", value)
    return re.search(r"[A-Za-z]", rest) is None and re.fullmatch(r"[\d\s+\-*/()^]*", rest) is not None


def _table_shape(task: str, tables: Sequence[Mapping[str, Any]]) -> str:
    """Whether the first table has the number of rows and the kind of first column the task asks for."""
    if not tables:
        return ""
    shape = answer_shape(task)
    rows = list(tables[0].get("rows") or [])
    if not rows:
        return "it saved an empty table: the filter matched no rows; check the values in the files"
    if shape.kind == "one" and len(rows) > 1:
        return (
            f"{SHAPE_PROBLEM}the task asks for the single best item but the table has {len(rows)} rows; "
            "keep only the top row"
        )
    if shape.kind == "list" and shape.limit and len(rows) != shape.limit:
        return f"{SHAPE_PROBLEM}the task asks for the top {shape.limit} but the table has {len(rows)} rows"
    first = [r[0] for r in rows if r]
    header = [str(c) for c in tables[0].get("columns") or []]
    if shape.kind == "list" and len(rows) > 1:
        seen: dict[tuple[str, ...], int] = {}
        for row in rows:
            key = tuple(str(v) for v in row)
            seen[key] = seen.get(key, 0) + 1
        repeated = [(k, n) for k, n in seen.items() if n > 1]
        if repeated:  # "which genres ...": each item once; repeats mean rows were listed, not items
            key, times = repeated[0]
            return (
                f"{SHAPE_PROBLEM}the list repeats items ({' | '.join(key)[:40]} {times} times): the task asks "
                "which items, so each must appear once; group by the item (GROUP BY, groupby) and apply the "
                "task's condition to each group's aggregate (HAVING), or use DISTINCT"
            )
    if (
        shape.kind in ("one", "list")
        and first
        and all(isinstance(v, int | float) for v in first)
        and (not header or header[0] in ("0", "index", "count", "size") or (shape.kind == "one" and len(header) == 1))
    ):
        return (
            f"{SHAPE_PROBLEM}the table's first column holds numbers ({header[0] if header else '?'}), not the "
            "items asked for; keep the names as the first column (reset_index(), or to_csv with the index)"
        )
    return ""


def is_soft(problem: str) -> bool:
    """Whether ``problem`` is only about the answer's shape (the answer itself may still be right)."""
    return problem.startswith(SHAPE_PROBLEM)


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
