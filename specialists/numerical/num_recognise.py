"""Turn explicit numerical requests into plans without any model.

Each recogniser is a regular expression (or a small parser) over the normalised, lower-cased
text; the first that matches produces a plan in the same shape the Ollama planner would
(``plan_schema.json``), so the explicit path and the planned path share one executor. A
recogniser that sees words it does not understand returns ``None`` rather than guessing, so
the request goes to the planner instead.
"""

from __future__ import annotations

import re
from typing import Any

from num_parse import matrix_literal, normalise
from num_words import (
    area_plan,
    binomial_plan,
    compound_interest_plan,
    inline_statistics_plan,
    percent_change_plan,
)

__all__ = ["recognise"]

_ATOM = r"(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?"
_CONST = r"(?:pi|e|oo|inf(?:inity)?)"
_NUM = (
    rf"(?:[-+]?(?:{_ATOM}\s*\*?\s*pi|{_ATOM}|{_CONST})(?:\s*/\s*(?:{_ATOM}|pi))?"
    r"|(?:minus|negative|positive|plus)\s+inf(?:inity)?)"
)
_VERB = (
    r"(?:please\s+)?(?:(?:what\s+is|what's|what\s+are|compute|calculate|evaluate|find|simplify|expand|factor|"
    r"(?:give|show|tell)\s+me)\b)?"
)
_NOUN = r"(?:the\s+)?(?:(?:value|result)\s+of\s+|binomial\s+coefficient\s+(?:of\s+)?)?"
_MATH_WORDS = {
    "sin",
    "cos",
    "tan",
    "cot",
    "sec",
    "csc",
    "exp",
    "log",
    "ln",
    "sqrt",
    "factorial",
    "pi",
    "abs",
    "binomial",
    "gcd",
    "lcm",
    "floor",
    "ceiling",
    "mod",
    "asin",
    "acos",
    "atan",
    "atan2",
    "sinh",
    "cosh",
    "tanh",
    "asinh",
    "acosh",
    "atanh",
    "arcsin",
    "arccos",
    "arctan",
    "gamma",
    "isprime",
    "prime",
    "fibonacci",
    "cbrt",
    "root",
    "inf",
    "oo",
    "erf",
    "max",
    "min",
    "re",
    "im",
    "sign",
    "rational",
}
_FILLER = {
    "with",
    "given",
    "where",
    "and",
    "then",
    "at",
    "for",
    "when",
    "find",
    "what",
    "what's",
    "is",
    "the",
    "value",
    "of",
    "evaluate",
    "compute",
    "calculate",
    "solve",
    "determine",
    "give",
    "me",
    "initial",
    "condition",
    "conditions",
    "it",
    "if",
    "y",
    "get",
    "point",
}

