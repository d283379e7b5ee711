"""Recognise three everyday word problems exactly, without a model.

People ask these constantly and the planner model gets them wrong in ways retries do not fix
(it takes the population spread for the sample one, writes ``C(n, k)`` without ``p**k``, or
subtracts the curves the wrong way round):

- a statistic of numbers written in the text ("readings: 4.1 3.9 4.4 ... what is the sample
  standard deviation?");
- a binomial probability ("flip a fair coin 10 times, probability of exactly 3 heads");
- the area between two curves, or under one ("the area enclosed by y = x^2 and y = 2x");
- compound interest ("5,000 at 3.2% a year, compounded monthly, after 7 years") and a
  percentage change ("went from 84,000 to 97,500: by what percentage did it grow?").

Each recogniser returns a plan only when every number in the text has a role and no word asks
for something else (excluding values, "in a row", a weighted mean...); anything it is unsure
of goes to the model, as before.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

__all__ = [
    "area_plan",
    "binomial_plan",
    "compound_interest_plan",
    "inline_statistics_plan",
    "percent_change_plan",
]

_NUMBER = r"[-+]?(?:\d+(?:\.\d+)?|\.\d+)"
_NUMBER_RE = re.compile(rf"(?<![\w.]){_NUMBER}(?!\w|\.\d)")

# ---------------------------------------------------------------------------------------------
# a statistic of numbers written in the text

_RUN = re.compile(rf"(?<![\w.]){_NUMBER}(?:(?:\s*[,;]\s*|\s+(?:and\s+)?|\s*,\s*and\s+){_NUMBER}){{2,}}(?!\w|\.\d)")
_STAT_WORDS = [
    (r"\b(?:standard\s+deviation|std\.?\s*dev|stdev|std|s\.d\.)", "std"),
    (r"\bvariance\b", "variance"),
    (r"\b(?:mean|average|avg)\b", "mean"),
    (r"\bmedian\b", "median"),
    (r"\b(?:sum|total)\b", "sum"),
    (r"\b(?:minimum|lowest|smallest|min)\b", "min"),
    (r"\b(?:maximum|highest|largest|biggest|max)\b", "max"),
]
_POPULATION = re.compile(r"\bpopulation\b|\bwhole\s+population\b|\bdivid\w*\s+by\s+n\b(?!\s*-)")
_SAMPLE = re.compile(r"\bsample\b|\bn\s*-\s*1\b|\bbessel")
# words that change what is asked: a filter, a transform or another statistic
_OTHER_ASK = re.compile(
    r"\b(?:weight\w*|moving|rolling|running|cumulative|exclud\w*|except|without|remov\w*|ignor\w*|drop\w*|"
    r"outliers?|percent\w*|%|quartiles?|iqr|percentiles?|trimmed|geometric|harmonic|mode|range|z-?scores?|"
    r"confidence|interval|probability|chance|predict\w*|regression|correlat\w*|trend|growth|change|"
    r"difference|differ|ratio|per|if|after|before|above|below|over|under|greater|less|more|fewer|"
    r"between|first|last|top|bottom|each|every|squared|squares|absolute|log\w*|normali[sz]\w*|"
    r"round\w*|convert\w*|expected|coefficient|error|skew\w*|kurtosis|mad|deviations)\b"
)


def inline_statistics_plan(low: str) -> dict[str, Any] | None:
    """A ``statistics`` plan for one statistic of one list of numbers written in the text."""
    runs = list(_RUN.finditer(low))
    if len(runs) != 1:
        return None
    run = runs[0]
    values = _NUMBER_RE.findall(run.group(0))
    rest = low[: run.start()] + " " + low[run.end() :]
    others = [n for n in _NUMBER_RE.findall(rest) if n.lstrip("+-") != str(len(values))]
    if others or "=" in low:
        return None
    asked = {stat for pattern, stat in _STAT_WORDS if re.search(pattern, rest)}
    if len(asked) != 1:
        return None
    without_stat = rest
    for pattern, _ in _STAT_WORDS:
        without_stat = re.sub(pattern, " ", without_stat)
    if _OTHER_ASK.search(without_stat):
        return None
    stat = asked.pop()
    if stat in ("std", "variance") and _POPULATION.search(rest):
        if _SAMPLE.search(rest.replace("population", "")):
            return None  # both named: unclear
        stat = "pstd" if stat == "std" else "pvariance"
    return {"op": "statistics", "stat": stat, "values": "[" + ", ".join(values) + "]"}


# ---------------------------------------------------------------------------------------------
# a binomial probability

_TRIAL_NOUNS = (
    r"times|flips|tosses|rolls|throws|trials|tries|attempts|shots|draws|spins|games|matches|rounds|"
    r"independent\s+\w+|coins|dice|people|patients|customers|items|parts|questions|births|children|seeds|bulbs"
)
_TRIALS = re.compile(rf"(?<![\w.])(?P<n>\d+)\s+(?:fair\s+)?(?:{_TRIAL_NOUNS})\b")
_TRIALS_N = re.compile(r"\bn\s*=\s*(?P<n>\d+)\b")
_COUNT = re.compile(
    r"\b(?P<how>exactly|at\s+least|at\s+most|no\s+more\s+than|no\s+fewer\s+than|no\s+less\s+than|"
    r"more\s+than|fewer\s+than|less\s+than|over|under)\s+(?P<k>\d+)\b"
)
_PERCENT = re.compile(r"(?<![\w.])(?P<p>\d+(?:\.\d+)?)\s*(?:%|percent\b)")
_DECIMAL_P = re.compile(
    r"(?:\bp\s*=\s*|probability\s+(?:of\s+\w+\s+)?(?:is\s+|of\s+)?)(?P<p>0?\.\d+|1(?:\.0+)?|0)(?!\w|\.\d)"
    r"|(?<![\w.])(?P<p2>0?\.\d+)\s+(?:probability|chance)\b"
)
_FRACTION_P = re.compile(r"(?:\bp\s*=\s*|probability\s+(?:of\s+\w+\s+)?(?:is\s+|of\s+)?)(?P<a>\d+)\s*/\s*(?P<b>\d+)\b")
_COIN = re.compile(r"\b(?:fair|unbiased)\s+coins?\b|\bcoins?\b.*\bfair\b")
_DIE = re.compile(r"\b(?:fair\s+|six-sided\s+|standard\s+|regular\s+)*(?:die|dice)\b")
_DIE_FACE = re.compile(
    r"\b(?:a|an|the)?\s*(?:six|6|one|1|two|2|three|3|four|4|five|5|sixes|ones|twos|threes|fours|fives)(?:s|es)?\b"
)
_BINOMIAL_BLOCK = re.compile(
    r"\b(?:in\s+a\s+row|consecutive|straight|run|streak|before|until|first|last|without\s+replacement|"
    r"expected|expectation|mean|average|variance|given|conditional|sum|total|both|either|neither|"
    r"odds|ratio|and\s+(?:exactly|at\s+least|at\s+most)|deck|cards?|urn|balls?|marbles?|poisson|normal)\b"
)


_NUMBER_WORDS = {
    w: str(i)
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
        "seventeen eighteen nineteen twenty".split()
    )
}
_NUMBER_WORD = re.compile(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b")


def binomial_plan(low: str) -> dict[str, Any] | None:
    """A ``binomial`` plan: n independent trials with success probability p, k successes asked.

    Counts may be words ("at least one six in four rolls").
    """
    low = _NUMBER_WORD.sub(lambda m: _NUMBER_WORDS[m.group(1)], low)
    if not re.search(r"\b(?:probability|chance|likelihood|likely)\b", low) or _BINOMIAL_BLOCK.search(low):
        return None
    counts = list(_COUNT.finditer(low))
    if len(counts) != 1:
        return None
    trials = [t for t in _TRIALS.finditer(low) if t.start("n") != counts[0].start("k")]
    trials = trials or list(_TRIALS_N.finditer(low))
    if len(counts) != 1 or len({t["n"] for t in trials}) != 1:
        return None
    n, k = int(trials[0]["n"]), int(counts[0]["k"])
    used = [(m.start("n"), m.end("n")) for m in trials] + [(counts[0].start("k"), counts[0].end("k"))]
    p: Fraction | None = None
    for pattern in (_PERCENT, _DECIMAL_P, _FRACTION_P):
        found = list(pattern.finditer(low))
        if found:
            if p is not None or len(found) != 1:
                return None
            m = found[0]
            if pattern is _PERCENT:
                p = Fraction(m["p"]) / 100
                used.append((m.start("p"), m.end("p")))
            elif pattern is _DECIMAL_P:
                group = "p" if m["p"] is not None else "p2"
                p = Fraction(m[group])
                used.append((m.start(group), m.end(group)))
            else:
                p = Fraction(int(m["a"]), int(m["b"]))
                used.append((m.start("a"), m.end("b")))
    if p is None:
        if _COIN.search(low) and not _DIE.search(low):
            p = Fraction(1, 2)
        elif _DIE.search(low) and not re.search(r"\bcoins?\b", low):
            if re.search(r"\b(?:even|odd)\b", low):
                p = Fraction(1, 2)
            elif _DIE_FACE.search(low[counts[0].end() :]):
                p = Fraction(1, 6)
    if p is None or not 0 <= p <= 1 or k > n or n > 100_000:
        return None
    for number in _NUMBER_RE.finditer(low):
        if not any(a <= number.start() < b for a, b in used):
            die_face = _DIE.search(low) and number.group(0) in "123456" and number.start() > counts[0].end()
            if not die_face:
                return None  # a number with no role: another condition the recogniser does not model
    how = " ".join(counts[0]["how"].split())
    relation = {
        "exactly": "==",
        "at least": ">=",
        "no fewer than": ">=",
        "no less than": ">=",
        "at most": "<=",
        "no more than": "<=",
        "more than": ">",
        "over": ">",
        "fewer than": "<",
        "less than": "<",
        "under": "<",
    }[how]
    return {"op": "binomial", "trials": n, "successes": k, "relation": relation, "p": str(p)}


# ---------------------------------------------------------------------------------------------
# the area between two curves, or under one

_CURVE = r"(?:the\s+)?(?:curves?|parabola|line|graphs?|functions?|straight\s+line|hyperbola)?\s*(?:of\s+)?"
_BOUNDS = (
    rf"(?:\s*,?\s+(?:for\s+)?(?:from|between|over)\s+x\s*=\s*(?P<lo>{_NUMBER})"
    rf"\s+(?:to|and)\s+x\s*=\s*(?P<hi>{_NUMBER}))?"
)
_AREA_BETWEEN = re.compile(
    r"^(?:find|compute|calculate|determine|what\s+is|what's|give\s+me)?\s*(?:the\s+)?(?:total\s+)?area\s+"
    r"(?:of\s+the\s+region\s+|of\s+the\s+(?:finite\s+)?region\s+)?(?:that\s+is\s+|which\s+is\s+)?"
    r"(?:enclosed|bounded|between|contained|trapped)\s+(?:by\s+|between\s+)?"
    rf"{_CURVE}y\s*=\s*(?P<f>.+?)\s*,?\s+and\s+{_CURVE}(?:y\s*=\s*(?P<g>.+?)|(?P<axis>the\s+x-?\s*axis|x-?\s*axis)){_BOUNDS}\s*$"
)
_AREA_UNDER = re.compile(
    r"^(?:find|compute|calculate|determine|what\s+is|what's|give\s+me)?\s*(?:the\s+)?area\s+(?:under|below|beneath)\s+"
    rf"{_CURVE}y\s*=\s*(?P<f>.+?)(?:\s*,?\s+(?:and\s+)?above\s+the\s+x-?\s*axis)?"
    rf"\s*,?\s+(?:for\s+)?(?:from|between|over)\s+x\s*=\s*(?P<lo>{_NUMBER})\s+(?:to|and)\s+x\s*=\s*(?P<hi>{_NUMBER})\s*$"
)


def area_plan(low: str, original: str) -> dict[str, Any] | None:
    """An ``area`` plan: the unsigned area between ``y = f`` and ``y = g`` (or the x-axis)."""
    text = low.rstrip("?.! ")
    match = _AREA_BETWEEN.match(text) or _AREA_UNDER.match(text)
    if match is None:
        return None
    groups = match.groupdict()
    lower = groups.get("lo")
    upper = groups.get("hi")
    f = _original(original, match.group("f"))
    g = _original(original, groups["g"]) if groups.get("g") else "0"
    if not f.strip() or not g.strip():
        return None
    return {
        "op": "area",
        "expression": f,
        "other": g,
        "variable": "x",
        "lower": _bound(lower),
        "upper": _bound(upper),
    }


def _bound(text: str | None) -> int | float | None:
    if text is None:
        return None
    value = float(text)
    return int(value) if value.is_integer() and "." not in text else value


def _original(original: str, piece: str) -> str:
    """``piece`` as the user wrote it (case matters for names such as ``E``)."""
    index = original.lower().find(piece)
    return original[index : index + len(piece)] if index >= 0 else piece


# ---------------------------------------------------------------------------------------------
# compound interest and percentage change

_MONEY = r"[$€£]?\s?(?P<{name}>\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?|\d+(?:\.\d+)?)(?P<{name}k>\s?k\b)?"
_PERIODS = {
    "annually": 1,
    "yearly": 1,
    "annual": 1,
    "semi-annually": 2,
    "semiannually": 2,
    "twice a year": 2,
    "quarterly": 4,
    "monthly": 12,
    "weekly": 52,
    "daily": 365,
    "continuously": 0,
}
_COMPOUNDED = re.compile(r"\bcompound(?:ed|ing)?\s+(?P<how>" + "|".join(_PERIODS) + r")\b")
_RATE = re.compile(r"(?<![\w.])(?P<r>\d+(?:\.\d+)?)\s*%")
_YEARS = re.compile(r"(?<![\w.])(?P<t>\d+(?:\.\d+)?)\s*(?P<unit>years?|months?)\b")
_INTEREST_BLOCK = re.compile(
    r"\b(?:deposit\w*|contribut\w*|add(?:s|ing)?\s+\d|each\s+month|every\s+month|per\s+month\s+(?:into|deposit)|"
    r"withdraw\w*|inflation|tax\w*|fee|fees|how\s+long|when|double|triple|rate\s+(?:needed|required)|"
    r"loan|mortgage|repay\w*|payment|installments?|simple\s+interest|real)\b"
)


def compound_interest_plan(low: str) -> dict[str, Any] | None:
    """A ``compound_interest`` plan: principal, yearly rate, compoundings a year, years."""
    how = list(_COMPOUNDED.finditer(low))
    if len(how) != 1 or _INTEREST_BLOCK.search(low):
        return None
    rates, times = list(_RATE.finditer(low)), list(_YEARS.finditer(low))
    if len(rates) != 1 or len(times) != 1:
        return None
    used = [(rates[0].start("r"), rates[0].end("r")), (times[0].start("t"), times[0].end("t"))]
    principal = None
    for m in re.finditer(_MONEY.format(name="p"), low):
        if any(a <= m.start("p") < b for a, b in used):
            continue
        if principal is not None:
            return None  # two amounts: which one is invested?
        principal = m
    if principal is None:
        return None
    years = float(times[0]["t"]) / (12 if times[0]["unit"].startswith("month") else 1)
    amount = _amount(principal, "p")
    asks_interest = bool(re.search(r"\bhow\s+much\s+interest\b|\binterest\s+(?:earned|gained|will|would)\b", low))
    return {
        "op": "compound_interest",
        "principal": amount,
        "rate_percent": float(rates[0]["r"]),
        "per_year": _PERIODS[how[0]["how"]],
        "years": years,
        "report": "interest" if asks_interest else "balance",
    }


_CHANGE_ASK = re.compile(
    r"\b(?:by\s+)?what\s+percent(?:age)?\b|\bpercent(?:age)?\s+(?:change|increase|decrease|growth|rise|drop|fall|decline)\b|"
    r"\bhow\s+many\s+percent\b"
)
_FROM_TO = re.compile(rf"\bfrom\s+{_MONEY.format(name='a')}.{{0,30}}?\bto\s+{_MONEY.format(name='b')}")
_CHANGE_BLOCK = re.compile(
    r"\b(?:per\s+year|annual\w*|a\s+year|each\s+year|cagr|compound\w*|average|mean|per\s+month)\b"
)


def percent_change_plan(low: str) -> dict[str, Any] | None:
    """A ``percent_change`` plan: ``(new - old) / old * 100`` for "from A to B, by what percentage"."""
    if not _CHANGE_ASK.search(low) or _CHANGE_BLOCK.search(low):
        return None
    spans = list(_FROM_TO.finditer(low))
    if len(spans) != 1:
        return None
    m = spans[0]
    numbers = [n for n in _NUMBER_RE.finditer(low.replace(",", "")) if n.group(0).strip("+-")]
    if len(numbers) != 2:
        return None  # a third number (a period, a count) changes the question
    old, new = _amount(m, "a"), _amount(m, "b")
    if old == 0:
        return None
    return {"op": "percent_change", "old": old, "new": new}


def _amount(match: re.Match[str], name: str) -> float:
    """An amount as written: thousands separators dropped, ``k`` multiplied out."""
    return float(match[name].replace(",", "")) * (1000 if match[name + "k"] else 1)
