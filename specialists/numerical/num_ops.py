"""Executors for numerical plans; numpy/scipy/sympy are imported inside each call.

Every executor returns a :class:`Result` with a readable ``answer``, ``data.value`` (a number
when there is one, exact big integers kept as ``int``) and the operation it ran.
"""

from __future__ import annotations

from typing import Any

from num_parse import literal_list, parse, parse_equation
from num_word_ops import area, binomial, compound_interest, percent_change
from switchboard_runtime.api import Result, SpecialistError

__all__ = ["EXECUTORS"]


def _value(expr: Any) -> Any:
    """A JSON-friendly value for a sympy result: exact int, float, or the expression text."""
    import sympy

    if isinstance(expr, sympy.Integer):
        return int(expr)
    if getattr(expr, "is_number", False) and expr.is_real:
        try:
            return float(expr.evalf(17))
        except (TypeError, ValueError):
            return str(expr)
    if getattr(expr, "is_number", False):
        c = complex(expr.evalf(17))
        return {"re": c.real, "im": c.imag}
    return str(expr)


def _show(expr: Any) -> str:
    """Exact form, plus a decimal when the exact form is not already a plain number."""
    import sympy

    text = str(expr)
    if isinstance(expr, sympy.Integer) or not getattr(expr, "is_number", False):
        return text
    if all(isinstance(part, sympy.Integer) for part in expr.as_real_imag()):
        return text  # I, 2 - 3*I: a decimal would add nothing
    decimal = sympy.N(expr, 15)
    dec_text = str(decimal).rstrip("0").rstrip(".") if "." in str(decimal) else str(decimal)
    return text if dec_text == text else f"{text} ≈ {dec_text}"


def _symbol(name: str | None, expr: Any) -> Any:
    import sympy

    if name:
        return sympy.Symbol(name)
    free = sorted(expr.free_symbols, key=lambda s: s.name)
    if not free:
        return sympy.Symbol("x")
    for preferred in ("x", "t", "y", "z"):
        for sym in free:
            if sym.name == preferred:
                return sym
    return free[0]


def _bound(value: Any) -> Any:
    return None if value is None else parse(str(value))


def evaluate(plan: dict[str, Any]) -> Result:
    import sympy

    expr = parse(plan["expression"])
    mode = plan.get("mode")
    if mode == "expand":
        expr = sympy.expand(expr)
    elif mode == "factor":
        expr = sympy.factor(expr)
    elif expr.free_symbols or plan.get("simplify"):
        expr = sympy.simplify(expr)
    if expr.has(sympy.zoo, sympy.nan):
        raise SpecialistError("bad_input", f"{plan['expression']} is undefined (division by zero?).")
    return Result(
        answer=_show(expr),
        data={"value": _value(expr), "exact": str(expr)},
        operation_kind="sympy",
        operation_text=f"simplify({plan['expression']})" if expr.free_symbols else str(plan["expression"]),
    )


def integrate(plan: dict[str, Any]) -> Result:
    import sympy

    expr = parse(plan["expression"])
    var = _symbol(plan.get("variable"), expr)
    lo, hi = _bound(plan.get("lower")), _bound(plan.get("upper"))
    if (lo is None) != (hi is None):
        raise SpecialistError("bad_input", "A definite integral needs both a lower and an upper bound.")
    if lo is None:
        result = sympy.integrate(expr, var)
        op = f"integrate({expr}, {var})"
        return Result(answer=f"{result} + C", data={"value": str(result)}, operation_kind="sympy", operation_text=op)
    op = f"integrate({expr}, ({var}, {lo}, {hi}))"
    result = sympy.integrate(expr, (var, lo, hi))
    if isinstance(result, sympy.Integral) or result.has(sympy.Integral):
        from scipy import integrate as sp_integrate

        fn = sympy.lambdify(var, expr, "numpy")
        value, err = sp_integrate.quad(fn, float(lo), float(hi), limit=200)
        return Result(
            answer=f"{value:.12g} (numerical, error ≤ {err:.1e})",
            data={"value": value, "error_estimate": err},
            operation_kind="scipy",
            operation_text=f"quad({expr}, {lo}, {hi})",
        )
    if result.has(sympy.oo, -sympy.oo, sympy.zoo, sympy.nan):
        sign = "+∞" if result == sympy.oo else "-∞" if result == -sympy.oo else "undefined"
        return Result(
            answer=f"The integral diverges ({sign}).",
            data={"value": None, "exact": str(result)},
            operation_kind="sympy",
            operation_text=op,
        )
    return Result(
        answer=_show(result),
        data={"value": _value(result), "exact": str(result)},
        operation_kind="sympy",
        operation_text=op,
    )


