"""Parse the data-analytics command language into plan steps.

The language (case-insensitive; clauses separated by ``;``, a new line or ``then``)::

    describe [COLS]              count rows            columns           sheets
    head [N]                     select COLS           sort by COL [asc|desc]
    filter COL OP VALUE [and COL OP VALUE ...]         (OP: > >= < <= = == != contains startswith)
    top N by COL                 bottom N by COL
    group by COLS AGG COL        group by COLS count   (AGG: sum mean avg min max median std count)
    pivot INDEX by COLUMN AGG VALUE
    join A.csv B.csv on COL [inner|left|right|outer]
    outliers in COL [iqr K | zscore Z]
    plot Y by X [as line|bar|scatter]                  histogram of COL
    sum|mean|avg|min|max|median|std COL                unique COL         count by COL
    correlation [COLS]

plus ``sheet=NAME`` for Excel inputs. A clause that matches none of these means the text is
natural language, and the handler asks for a plan (:class:`NeedsPlan`). Every clause becomes a
step dict with the same shape as a planned step, so both paths run through one engine.
"""

from __future__ import annotations

import re
from typing import Any

from switchboard_runtime.api import NeedsPlan, SpecialistError

__all__ = ["AGGS", "OPS", "OPERATORS", "parse_text"]

OPS = (
    "describe",
    "count",
    "columns",
    "sheets",
    "head",
    "filter",
    "select",
    "sort",
    "top",
    "bottom",
    "group",
    "pivot",
    "join",
    "outliers",
    "plot",
    "histogram",
    "aggregate",
    "unique",
    "value_counts",
    "correlation",
)
AGGS = ("sum", "mean", "min", "max", "median", "std", "count")
OPERATORS = (">=", "<=", "!=", "==", "=", ">", "<", "contains", "startswith")
_AGG_ALIASES = {"avg": "mean", "average": "mean", "total": "sum"}
_AGG_RE = r"(sum|mean|avg|average|total|min|max|median|std|count)"
_COL = r"(\"[^\"]+\"|`[^`]+`|'[^']+'|[\w.%-]+)"
_COLS = r"(.+?)"
_FILE_RE = re.compile(r"[\w.-]+\.(?:csv|tsv|txt|jsonl?|ndjson|xlsx|xlsm|parquet|zip)\b", re.I)


def _unquote(token: str) -> str:
    token = token.strip()
    if len(token) >= 2 and token[0] == token[-1] and token[0] in "\"'`":
        return token[1:-1]
    return token


# words of a sentence, never of a column list: a describe clause holding one is not a command
_PROSE = frozenset(
    {
        "the",
        "a",
        "an",
        "for",
        "me",
        "us",
        "of",
        "column",
        "columns",
        "please",
        "this",
        "my",
        "our",
        "what",
        "which",
        "how",
        "is",
        "are",
        "to",
        "with",
        "field",
        "fields",
    }
)


def _cols(text: str) -> list[str]:
    parts = re.split(r"\s*,\s*|\s+and\s+|\s+", text.strip())
    if '"' in text or "`" in text or "'" in text:
        parts = [p for p in re.findall(r"\"[^\"]+\"|`[^`]+`|'[^']+'|[^,\s]+", text) if p != "and"]
    return [_unquote(p) for p in parts if p]


def _value(token: str) -> Any:
    token = _unquote(token)
    for cast in (int, float):
        try:
            return cast(token)
        except ValueError:
            pass
    return token


def _agg(word: str) -> str:
    word = word.lower()
    return _AGG_ALIASES.get(word, word)


def _parse_conditions(text: str) -> list[dict[str, Any]]:
    ops = "|".join(re.escape(o) for o in OPERATORS)
    cond_re = re.compile(rf"^{_COL}\s*({ops})\s*(.+)$", re.I)
    steps = []
    for part in re.split(r"\s+and\s+", text.strip()):
        m = cond_re.match(part.strip())
        if not m:
            return []
        op = m.group(2).lower()
        steps.append(
            {
                "op": "filter",
                "column": _unquote(m.group(1)),
                "operator": "==" if op == "=" else op,
                "value": _value(m.group(3)),
            }
        )
    return steps