_INTEGRATE = re.compile(
    rf"^(?:{_VERB}\s*)?(?:the\s+)?(?:definite\s+|improper\s+)?(?:integrate|integral\s+of|antiderivative\s+of|∫)\s*(?P<expr>.+?)"
    rf"(?:\s*(?:d(?P<dvar>[a-z])\b|,?\s+with\s+respect\s+to\s+(?P<wrt>[a-z])))?"
    rf"(?:\s*,?\s+(?:for\s+(?P<bvar>[a-z])\s+)?(?:from|between)\s+(?:(?P<bvar2>[a-z])\s*=\s*)?(?P<lo>{_NUM})"
    rf"\s+(?:to|and)\s+(?:[a-z]\s*=\s*)?(?P<hi>{_NUM})"
    rf"|\s+(?:over|on|in)\s*(?:the\s+interval\s*)?[\[(]\s*(?P<lo2>{_NUM})\s*,\s*(?P<hi2>{_NUM})\s*[\])])?\s*$"
)
_INTEGRAL_FIRST = re.compile(
    rf"^(?:{_VERB}\s*)?(?:the\s+)?(?:definite\s+|improper\s+)?(?:integral|integrate|∫)\s+from\s+(?:(?P<bvar>[a-z])\s*=\s*)?"
    rf"(?P<lo>{_NUM})\s+to\s+(?P<hi>{_NUM})\s+of\s+(?P<expr>.+?)"
    rf"(?:\s*(?:d(?P<dvar>[a-z])\b|,?\s+with\s+respect\s+to\s+(?P<wrt>[a-z])))?\s*$"
)
_DIFF = re.compile(
    rf"^(?:{_VERB}\s*)?(?:the\s+)?(?:(?P<nth>second|third|2nd|3rd)\s+)?(?:derivative\s+of|differentiate|d/d(?P<dd>[a-z]))\s+"
    rf"(?P<expr>.+?)(?:\s+(?:with\s+respect\s+to|wrt|by)\s+(?P<wrt>[a-z]))?"
    rf"(?:\s+at\s+(?P<atvar>[a-z])\s*=\s*(?P<at>{_NUM}))?\s*$"
)
_SOLVE = re.compile(
    r"^(?:please\s+)?(?:solve|find\s+(?:the\s+)?(?:roots?|zeros?)\s+of|roots?\s+of)\s+(?:the\s+(?:system|equations?)\s*:?\s*)?"
    r"(?P<expr>.+?)(?:\s+for\s+(?P<var>[a-z](?:_?\d+)?(?:\s*(?:,|and)\s*[a-z](?:_?\d+)?)*))?\s*$"
)
_ASK = (
    r"(?:what\s+(?:is|are|would\s+be)|what's|whats|find|compute|calculate|determine|solve\s+for|"
    r"give\s+me|how\s+much\s+is)\s+(?:the\s+values?\s+of\s+)?"
)
_SYSTEM_THEN_ASK = re.compile(
    rf"^(?:(?:please\s+)?(?:solve|given|if|suppose|assume|let|when)\s+)?(?:the\s+(?:system|equations?)\s*:?\s*)?"
    rf"(?P<eqs>.+?=.+?)(?:\s*[.;,:]\s*|\s*,?\s+(?:then|so|and)\s+)(?:then\s+)?{_ASK}(?P<ask>[^=]+)$"
)
_ASK_THEN_SYSTEM = re.compile(
    rf"^{_ASK}(?P<ask>[^=]+?)\s*(?::|,|\s+(?:if|given|when|where|such\s+that|from)\b)\s*"
    r"(?:the\s+(?:system|equations?)\s*:?\s*)?(?P<eqs>.+=.+)$"
)
_MATRIX_OPS = r"determinant|det|inverse|inv|eigenvalues|eigenvalue|eigen\s+values|eigenvals|eig|rank|transpose|trace"
_MATRIX = re.compile(
    rf"^(?:{_VERB}\s*)?(?:the\s+)?(?P<op>{_MATRIX_OPS})\b(?:\s+of)?\s*(?:the\s+)?(?:(?:\d\s*x\s*\d|square)\s+)?"
    r"(?:matrix\s*)?(?:[a-z]\s*=\s*)?(?P<m>.+)$"
)
_LINSOLVE = re.compile(
    r"^(?:solve\s+)?(?:ax\s*=\s*b\s+)?(?:with|for|where)?\s*a\s*=\s*(?P<a>\[\[.*\]\])\s*(?:,|and)?\s*b\s*=\s*(?P<b>\[.*?\])\s*$"
)
_ODE_HEAD = re.compile(
    r"^(?:(?:please\s+)?solve\s+)?(?:the\s+)?(?:ode|differential\s+equation|initial[\s-]+value\s+problem|ivp)?\s*:?\s*"
    r"(?:y'|dy\s*/\s*d(?P<iv>[a-z]))(?:\s*\(\s*(?P<iv2>[a-z])\s*\))?\s*=\s*(?P<rest>.+)$"
)
_ODE_CLAUSE_START = re.compile(
    r"\s*(?:[,;:]|\.(?:\s|$))|\s+(?=(?:with|given|where|and|then|at|for|when|find|what|what's|evaluate|"
    r"compute|calculate|solve|if|determine)\b)"
)
_ODE_IC = re.compile(rf"\by\s*\(\s*(?P<t0>{_NUM})\s*\)\s*=\s*(?P<y0>{_NUM})")
_ODE_AT_CALL = re.compile(rf"\by\s*\(\s*(?P<at>{_NUM})\s*\)(?!\s*=)")
_ODE_AT_WORD = re.compile(rf"\b(?:at|for|when|until|to|after)\s+(?:(?P<var>[a-z])\s*=\s*)?(?P<at>{_NUM})(?![\w.])")
_ODE_AT_EQ = re.compile(rf"\b(?P<var>[a-z])\s*=\s*(?P<at>{_NUM})(?![\w.])")
_MINIMIZE = re.compile(
    rf"^(?:(?:find|what\s+is|what's|compute|determine)\s+)?(?:the\s+)?"
    rf"(?P<op>minimi[sz]e|maximi[sz]e|(?:minimum|maximum|smallest|largest|lowest|highest)\s+(?:value\s+)?of)\s+"
    rf"(?:(?:the\s+)?(?:function\s+)?[a-z]\s*\(\s*[a-z]\s*\)\s*=\s*|y\s*=\s*)?(?P<expr>.+?)"
    rf"(?:\s+for\s+(?P<var>[a-z]))?(?:\s+(?:on|over|in|between|from)\s*\[?\s*(?P<lo>{_NUM})\s*(?:,|to|and)\s*(?P<hi>{_NUM})\s*\]?)?\s*$"
)
_FFT = re.compile(
    rf"^(?:{_VERB}\s*)?(?:the\s+)?(?:fft|fourier\s+transform|dft)(?:\s+of)?\s*"
    r"(?:the\s+(?:signal|sequence|list|values|samples|data)\s*)?(?P<list>.+)$"
)
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
_EVAL_PREFIX = re.compile(rf"^{_VERB}\s*{_NOUN}(?P<expr>.+)$")
_LONE_EQUALS = re.compile(r"(?<![<>!=])=(?!=)")