def differentiate(plan: dict[str, Any]) -> Result:
    import sympy

    expr = parse(plan["expression"])
    var = _symbol(plan.get("variable"), expr)
    order = int(plan.get("order") or 1)
    if not 1 <= order <= 10:
        raise SpecialistError("bad_input", "The derivative order must be between 1 and 10.")
    result = sympy.simplify(sympy.diff(expr, var, order))
    op = f"diff({expr}, {var}, {order})"
    if plan.get("at") is not None:
        point = parse(str(plan["at"]))
        at_value = result.subs(var, point)
        return Result(
            answer=f"{_show(at_value)} (derivative {result} at {var} = {point})",
            data={"value": _value(at_value), "derivative": str(result)},
            operation_kind="sympy",
            operation_text=op,
        )
    return Result(answer=str(result), data={"value": str(result)}, operation_kind="sympy", operation_text=op)


def solve(plan: dict[str, Any]) -> Result:
    import sympy

    equations = plan.get("equations") or [plan.get("expression")]
    exprs = [parse_equation(str(e)) for e in equations if e]
    if not exprs:
        raise SpecialistError("bad_input", "There is no equation to solve.")
    names = plan.get("variables") or ([plan["variable"]] if plan.get("variable") else None)
    report = [str(r) for r in plan.get("report") or []]
    if names and len(exprs) > len(names) and not report:
        report, names = list(names), None  # "solve <system> for x": x alone cannot satisfy it
    free = sorted(set().union(*(e.free_symbols for e in exprs)), key=lambda s: s.name)
    symbols = [sympy.Symbol(n) for n in names] if names else free
    if not symbols:
        raise SpecialistError("bad_input", "The equation has no unknown to solve for.")
    op = f"solve({exprs if len(exprs) > 1 else exprs[0]}, {symbols})"
    if report:
        return _solve_and_report(exprs, symbols, report, op)
    if len(exprs) == 1 and len(symbols) == 1:
        roots = sympy.solve(exprs[0], symbols[0])
        try:
            roots = sorted(roots, key=lambda r: (sympy.im(r) != 0, float(sympy.re(r.evalf()))))
        except TypeError:
            pass
        if not roots:
            return Result(
                answer=f"No solution for {symbols[0]}.",
                data={"value": None, "items": []},
                operation_kind="sympy",
                operation_text=op,
            )
        items = [str(r) for r in roots]
        answer = ", ".join(f"{symbols[0]} = {_show(r)}" for r in roots)
        value = _value(roots[0]) if len(roots) == 1 else [_value(r) for r in roots]
        return Result(
            answer=answer,
            data={"value": value, "items": items, "roots": items},
            operation_kind="sympy",
            operation_text=op,
        )
    solutions = sympy.solve(exprs, symbols, dict=True)
    if not solutions:
        return Result(
            answer="The system has no solution.",
            data={"value": None, "items": []},
            operation_kind="sympy",
            operation_text=op,
        )
    parts = ["; ".join(f"{k} = {_show(v)}" for k, v in sorted(s.items(), key=lambda kv: str(kv[0]))) for s in solutions]
    data = {"solutions": [{str(k): _value(v) for k, v in s.items()} for s in solutions], "items": parts}
    return Result(answer=" | ".join(parts), data=data, operation_kind="sympy", operation_text=op)