def _clause(clause: str) -> list[dict[str, Any]] | None:
    """Return the steps for one clause, or None when it is not a command."""
    c = clause.strip().rstrip(".").strip()
    low = c.lower()
    if re.fullmatch(r"(describe|summary|summarize|summarise)(\s+.+)?", low):
        rest = c.split(None, 1)[1] if " " in c else ""
        if rest and '"' not in rest and any(w in _PROSE for w in re.findall(r"[a-z']+", rest.lower())):
            return None  # "describe the salary column for me": a sentence, not a list of columns
        return [{"op": "describe", "columns": _cols(rest)} if rest else {"op": "describe"}]
    if re.fullmatch(r"(count( the)? rows|count|row count|how many rows)", low):
        return [{"op": "count"}]
    if re.fullmatch(r"((list|show) )?(columns|schema|dtypes)", low):
        return [{"op": "columns"}]
    if re.fullmatch(r"((list|show) )?sheets", low):
        return [{"op": "sheets"}]
    m = re.fullmatch(r"(?:head|first|show)(?:\s+(\d+))?(?:\s+rows)?", low)
    if m:
        return [{"op": "head", "n": int(m.group(1) or 5)}]
    m = re.fullmatch(r"(?:filter|where)\s+(.+)", c, re.I)
    if m:
        return _parse_conditions(m.group(1)) or None
    m = re.fullmatch(r"(?:select|keep)\s+(?:columns?\s+)?(.+)", c, re.I)
    if m:
        return [{"op": "select", "columns": _cols(m.group(1))}]
    m = re.fullmatch(rf"sort\s+by\s+{_COL}(?:\s+(asc|ascending|desc|descending))?", c, re.I)
    if m:
        desc = bool(m.group(2)) and m.group(2).lower().startswith("desc")
        return [{"op": "sort", "column": _unquote(m.group(1)), "descending": desc}]
    m = re.fullmatch(rf"(top|bottom)\s+(\d+)\s+(?:rows\s+)?by\s+{_COL}", c, re.I)
    if m:
        return [{"op": m.group(1).lower(), "n": int(m.group(2)), "column": _unquote(m.group(3))}]
    m = re.fullmatch(rf"group\s+by\s+{_COLS}\s+{_AGG_RE}(?:\s+(?:of\s+)?{_COL})?", c, re.I)
    if m:
        step = {"op": "group", "by": _cols(m.group(1)), "agg": _agg(m.group(2))}
        if m.group(3):
            step["column"] = _unquote(m.group(3))
        elif step["agg"] != "count":
            return None
        return [step]
    m = re.fullmatch(rf"{_AGG_RE}\s+(?:of\s+)?{_COL}\s+(?:by|per)\s+{_COLS}", c, re.I)
    if m:
        return [{"op": "group", "by": _cols(m.group(3)), "agg": _agg(m.group(1)), "column": _unquote(m.group(2))}]
    m = re.fullmatch(rf"pivot\s+{_COL}\s+by\s+{_COL}\s+{_AGG_RE}\s+(?:of\s+)?{_COL}", c, re.I)
    if m:
        return [
            {
                "op": "pivot",
                "index": _unquote(m.group(1)),
                "column": _unquote(m.group(2)),
                "agg": _agg(m.group(3)),
                "value": _unquote(m.group(4)),
            }
        ]
    m = re.fullmatch(
        rf"join\s+(?:(@\d+)\s+(?:and\s+|with\s+)?)?(@\d+)\s+on\s+{_COL}"
        r"(?:\s+(inner|left|right|outer))?(?:\s+join)?",
        c,
        re.I,
    )
    if m:
        step = {"op": "join", "other": m.group(2), "on": _unquote(m.group(3)), "how": (m.group(4) or "inner").lower()}
        if m.group(1):
            step["file"] = m.group(1)
        return [step]
    m = re.fullmatch(
        rf"(?:find\s+|show\s+)?outliers\s+(?:in|of|for)\s+{_COL}"
        r"(?:\s+(iqr|zscore|z-score)\s+([\d.]+))?",
        c,
        re.I,
    )
    if m:
        step = {"op": "outliers", "column": _unquote(m.group(1))}
        if m.group(2):
            step["method"] = "zscore" if m.group(2).lower().startswith("z") else "iqr"
            step["value"] = float(m.group(3))
        return [step]
    m = re.fullmatch(
        rf"(?:plot|chart)\s+{_COL}\s+(?:by|over|against)\s+{_COL}"
        r"(?:\s+as\s+(line|bar|scatter))?",
        c,
        re.I,
    )
    if m:
        return [
            {
                "op": "plot",
                "column": _unquote(m.group(1)),
                "index": _unquote(m.group(2)),
                "chart": (m.group(3) or "line").lower(),
            }
        ]
    m = re.fullmatch(rf"(?:plot\s+)?histogram\s+(?:of\s+)?{_COL}", c, re.I)
    if m:
        return [{"op": "histogram", "column": _unquote(m.group(1))}]
    m = re.fullmatch(rf"(?:count\s+by|value\s+counts(?:\s+of)?)\s+{_COL}", c, re.I)
    if m:
        return [{"op": "value_counts", "column": _unquote(m.group(1))}]
    m = re.fullmatch(rf"{_AGG_RE}\s+(?:of\s+)?{_COL}", c, re.I)
    if m and _agg(m.group(1)) != "count":
        return [{"op": "aggregate", "agg": _agg(m.group(1)), "column": _unquote(m.group(2))}]
    m = re.fullmatch(rf"(?:unique|distinct)\s+(?:values\s+(?:of|in)\s+)?{_COL}", c, re.I)
    if m:
        return [{"op": "unique", "column": _unquote(m.group(1))}]
    m = re.fullmatch(r"(?:correlation|correlations|corr)(?:\s+(?:of|between)\s+|\s+)?(.*)", c, re.I)
    if m:
        rest = m.group(1).strip()
        return [{"op": "correlation", "columns": _cols(rest)} if rest else {"op": "correlation"}]
    return None