def _num(text: str | None) -> Any:
    """A bound or point: an int/float, ``oo``/``-oo``, or a short expression such as ``pi/2``."""
    if text is None:
        return None
    t = " ".join(text.strip().lower().split())
    mapping = {
        "pi": "pi",
        "-pi": "-pi",
        "e": "E",
        "oo": "oo",
        "inf": "oo",
        "infinity": "oo",
        "-oo": "-oo",
        "-inf": "-oo",
        "-infinity": "-oo",
        "+oo": "oo",
        "+inf": "oo",
        "+infinity": "oo",
    }
    words = re.fullmatch(r"(minus|negative|positive|plus) inf(?:inity)?", t)
    if words:
        return "-oo" if words.group(1) in ("minus", "negative") else "oo"
    if t in mapping:
        return mapping[t]
    try:
        value = float(t)
    except ValueError:
        return t.replace(" ", "")
    return int(value) if value.is_integer() and "." not in t and "e" not in t else value


def _stat_name(word: str) -> str:
    word = re.sub(r"\s+", " ", word)
    return {
        "average": "mean",
        "standard deviation": "std",
        "var": "variance",
        "total": "sum",
        "minimum": "min",
        "maximum": "max",
        "stats": "describe",
        "statistics": "describe",
        "summary": "describe",
    }.get(word, word)