def _solve_and_report(exprs: list[Any], symbols: list[Any], report: list[str], op: str) -> Result:
    """Solve for every unknown, then answer with just the asked quantities (``What is z?``)."""
    import sympy

    solutions = sympy.solve(exprs, symbols, dict=True)
    if not solutions:
        return Result(
            answer="The system has no solution.",
            data={"value": None, "items": []},
            operation_kind="sympy",
            operation_text=op,
        )
    targets = [parse(r) for r in report]
    rows = [[sympy.simplify(t.subs(s)) for t in targets] for s in solutions]
    unique: list[list[Any]] = []
    for row in rows:
        if row not in unique:
            unique.append(row)
    undetermined = sorted({str(sym) for row in unique for v in row for sym in v.free_symbols})
    if len(targets) == 1:
        name = report[0]
        answer = " or ".join(f"{name} = {_show(row[0])}" for row in unique)
        items = [str(row[0]) for row in unique]
        value = _value(unique[0][0]) if len(unique) == 1 else [_value(row[0]) for row in unique]
    else:
        parts = ["; ".join(f"{n} = {_show(v)}" for n, v in zip(report, row, strict=True)) for row in unique]
        answer, items = " | ".join(parts), parts
        value = [_value(v) for v in unique[0]] if len(unique) == 1 else [[_value(v) for v in r] for r in unique]
    full = [
        "; ".join(f"{k} = {_show(v)}" for k, v in sorted(sol.items(), key=lambda kv: str(kv[0]))) for sol in solutions
    ]
    if undetermined:
        answer += f" (not unique: depends on {', '.join(undetermined)})"
    if {str(k) for sol in solutions for k in sol} - set(report):
        answer += f" (full solution: {' | '.join(full)})"
    data = {
        "value": value,
        "items": items,
        "asked": report,
        "solutions": [{str(k): _value(v) for k, v in sol.items()} for sol in solutions],
    }
    return Result(answer=answer, data=data, operation_kind="sympy", operation_text=op)


def matrix(plan: dict[str, Any]) -> Result:
    import sympy

    raw = plan["matrix"]
    rows = literal_list(raw) if isinstance(raw, str) else raw
    if not all(isinstance(r, list) for r in rows) or len({len(r) for r in rows}) != 1:
        raise SpecialistError("bad_input", "The matrix must be a list of rows of equal length.")
    m = sympy.Matrix([[sympy.nsimplify(v) for v in r] for r in rows])
    op_name = plan.get("matrix_op") or "det"
    text = f"Matrix({rows}).{op_name}"
    square = m.rows == m.cols
    if op_name in ("det", "inverse", "eigenvalues", "trace", "solve") and not square:
        raise SpecialistError("bad_input", f"{op_name} needs a square matrix; got {m.rows}x{m.cols}.")
    if op_name == "det":
        d = m.det()
        return Result(answer=_show(d), data={"value": _value(d)}, operation_kind="sympy", operation_text=text)
    if op_name == "trace":
        t = m.trace()
        return Result(answer=_show(t), data={"value": _value(t)}, operation_kind="sympy", operation_text=text)
    if op_name == "rank":
        return Result(answer=str(m.rank()), data={"value": m.rank()}, operation_kind="sympy", operation_text=text)
    if op_name == "transpose":
        t = m.T
        return Result(
            answer=str(t.tolist()),
            data={"value": [[_value(v) for v in r] for r in t.tolist()]},
            operation_kind="sympy",
            operation_text=text,
        )
    if op_name == "inverse":
        if m.det() == 0:
            raise SpecialistError("bad_input", "The matrix is singular (determinant 0); it has no inverse.")
        inv = m.inv()
        vals = [[_value(v) for v in r] for r in inv.tolist()]
        return Result(answer=str(inv.tolist()), data={"value": vals}, operation_kind="sympy", operation_text=text)
    if op_name == "eigenvalues":
        ev = m.eigenvals()
        roots = [k for k, n in ev.items() for _ in range(n)]
        try:
            roots.sort(key=lambda r: (float(sympy.re(r.evalf())), float(sympy.im(r.evalf()))))
        except TypeError:
            pass
        items = [_value(k) for k in roots]
        return Result(
            answer=", ".join(_show(k) for k in roots),
            data={"value": items, "items": [str(k) for k in roots]},
            operation_kind="sympy",
            operation_text=text,
        )
    if op_name == "solve":
        vec_raw = plan.get("vector")
        if vec_raw is None:
            raise SpecialistError("bad_input", "Solving Ax = b needs the vector b.")
        vec = literal_list(vec_raw) if isinstance(vec_raw, str) else vec_raw
        b = sympy.Matrix([sympy.nsimplify(v) for v in vec])
        if b.rows != m.rows:
            raise SpecialistError("bad_input", f"b has {b.rows} entries but A has {m.rows} rows.")
        if m.det() == 0:
            raise SpecialistError("bad_input", "A is singular (determinant 0); Ax = b has no unique solution.")
        x = m.LUsolve(b)
        vals = [_value(v) for v in x]
        return Result(
            answer="x = " + str([_show(v) for v in x]),
            data={"value": vals},
            operation_kind="sympy",
            operation_text=f"Matrix({rows}).LUsolve({vec})",
        )
    raise SpecialistError("bad_input", f"Unknown matrix operation {op_name!r}.")