def parse_text(text: str, input_names: list[str]) -> dict[str, Any]:
    """Parse ``text`` into ``{"file", "sheet", "steps"}`` or raise :class:`NeedsPlan`.

    File names of attached inputs become ``@<index>`` placeholders; a file name that is not
    attached is a ``bad_input`` rather than a plan request, because no plan can fix it.
    """
    plan: dict[str, Any] = {"steps": []}
    m = re.search(r"\bsheet\s*=\s*(\"[^\"]+\"|'[^']+'|\S+)", text, re.I)
    if m:
        plan["sheet"] = _unquote(m.group(1))
        text = text[: m.start()] + text[m.end() :]
    lowered = {n.lower(): i for i, n in enumerate(input_names)}

    def placeholder(match: re.Match[str]) -> str:
        name = match.group(0)
        if name.lower() not in lowered:
            raise SpecialistError(
                "bad_input", f"{name} is not attached to this task; attached: {', '.join(input_names) or 'none'}."
            )
        return f"@{lowered[name.lower()]}"

    text = _FILE_RE.sub(placeholder, text)
    clauses = [c for c in re.split(r"\s*(?:;|\n|,?\s+then\s+|,?\s+and then\s+)\s*", text) if c.strip()]
    for clause in clauses:
        clause = clause.strip()
        m = re.fullmatch(r"(?:load|open|use|read)\s+(@\d+)", clause, re.I)
        if m:
            plan["file"] = m.group(1)
            continue
        if not clause.lower().startswith("join"):
            m = re.search(r"\s+(?:(?:in|from|of|on|using)\s+)?(@\d+)\s*$", clause, re.I)
            if m:
                plan.setdefault("file", m.group(1))
                clause = clause[: m.start()]
            m = re.match(r"^(@\d+)\s*:?\s+", clause)
            if m:
                plan.setdefault("file", m.group(1))
                clause = clause[m.end() :]
        steps = _clause(clause)
        if steps is None:
            raise NeedsPlan(f"{clause!r} is not a data-analytics command; a plan is needed.")
        plan["steps"].extend(steps)
    if not plan["steps"]:
        raise NeedsPlan("No command found in the text; a plan is needed.")
    return plan