def recognise(text: str, has_csv: bool) -> dict[str, Any] | None:
    """Return a plan for ``text`` or ``None`` when it is not an explicit numerical request."""
    lined = _system_in_lines(text)
    if lined is not None:
        return lined
    raw = normalise(" ".join(text.strip().split()))
    low = _lowered(raw)
    if _ODE_HEAD.match(low):
        return _ode(low, raw)
    worded = (
        binomial_plan(low)
        or inline_statistics_plan(low)
        or area_plan(low, raw)
        or compound_interest_plan(low)
        or percent_change_plan(low)
        or _ode_in_words(low, raw)
    )
    if worded is not None:
        return worded
    for pattern, builder in _BUILDERS:
        match = pattern.match(low)
        if match:
            plan = builder(match, raw)
            if plan is not None:
                return plan
    if _LONE_EQUALS.search(low):
        return _equations(low, raw)
    if has_csv:
        match = _STATS_COL.match(low)
        if match:
            return {
                "op": "statistics",
                "stat": _stat_name(match["stat"]),
                "column": _original_case(raw, match["col"].strip()),
                "file": match["file"],
            }
    match = _EVAL_PREFIX.match(low)
    candidate = _original_case(raw, match["expr"]) if match else raw
    if _looks_like_math(candidate):
        return {
            "op": "evaluate",
            "expression": candidate,
            "simplify": bool(re.match(r"^(simplify|expand|factor)\b", low)),
            "mode": (re.match(r"^(simplify|expand|factor)\b", low) or [None])[0],
        }
    return None


_POLITE_HEAD = re.compile(
    r"^(?:(?:hi|hey|hello)\b[,!]?\s*)?(?:(?:can|could|would|will)\s+you\s+(?:please\s+)?|please\s+|pls\s+|"
    r"i\s+(?:need|want|would\s+like)\s+(?:you\s+)?to\s+|help\s+me\s+)"
)
_POLITE_TAIL = re.compile(r"(?:\s*,?\s*(?:for\s+me|please|pls|thanks|thank\s+you)[.!?]*)+$")
_LIST_MARK = re.compile(r"^(?:\(?\d{1,2}[).:]|\(?[a-h][).:]|[-•*·]|eq(?:uation)?\s*\d*\s*:)\s+", re.I)
_ASK_LINE = re.compile(rf"{_ASK}(?P<ask>[^=]+?)\s*$")


def _system_in_lines(text: str) -> dict[str, Any] | None:
    """Equations one per line, with prose around them (``I have a system:`` ... ``What is z?``).

    Two or more lines that are each one plain equation are the system; the prose may only ask
    for some of its unknowns (or an expression in them). Any other maths in the prose (a
    number, an operator outside the question) means it asks for something else: ``None``.
    """
    lines = [normalise(" ".join(ln.split())) for ln in text.splitlines() if ln.strip()]
    equations: list[str] = []
    prose: list[str] = []
    for line in lines:
        core = _LIST_MARK.sub("", line).rstrip(".,;").strip()
        sides = _LONE_EQUALS.split(core.lower())
        if len(sides) == 2 and all(side.strip() and _mathy(side) for side in sides) and _names(core):
            equations.append(core)
        else:
            prose.append(line)
    if len(equations) < 2:
        return None
    known = set().union(*(_names(e) for e in equations))
    asked: list[str] = []
    for line in prose:
        for sentence in re.split(r"(?<=[.?!:])\s+", line.lower()):
            sentence = sentence.strip().rstrip("?.!:").strip()
            match = _ASK_LINE.search(sentence)
            if match and _mathy(match["ask"]) and _names(match["ask"]) and _names(match["ask"]) <= known:
                asked.extend(a.strip() for a in _split_top(match["ask"].strip(), r"\s*(?:,|\band\b)\s*"))
                continue
            if re.search(r"\d|[+*/^=]", sentence):
                return None  # more maths than "what is z": not just this system
    return {"op": "solve", "equations": equations, "variables": None, "report": asked or None}


def _original_case(raw: str, lowered_piece: str) -> str:
    """Recover the user's capitalisation for a piece found in the lower-cased text."""
    index = raw.lower().find(lowered_piece)
    return raw[index : index + len(lowered_piece)] if index >= 0 else lowered_piece


def _mathy(text: str) -> bool:
    """True when ``text`` is made only of numbers, symbols, operators and known function names."""
    text = text.strip()
    if not text or not re.fullmatch(r"[\w\s+\-*/^().,<>!=%]+", text):
        return False
    return all(w.lower() in _MATH_WORDS for w in re.findall(r"[A-Za-z]{2,}", text))


