"""Turn explicit numerical requests into plans without any model.

Each recogniser is a regular expression over the lower-cased text; the first that matches
produces a plan in the same shape the Ollama planner would (``plan_schema.json``), so the
explicit path and the planned path share one executor.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["recognise"]

_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?|[-+]?(?:pi|e|oo|inf|infinity)"
_VERB = r"(?:please\s+)?(?:(?:what\s+is|what's|compute|calculate|evaluate|find|simplify|expand|factor)\b)?"

_INTEGRATE = re.compile(
    rf"^(?:{_VERB}\s*)?(?:the\s+)?(?:integrate|integral\s+of|antiderivative\s+of)\s+(?P<expr>.+?)"
    rf"(?:\s*(?:d(?P<dvar>[a-z])\b|with\s+respect\s+to\s+(?P<wrt>[a-z])))?"
    rf"(?:\s+(?:from|between)\s+(?P<lo>{_NUM})\s+(?:to|and)\s+(?P<hi>{_NUM}))?\s*$"
)
_DIFF = re.compile(
    rf"^(?:{_VERB}\s*)?(?:the\s+)?(?:(?P<nth>second|third|2nd|3rd)\s+)?(?:derivative\s+of|differentiate|d/d(?P<dd>[a-z]))\s+"
    rf"(?P<expr>.+?)(?:\s+(?:with\s+respect\s+to|wrt|by)\s+(?P<wrt>[a-z]))?"
    rf"(?:\s+at\s+(?P<atvar>[a-z])\s*=\s*(?P<at>{_NUM}))?\s*$"
)
_SOLVE = re.compile(
    r"^(?:please\s+)?(?:solve|find\s+(?:the\s+)?(?:roots?|zeros?)\s+of|roots?\s+of)\s+(?P<expr>.+?)"
    r"(?:\s+for\s+(?P<var>[a-z](?:\s*,\s*[a-z])*))?\s*$"
)
_MATRIX = re.compile(
    rf"^(?:{_VERB}\s*)?(?:the\s+)?(?P<op>det|determinant|inverse|inv|eigenvalues|eigenvals|eig|rank|transpose|trace)"
    r"(?:\s+of)?\s*(?:the\s+matrix\s*)?(?P<m>\[.*\])\s*$"
)
_LINSOLVE = re.compile(
    r"^(?:solve\s+)?(?:ax\s*=\s*b\s+)?(?:with|for|where)?\s*a\s*=\s*(?P<a>\[\[.*\]\])\s*(?:,|and)?\s*b\s*=\s*(?P<b>\[.*?\])\s*$"
)
_ODE = re.compile(
    rf"^(?:solve\s+)?(?:the\s+)?(?:ode\s+)?(?:y'|dy/d(?P<iv>[a-z]))\s*=\s*(?P<rhs>[^,;]+?)\s*[,;]?\s*(?:with\s+)?"
    rf"y\((?P<t0>{_NUM})\)\s*=\s*(?P<y0>{_NUM})\s*[,;]?\s*"
    rf"(?:(?:and\s+)?(?:evaluate|find\s+y|y)?\s*(?:at|for)\s+(?:[a-z]\s*=\s*)?(?P<at>{_NUM}))?\s*$"
)
_MINIMIZE = re.compile(
    rf"^(?:find\s+the\s+)?(?P<op>minimi[sz]e|maximi[sz]e|minimum\s+of|maximum\s+of)\s+(?P<expr>.+?)"
    rf"(?:\s+for\s+(?P<var>[a-z]))?(?:\s+(?:on|over|in|between|from)\s*\[?\s*(?P<lo>{_NUM})\s*(?:,|to|and)\s*(?P<hi>{_NUM})\s*\]?)?\s*$"
)
_FFT = re.compile(rf"^(?:{_VERB}\s*)?(?:the\s+)?(?:fft|fourier\s+transform|dft)(?:\s+of)?\s*(?P<list>.+)$")
_STATS_WORDS = (
    r"mean|average|median|std|standard\s+deviation|variance|var|sum|total|min|minimum|max|maximum|"
    r"statistics|stats|describe|summary|count"
)
_STATS_LIST = re.compile(
    rf"^(?:{_VERB}\s*)?(?:the\s+)?(?P<stat>{_STATS_WORDS})\s+(?:of\s+)?(?P<list>\[?[-+0-9.,\s e]+\]?)$"
)
_STATS_COL = re.compile(
    rf"^(?:{_VERB}\s*)?(?:the\s+)?(?P<stat>{_STATS_WORDS})\s+(?:of\s+)?(?:the\s+)?(?:column\s+)?"
    rf"['\"]?(?P<col>[\w .-]+?)['\"]?(?:\s+column)?(?:\s+(?:in|of|from)\s+(?P<file>[\w.-]+\.(?:csv|tsv|txt)))?\s*$"
)
_EVAL_PREFIX = re.compile(rf"^{_VERB}\s*(?P<expr>.+)$")


def _num(text: str | None) -> Any:
    if text is None:
        return None
    t = text.strip().lower()
    mapping = {"pi": "pi", "-pi": "-pi", "e": "E", "oo": "oo", "inf": "oo", "infinity": "oo",
               "-oo": "-oo", "-inf": "-oo", "-infinity": "-oo", "+oo": "oo"}
    if t in mapping:
        return mapping[t]
    value = float(t)
    return int(value) if value.is_integer() and "." not in t and "e" not in t else value


def _stat_name(word: str) -> str:
    word = re.sub(r"\s+", " ", word)
    return {
        "average": "mean", "standard deviation": "std", "var": "variance", "total": "sum",
        "minimum": "min", "maximum": "max", "stats": "describe", "statistics": "describe",
        "summary": "describe",
    }.get(word, word)


def recognise(text: str, has_csv: bool) -> dict[str, Any] | None:
    """Return a plan for ``text`` or ``None`` when it is not an explicit numerical request."""
    raw = " ".join(text.strip().split())
    low = raw.lower().rstrip("?.!").strip()
    for pattern, builder in _BUILDERS:
        match = pattern.match(low)
        if match:
            plan = builder(match, raw)
            if plan is not None:
                return plan
    if has_csv:
        match = _STATS_COL.match(low)
        if match:
            return {"op": "statistics", "stat": _stat_name(match["stat"]),
                    "column": _original_case(raw, match["col"].strip()), "file": match["file"]}
    match = _EVAL_PREFIX.match(low)
    candidate = _original_case(raw, match["expr"]) if match else raw
    if _looks_like_math(candidate):
        return {"op": "evaluate", "expression": candidate,
                "simplify": bool(re.match(r"^(simplify|expand|factor)\b", low)),
                "mode": (re.match(r"^(simplify|expand|factor)\b", low) or [None])[0]}
    return None


def _original_case(raw: str, lowered_piece: str) -> str:
    """Recover the user's capitalisation for a piece found in the lower-cased text."""
    index = raw.lower().find(lowered_piece)
    return raw[index : index + len(lowered_piece)] if index >= 0 else lowered_piece