def _point(value: Any) -> Any:
    """A bound or point as an exact sympy number (``0``, ``2.5``, ``pi/2``)."""
    import sympy

    point = sympy.nsimplify(parse(str(value)), rational=False)
    if point.free_symbols or not point.is_number:
        raise SpecialistError("bad_input", f"{value!r} is not a number.")
    return point


def ode(plan: dict[str, Any]) -> Result:
    """``y' = f(t, y)``, ``y(t0) = y0``: closed form via dsolve, a value at ``at`` via solve_ivp.

    When both exist and agree, the exact value is reported; when they disagree (dsolve picked
    a branch the initial value does not lie on), the numerical value wins.
    """
    import sympy

    t = sympy.Symbol(plan.get("variable") or "t")
    y = sympy.Function("y")
    fname = str(plan.get("function") or "y")  # the name the task gave the function (N for dN/dt)
    ysym = sympy.Symbol("y")
    rhs = parse(str(plan["expression"]), {"y": ysym, t.name: t})
    t0_x, y0_x = _point(plan.get("t0") or 0), _point(plan["y0"])
    t0, y0 = float(t0_x), float(y0_x)
    at = plan.get("at")
    from scipy.integrate import solve_ivp

    fn = sympy.lambdify((t, ysym), rhs, "math")
    closed = None
    try:
        sol = sympy.dsolve(sympy.Eq(y(t).diff(t), rhs.subs(ysym, y(t))), y(t), ics={y(t0_x): y0_x})
        closed = sol.rhs
    except Exception:  # noqa: BLE001 - fall back to numbers only
        closed = None
    op = f"dsolve(y' = {rhs}, y({t0_x}) = {y0_x})"
    if at is None:
        if closed is None:
            raise SpecialistError("bad_input", "No closed form found; give a point to evaluate at, e.g. 'at t=1'.")
        return Result(
            answer=f"y({t}) = {closed}", data={"value": str(closed)}, operation_kind="sympy", operation_text=op
        )
    at_x = _point(at)
    at_f = float(at_x)
    exact = None
    if closed is not None:
        candidate = sympy.simplify(closed.subs(t, at_x))
        if candidate.is_number and candidate.is_real and candidate.is_finite:
            exact = candidate
    numeric = None
    try:
        if at_f == t0:
            numeric = y0
        else:
            run = solve_ivp(lambda tt, yy: [fn(tt, yy[0])], (t0, at_f), [y0], rtol=1e-10, atol=1e-12)
            numeric = float(run.y[0][-1]) if run.success else None
    except (ValueError, ZeroDivisionError, OverflowError):
        numeric = None
    shown_at = f"{at:g}" if isinstance(at, int | float) else str(at)
    solution = f" (solution {fname}({t}) = {closed})" if closed is not None else ""
    if exact is not None and (numeric is None or abs(float(exact) - numeric) <= 1e-6 * max(1.0, abs(numeric))):
        return Result(
            answer=f"{fname}({shown_at}) = {_show(exact)}{solution}",
            data={"value": _value(exact), "exact": str(exact), "closed_form": str(closed)},
            operation_kind="sympy",
            operation_text=f"{op} at {t} = {at_x}",
        )
    if numeric is None:
        raise SpecialistError("bad_input", f"The ODE solver could not integrate from {t} = {t0:g} to {at_f:g}.")
    return Result(
        answer=f"{fname}({shown_at}) ≈ {numeric:.10g}" + (" (numerical)" if closed is None else ""),
        data={"value": numeric, "closed_form": str(closed) if closed is not None else None},
        operation_kind="scipy",
        operation_text=f"solve_ivp(y' = {rhs}, y({t0:g})={y0:g}, t={at_f:g})",
    )


