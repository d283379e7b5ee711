"""Executors for the word problems of :mod:`num_words`: probability, area, interest, change.

Both compute exactly with sympy where they can and say how: the answer shows the formula with
the task's numbers, so a reader can check what was understood.
"""

from __future__ import annotations

from fractions import Fraction
from math import comb
from typing import Any

from num_parse import parse
from switchboard_runtime.api import Result, SpecialistError

__all__ = ["area", "binomial", "compound_interest", "percent_change"]

_RELATIONS = {
    "==": lambda i, k: i == k,
    ">=": lambda i, k: i >= k,
    "<=": lambda i, k: i <= k,
    ">": lambda i, k: i > k,
    "<": lambda i, k: i < k,
}


def binomial(plan: dict[str, Any]) -> Result:
    """P(X rel k) for X ~ Binomial(n, p), as an exact fraction and a decimal."""
    try:
        n, k = int(plan["trials"]), int(plan["successes"])
        p = Fraction(str(plan["p"]))
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        raise SpecialistError(
            "bad_input", "A binomial probability needs whole 'trials' and 'successes' and 'p'."
        ) from None
    relation = str(plan.get("relation") or "==")
    if relation not in _RELATIONS:
        raise SpecialistError("bad_input", f"Unknown comparison {relation!r}; use one of {', '.join(_RELATIONS)}.")
    if not (0 <= k <= n <= 100_000 and 0 <= p <= 1):
        raise SpecialistError("bad_input", f"Need 0 <= successes <= trials and 0 <= p <= 1; got n={n}, k={k}, p={p}.")
    keep = _RELATIONS[relation]
    total = sum(
        (comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(n + 1) if keep(i, k)),
        Fraction(0),
    )
    value = float(total)
    shown = "=" if relation == "==" else relation
    exact = f"{total.numerator}/{total.denominator}" if total.denominator != 1 else str(total.numerator)
    short = exact if len(exact) <= 40 else f"{value:.12g}"
    return Result(
        answer=f"P(X {shown} {k}) = {short} ≈ {value:.10g} (binomial: n = {n} trials, p = {p} per trial)",
        data={"value": value, "exact": exact, "trials": n, "successes": k, "p": float(p), "relation": relation},
        operation_kind="python",
        operation_text=f"sum(comb({n}, i) * p**i * (1-p)**({n}-i) for i {relation} {k}), p = {p}",
    )


def area(plan: dict[str, Any]) -> Result:
    """The unsigned area between ``y = expression`` and ``y = other`` (the x-axis when 0).

    Without bounds the region is the one the curves enclose: from their first to their last
    real crossing. The difference is integrated piece by piece between crossings, so parts
    where the curves swap sides add instead of cancelling.
    """
    import sympy

    x = sympy.Symbol(str(plan.get("variable") or "x"), real=True)
    f = parse(str(plan["expression"]), {x.name: x})
    g = parse(str(plan.get("other") or "0"), {x.name: x})
    diff = sympy.simplify(f - g)
    if diff.free_symbols - {x}:
        names = ", ".join(sorted(str(s) for s in diff.free_symbols - {x}))
        raise SpecialistError("bad_input", f"The curves use other names ({names}); only {x} may vary.")
    lower, upper = plan.get("lower"), plan.get("upper")
    crossings = _crossings(diff, x, lower, upper)
    if lower is None or upper is None:
        if len(crossings) < 2:
            raise SpecialistError(
                "bad_input",
                "The curves do not cross twice, so they enclose no finite region; give bounds such as "
                "'from x = 0 to x = 2'.",
            )
        lo, hi = crossings[0], crossings[-1]
    else:
        lo, hi = sympy.Rational(str(lower)), sympy.Rational(str(upper))
        if lo > hi:
            lo, hi = hi, lo
    cuts = [lo, *[c for c in crossings if lo < c < hi], hi]
    total = sympy.Integer(0)
    for a, b in zip(cuts, cuts[1:], strict=False):
        piece = sympy.integrate(diff, (x, a, b))
        if piece.has(sympy.Integral):
            from scipy.integrate import quad

            fn = sympy.lambdify(x, diff, "math")
            piece = sympy.Float(quad(fn, float(a), float(b))[0])
        total += sympy.Abs(piece)
    total = sympy.simplify(total)
    value = float(total)
    other = "the x-axis" if str(plan.get("other") or "0") == "0" else f"y = {g}"
    exact = str(total) if not total.has(sympy.Float) else f"{value:.15g}"
    shown = f"{exact} ≈ {value:.10g}" if len(exact) <= 40 and exact != f"{value:.10g}" else f"{value:.10g}"
    span = f"{_short(lo)} to {_short(hi)}"
    return Result(
        answer=f"area = {shown} (between y = {f} and {other}, x from {span})",
        data={"value": value, "exact": exact, "lower": str(lo), "upper": str(hi)},
        operation_kind="sympy",
        operation_text=f"sum |integrate({diff}, ({x}, a, b))| over [{lo}, {hi}] split at {cuts[1:-1]}",
    )