def _looks_like_math(text: str) -> bool:
    """Heuristic: mostly operators/digits and few words longer than a function name."""
    if _LONE_EQUALS.search(text) or not _mathy(text):
        return False
    return bool(re.search(r"[\d]", text) or re.search(r"[+\-*/^()]", text))


def _names(text: str) -> set[str]:
    """Symbol names in a piece of maths (function names excluded)."""
    return {n for n in re.findall(r"[a-z_][a-z_0-9]*", text.lower()) if n not in _MATH_WORDS and n != "e"}


def _split_top(text: str, separators: str) -> list[str]:
    """Split at the regex ``separators`` only outside parentheses and brackets."""
    parts, depth, start, index = [], 0, 0, 0
    sep = re.compile(separators)
    while index < len(text):
        char = text[index]
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif depth == 0:
            match = sep.match(text, index)
            if match and match.end() > index:
                parts.append(text[start:index])
                start = index = match.end()
                continue
        index += 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def _equation_list(text: str) -> list[str] | None:
    """The equations in ``a = b, c = d and e = f``; None when any piece is not plain maths."""
    pieces = _split_top(text, r"\s*(?:,|;|\band\b)\s*")
    if not pieces or any(len(_LONE_EQUALS.findall(p)) != 1 for p in pieces):
        return None
    for piece in pieces:
        lhs, rhs = _LONE_EQUALS.split(piece)
        if not (_mathy(lhs) and _mathy(rhs)):
            return None
    return pieces


def _integrate(m: re.Match[str], raw: str) -> dict[str, Any] | None:
    var = m["dvar"] or m["wrt"] or m["bvar"] or m.groupdict().get("bvar2")
    lo = m["lo"] if m["lo"] is not None else m.groupdict().get("lo2")
    hi = m["hi"] if m["hi"] is not None else m.groupdict().get("hi2")
    expr = m["expr"].strip()
    if not _mathy(expr):
        return None
    return {
        "op": "integrate",
        "expression": _original_case(raw, expr),
        "variable": var,
        "lower": _num(lo),
        "upper": _num(hi),
    }


def _diff(m: re.Match[str], raw: str) -> dict[str, Any]:
    order = {"second": 2, "2nd": 2, "third": 3, "3rd": 3}.get(m["nth"] or "", 1)
    return {
        "op": "differentiate",
        "expression": _original_case(raw, m["expr"]),
        "variable": m["wrt"] or m["dd"] or m["atvar"],
        "order": order,
        "at": _num(m["at"]),
    }


def _solve(m: re.Match[str], raw: str) -> dict[str, Any] | None:
    expr = m["expr"]
    if "[" in expr:
        return None
    equations = _split_top(expr, r"\s*(?:,|;|\band\b)\s*")
    if not equations or not all(_mathy(e) for e in equations):
        return None
    variables = [v.strip() for v in re.split(r"\s*(?:,|\band\b)\s*", m["var"])] if m["var"] else None
    return {"op": "solve", "equations": [_original_case(raw, e) for e in equations], "variables": variables}


def _system_question(m: re.Match[str], raw: str) -> dict[str, Any] | None:
    """``eqs. What is z?`` / ``find x if eqs``: solve for every unknown, report what was asked."""
    equations = _equation_list(m["eqs"])
    asked = _split_top(m["ask"].strip(), r"\s*(?:,|\band\b)\s*")
    if equations is None or not asked or not all(_mathy(a) for a in asked):
        return None
    known = set().union(*(_names(e) for e in equations))
    if not known or any(not _names(a) or not _names(a) <= known for a in asked):
        return None
    return {
        "op": "solve",
        "equations": [_original_case(raw, e) for e in equations],
        "variables": None,
        "report": [_original_case(raw, a) for a in asked],
    }