def minimize(plan: dict[str, Any]) -> Result:
    import sympy

    expr = parse(plan["expression"])
    maximize = plan.get("goal") == "maximize"
    target = -expr if maximize else expr
    free = sorted(expr.free_symbols, key=lambda s: s.name)
    if not free:
        raise SpecialistError("bad_input", "The expression has no variable to optimise over.")
    from scipy import optimize

    word = "maximum" if maximize else "minimum"
    if len(free) == 1:
        var = _symbol(plan.get("variable"), expr)
        fn = sympy.lambdify(var, target, "math")
        lo, hi = plan.get("lower"), plan.get("upper")
        if lo is not None and hi is not None:
            res = optimize.minimize_scalar(
                fn, bounds=(float(lo), float(hi)), method="bounded", options={"xatol": 1e-10}
            )
        else:
            res = optimize.minimize_scalar(fn, method="brent", tol=1e-12)
        xs, fv = {var.name: float(res.x)}, float(res.fun)
    else:
        fn = sympy.lambdify([free], target, "math")
        res = optimize.minimize(
            lambda v: fn(list(v)),
            [0.0] * len(free),
            method="Nelder-Mead",
            options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000},
        )
        xs, fv = {s.name: float(v) for s, v in zip(free, res.x, strict=True)}, float(res.fun)
    value = -fv if maximize else fv
    where = ", ".join(f"{k} = {v:.10g}" for k, v in xs.items())
    return Result(
        answer=f"{word} {value:.10g} at {where}",
        data={"value": value, "at": xs},
        operation_kind="scipy",
        operation_text=f"{'maximize' if maximize else 'minimize'}({expr})",
    )


def fft(plan: dict[str, Any]) -> Result:
    import numpy as np

    raw = plan["values"]
    values = literal_list(raw) if isinstance(raw, str) else raw
    if any(isinstance(v, list) for v in values):
        raise SpecialistError("bad_input", "FFT needs a flat list of numbers.")
    out = np.fft.fft(np.asarray(values, dtype=float))
    pairs = [[round(float(c.real), 12) + 0.0, round(float(c.imag), 12) + 0.0] for c in out]
    shown = ", ".join(_complex_text(re_, im) for re_, im in pairs)
    return Result(
        answer=f"[{shown}]",
        data={"value": pairs, "magnitude": [abs(complex(*p)) for p in pairs]},
        operation_kind="numpy",
        operation_text=f"numpy.fft.fft({values})",
    )


def _complex_text(re_: float, im: float) -> str:
    if im == 0:
        return f"{re_:g}"
    return f"{re_:g}{'+' if im >= 0 else '-'}{abs(im):g}j"


EXECUTORS = {
    "area": area,
    "binomial": binomial,
    "compound_interest": compound_interest,
    "percent_change": percent_change,
    "evaluate": evaluate,
    "integrate": integrate,
    "differentiate": differentiate,
    "solve": solve,
    "matrix": matrix,
    "ode": ode,
    "minimize": minimize,
    "fft": fft,
}