def _crossings(diff: Any, x: Any, lower: Any, upper: Any) -> list[Any]:
    """Real x where the curves meet, sorted; numerically when sympy cannot solve exactly."""
    import sympy

    try:
        roots = [r for r in sympy.solve(sympy.Eq(diff, 0), x) if r.is_real]
    except (NotImplementedError, ValueError, TypeError):
        roots = []
    if not roots and lower is not None and upper is not None:
        import numpy

        fn = sympy.lambdify(x, diff, "numpy")
        grid = numpy.linspace(float(lower), float(upper), 2001)
        ys = fn(grid)
        for a, b, ya, yb in zip(grid, grid[1:], ys, ys[1:], strict=False):
            if ya == 0 or ya * yb < 0:
                roots.append(sympy.nsimplify(float(sympy.nsolve(diff, x, (a + b) / 2))))
    return sorted(set(roots), key=float)


def _short(value: Any) -> str:
    """A bound as a reader wants it: exact when short, else a decimal."""
    text = str(value)
    return text if len(text) <= 12 and "/" not in text else f"{float(value):.6g}"


def compound_interest(plan: dict[str, Any]) -> Result:
    """``P (1 + r/n)^(n t)``, or ``P e^(r t)`` when compounded continuously (``per_year`` 0)."""
    import math

    try:
        principal, rate = float(plan["principal"]), float(plan["rate_percent"]) / 100
        per_year, years = int(plan["per_year"]), float(plan["years"])
    except (KeyError, TypeError, ValueError):
        raise SpecialistError(
            "bad_input", "Compound interest needs principal, rate_percent, per_year and years."
        ) from None
    if principal < 0 or years < 0 or per_year < 0 or rate <= -1:
        raise SpecialistError("bad_input", "Principal, years and compoundings a year must not be negative.")
    if per_year == 0:
        balance = principal * math.exp(rate * years)
        formula = f"{principal:g} * e^({rate:g} * {years:g})"
    else:
        balance = principal * (1 + rate / per_year) ** (per_year * years)
        formula = f"{principal:g} * (1 + {rate:g}/{per_year})^({per_year} * {years:g})"
    interest = balance - principal
    wanted = interest if plan.get("report") == "interest" else balance
    what = "interest earned" if plan.get("report") == "interest" else "balance"
    return Result(
        answer=(
            f"{what} = {wanted:.2f} (exactly {wanted:.10g}; balance {balance:.2f} = {formula}, interest {interest:.2f})"
        ),
        data={"value": wanted, "balance": balance, "interest": interest},
        operation_kind="python",
        operation_text=formula,
    )


def percent_change(plan: dict[str, Any]) -> Result:
    """``(new - old) / old * 100``."""
    try:
        old, new = float(plan["old"]), float(plan["new"])
    except (KeyError, TypeError, ValueError):
        raise SpecialistError("bad_input", "A percentage change needs 'old' and 'new' numbers.") from None
    if old == 0:
        raise SpecialistError("bad_input", "A change from 0 has no percentage.")
    change = (new - old) / abs(old) * 100
    word = "increase" if change >= 0 else "decrease"
    return Result(
        answer=f"{change:.10g} % ({word} from {old:g} to {new:g}: ({new:g} - {old:g}) / {abs(old):g} * 100)",
        data={"value": change, "old": old, "new": new},
        operation_kind="python",
        operation_text=f"({new:g} - {old:g}) / {abs(old):g} * 100",
    )