def _equations(low: str, raw: str) -> dict[str, Any] | None:
    """Bare equations (``2x + 3 = 11``; ``x + y = 3, x - y = 1``) can only mean 'solve them'."""
    equations = _equation_list(low)
    if equations is None or not set().union(*(_names(e) for e in equations)):
        return None
    return {"op": "solve", "equations": [_original_case(raw, e) for e in equations], "variables": None}


def _matrix(m: re.Match[str], raw: str) -> dict[str, Any] | None:
    op = re.sub(r"\s+", "", m["op"])
    op = {
        "determinant": "det",
        "inv": "inverse",
        "eigenvals": "eigenvalues",
        "eig": "eigenvalues",
        "eigenvalue": "eigenvalues",
    }.get(op, op)
    literal = matrix_literal(m["m"])
    if literal is None:
        return None
    return {"op": "matrix", "matrix_op": op, "matrix": literal}


def _linsolve(m: re.Match[str], raw: str) -> dict[str, Any]:
    return {"op": "matrix", "matrix_op": "solve", "matrix": m["a"], "vector": m["b"]}


_ODE_ANYWHERE = re.compile(
    r"(?:\bd(?P<dep>[a-z])\s*/\s*d(?P<iv>[a-z])|(?<![\w'])(?P<dep2>[a-z])')\s*(?:\(\s*[a-z]\s*\))?\s*="
)
_TIME_UNITS = re.compile(r"\b(second|minute|hour|day|week|month|year)s?\b")
# in a word problem the context may say anything, but not ask for something other than the value
_ODE_OTHER_ASK = {
    "when", "time", "long", "maximum", "minimum", "max", "min", "rate", "derivative", "half", "double",
    "doubles", "doubling", "equilibrium", "steady", "limit", "inflection", "average", "mean", "total",
    "integral", "area", "percent", "percentage", "fraction", "general", "formula", "closed", "expression",
    "plot", "graph", "table", "grow", "grows", "growth", "increase", "decrease", "change", "difference",
    "times", "per", "each", "every", "peak", "reach", "reaches", "exceed", "exceeds", "than",
}  # fmt: skip


def _lowered(raw: str) -> str:
    """The lower-cased request without its trailing mark or polite frame."""
    low = raw.lower().rstrip("?.!").strip()
    return _POLITE_TAIL.sub("", _POLITE_HEAD.sub("", low)).strip()  # "can you ... for me?" asks for the same


def _ode_in_words(low: str, raw: str) -> dict[str, Any] | None:
    """An ODE inside a sentence: ``A culture follows dN/dt = 0.5 N (1 - N/1000) with N(0) = 10 ...``.

    The unknown function may have any one-letter name (it becomes ``y``); the context may
    carry any words, but a value must be asked at one point, in one unit of time, and no word
    may ask for something else (when it doubles, its maximum, its rate...).
    """
    found = _ODE_ANYWHERE.search(low)
    if found is None or found.start() == 0:
        return None
    dep = found["dep"] or found["dep2"]
    name = "y"
    before = low[: found.start()]
    if re.search(r"[\d=]", before) or len(set(_TIME_UNITS.findall(low))) > 1:
        return None
    if dep != "y":
        if re.search(r"(?<![\w'])y(?![\w'])", low):
            return None
        in_raw = _ODE_ANYWHERE.search(raw.lower())
        if in_raw is None:
            return None
        name = raw[in_raw.start("dep") if in_raw["dep"] else in_raw.start("dep2")]
        if name.lower() == (in_raw["iv"] or "") and name == raw[in_raw.start("iv")]:
            return None  # dT/dt written as dt/dt: the function and the variable cannot be told apart
        rename = re.compile(rf"(?<![\w']){name}(?![\w])|(?<=\bd){name}(?=\s*/)")
        raw = rename.sub("y", raw)
        low = _lowered(raw)
        found = _ODE_ANYWHERE.search(low)
        if found is None:
            return None
        before = low[: found.start()]
    start = found.start()
    sentence = low[start:] + " , " + before
    original = raw[raw.lower().find(low[start:]) :] if raw.lower().find(low[start:]) >= 0 else raw
    plan = _ode(sentence, original + " , " + before, relaxed=True)
    if plan is not None and dep != "y":
        plan["function"] = name
    return plan