def _looks_like_math(text: str) -> bool:
    """Heuristic: mostly operators/digits and few words longer than a function name."""
    words = re.findall(r"[A-Za-z_]{2,}", text)
    known = {"sin", "cos", "tan", "exp", "log", "ln", "sqrt", "factorial", "pi", "abs", "binomial",
             "gcd", "lcm", "floor", "ceiling", "mod", "asin", "acos", "atan", "sinh", "cosh",
             "tanh", "gamma", "isprime", "prime", "fibonacci", "cbrt", "inf", "oo", "erf", "max",
             "min", "Max", "Min", "Abs", "Rational"}
    if any(w not in known for w in words):
        return False
    return bool(re.search(r"[\d]", text) or re.search(r"[+\-*/^()]", text))


def _integrate(m: re.Match[str], raw: str) -> dict[str, Any]:
    var = m["dvar"] or m["wrt"]
    return {"op": "integrate", "expression": _original_case(raw, m["expr"]), "variable": var,
            "lower": _num(m["lo"]), "upper": _num(m["hi"])}


def _diff(m: re.Match[str], raw: str) -> dict[str, Any]:
    order = {"second": 2, "2nd": 2, "third": 3, "3rd": 3}.get(m["nth"] or "", 1)
    return {"op": "differentiate", "expression": _original_case(raw, m["expr"]),
            "variable": m["wrt"] or m["dd"] or m["atvar"], "order": order, "at": _num(m["at"])}


def _solve(m: re.Match[str], raw: str) -> dict[str, Any] | None:
    expr = m["expr"]
    if "[" in expr:
        return None
    equations = [e.strip() for e in re.split(r"\s*(?:,|;|\band\b)\s*", expr) if e.strip()]
    variables = [v.strip() for v in m["var"].split(",")] if m["var"] else None
    return {"op": "solve", "equations": [_original_case(raw, e) for e in equations],
            "variables": variables}


def _matrix(m: re.Match[str], raw: str) -> dict[str, Any]:
    op = {"determinant": "det", "inv": "inverse", "eigenvals": "eigenvalues",
          "eig": "eigenvalues"}.get(m["op"], m["op"])
    return {"op": "matrix", "matrix_op": op, "matrix": m["m"]}


def _linsolve(m: re.Match[str], raw: str) -> dict[str, Any]:
    return {"op": "matrix", "matrix_op": "solve", "matrix": m["a"], "vector": m["b"]}


def _ode(m: re.Match[str], raw: str) -> dict[str, Any]:
    return {"op": "ode", "expression": _original_case(raw, m["rhs"].strip()),
            "variable": m["iv"] or ("x" if re.search(r"\bx\b", m["rhs"]) else "t"),
            "t0": _num(m["t0"]), "y0": _num(m["y0"]), "at": _num(m["at"])}


def _minimize(m: re.Match[str], raw: str) -> dict[str, Any]:
    goal = "maximize" if m["op"].startswith("maxim") else "minimize"
    return {"op": "minimize", "goal": goal, "expression": _original_case(raw, m["expr"]),
            "variable": m["var"], "lower": _num(m["lo"]), "upper": _num(m["hi"])}


def _fft(m: re.Match[str], raw: str) -> dict[str, Any]:
    return {"op": "fft", "values": _list_text(m["list"])}


def _stats_list(m: re.Match[str], raw: str) -> dict[str, Any]:
    return {"op": "statistics", "stat": _stat_name(m["stat"]), "values": _list_text(m["list"])}


def _list_text(text: str) -> str:
    text = text.strip()
    return text if text.startswith("[") else f"[{text}]"


_BUILDERS: list[tuple[re.Pattern[str], Any]] = [
    (_ODE, _ode),
    (_INTEGRATE, _integrate),
    (_DIFF, _diff),
    (_LINSOLVE, _linsolve),
    (_MATRIX, _matrix),
    (_FFT, _fft),
    (_MINIMIZE, _minimize),
    (_STATS_LIST, _stats_list),
    (_SOLVE, _solve),
]