def _ode(low: str, raw: str, *, relaxed: bool = False) -> dict[str, Any] | None:
    """``y' = f, y(t0) = y0`` plus an optional point (``at x=1``, ``what is y(3)``).

    The right-hand side ends at the first clause break; every other clause must be the initial
    condition, the point, or filler words, otherwise this is not a request it understands.
    """
    head = _ODE_HEAD.match(low)
    if head is None:
        return None
    rest = head["rest"]
    depth, end = 0, len(rest)
    for index, char in enumerate(rest):
        depth += char in "(["
        depth -= char in ")]"
        if depth == 0 and _ODE_CLAUSE_START.match(rest, index):
            end = index
            break
    rhs, tail = rest[:end].strip(), rest[end:]
    rhs = re.sub(r"\by\s*\(\s*[a-z]\s*\)", "y", rhs)
    if not _mathy(rhs):
        return None
    ics = _ODE_IC.findall(tail)
    if len(set(ics)) != 1:
        return None
    tail = _ODE_IC.sub(" ", tail)
    points: list[tuple[str | None, str]] = []
    for pattern in (_ODE_AT_CALL, _ODE_AT_WORD, _ODE_AT_EQ):
        for found in pattern.finditer(tail):
            points.append((found.groupdict().get("var"), found["at"]))
        tail = pattern.sub(" ", tail)
    leftover = [w for w in re.findall(r"[a-z']+", tail) if w not in _FILLER]
    if relaxed:
        if not points or _ODE_OTHER_ASK.intersection(leftover):
            return None
        leftover = []
    if leftover or len({p for _, p in points}) > 1 or any(v == "y" for v, _ in points):
        return None
    at_var = next((v for v, _ in points if v), None)
    declared = head["iv"] or head["iv2"]
    if at_var and declared and at_var != declared:
        return None
    names = _names(rhs) - {"y"}
    variable = declared or at_var or ("x" if "x" in names else "t")
    if names - {variable}:
        return None
    t0, y0 = ics[0]
    return {
        "op": "ode",
        "expression": _original_case(raw, rhs),
        "variable": variable,
        "t0": _num(t0),
        "y0": _num(y0),
        "at": _num(points[0][1]) if points else None,
    }


def _minimize(m: re.Match[str], raw: str) -> dict[str, Any]:
    goal = "maximize" if m["op"].startswith(("maxim", "largest", "highest")) else "minimize"
    return {
        "op": "minimize",
        "goal": goal,
        "expression": _original_case(raw, m["expr"]),
        "variable": m["var"],
        "lower": _num(m["lo"]),
        "upper": _num(m["hi"]),
    }


def _fft(m: re.Match[str], raw: str) -> dict[str, Any]:
    return {"op": "fft", "values": _list_text(m["list"])}


def _stats_list(m: re.Match[str], raw: str) -> dict[str, Any]:
    return {"op": "statistics", "stat": _stat_name(m["stat"]), "values": _list_text(m["list"])}


def _list_text(text: str) -> str:
    text = text.strip()
    return text if text.startswith("[") else f"[{text}]"


_BUILDERS: list[tuple[re.Pattern[str], Any]] = [
    (_INTEGRAL_FIRST, _integrate),
    (_INTEGRATE, _integrate),
    (_DIFF, _diff),
    (_LINSOLVE, _linsolve),
    (_MATRIX, _matrix),
    (_FFT, _fft),
    (_MINIMIZE, _minimize),
    (_STATS_LIST, _stats_list),
    (_SYSTEM_THEN_ASK, _system_question),
    (_ASK_THEN_SYSTEM, _system_question),
    (_SOLVE, _solve),
]
