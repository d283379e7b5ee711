"""Safe parsing of math text for the numerical specialist.

Expressions go through sympy's ``parse_expr`` with a namespace holding only math functions
and constants (no builtins), after a character whitelist that rules out attribute access,
strings and dunder names. ``parse_expr`` evaluates the transformed text, so the whitelist and
the namespace together are what keep user text from reaching arbitrary Python.
"""

from __future__ import annotations

import ast
import math
import re
from typing import Any

from switchboard_runtime.api import SpecialistError

__all__ = ["literal_list", "parse", "parse_equation", "safe_text"]

MAX_EXPR_CHARS = 2000
_ALLOWED = re.compile(r"^[0-9A-Za-z_+\-*/^().,\s=<>!%]*$")
_FUNCS = (
    "sin cos tan cot sec csc asin acos atan atan2 sinh cosh tanh asinh acosh atanh exp log "
    "sqrt cbrt root Abs sign floor ceiling factorial binomial gamma gcd lcm Rational Integer "
    "Float Min Max re im conjugate erf besselj isprime prime fibonacci Mod"
)
_NAMESPACE: dict[str, Any] | None = None


def _namespace() -> dict[str, Any]:
    """Build (once) the only names user text may refer to besides plain symbols."""
    global _NAMESPACE
    if _NAMESPACE is None:
        import sympy

        names: dict[str, Any] = {"__builtins__": {}}
        for name in _FUNCS.split():
            names[name] = getattr(sympy, name)
        names.update(
            {
                "Symbol": sympy.Symbol,
                "Add": sympy.Add,
                "Mul": sympy.Mul,
                "Pow": sympy.Pow,
                "pi": sympy.pi,
                "E": sympy.E,
                "e": sympy.E,
                "I": sympy.I,
                "oo": sympy.oo,
                "inf": sympy.oo,
                "infinity": sympy.oo,
                "ln": sympy.log,
                "abs": sympy.Abs,
                "arcsin": sympy.asin,
                "arccos": sympy.acos,
                "arctan": sympy.atan,
                "mod": sympy.Mod,
            }
        )
        _NAMESPACE = names
    return _NAMESPACE


def safe_text(text: str) -> str:
    """Reject text that could be anything other than arithmetic; return it tidied."""
    text = text.strip().rstrip("?.").strip()
    text = text.replace("×", "*").replace("÷", "/").replace("−", "-").replace("²", "^2")
    text = text.replace("³", "^3").replace("π", "pi").replace("√", "sqrt")
    if not text:
        raise SpecialistError("bad_input", "The expression is empty.")
    if len(text) > MAX_EXPR_CHARS:
        raise SpecialistError("limit", f"The expression is longer than {MAX_EXPR_CHARS} characters.")
    if not _ALLOWED.match(text) or "__" in text or re.search(r"[A-Za-z_)\]]\s*\.\s*[A-Za-z_]", text):
        raise SpecialistError(
            "bad_input", f"{text!r} contains characters or syntax that are not plain mathematics."
        )
    return text


def _check_size(expr: Any) -> None:
    """Refuse numbers too large to compute (``9^9^9^9``, ``factorial(10^7)``) before evaluating."""
    import sympy

    for node in sympy.preorder_traversal(expr):
        if isinstance(node, sympy.Pow) and not node.free_symbols:
            base, exp = node.args
            try:
                b, x = float(abs(base.evalf(15))), float(abs(exp.evalf(15)))
            except (TypeError, ValueError, OverflowError):
                continue
            if b not in (0.0, 1.0) and x * math.log10(max(b, 1e-300)) > 1e6:
                raise SpecialistError(
                    "limit", f"{node} has more than a million digits; refusing to compute it."
                )
        if isinstance(node, sympy.factorial) and not node.free_symbols:
            try:
                arg = float(node.args[0].evalf(15))
            except (TypeError, ValueError, OverflowError):
                continue
            if arg > 100_000:
                raise SpecialistError("limit", f"{node} is too large to compute exactly.")


def parse(text: str, symbols: dict[str, Any] | None = None) -> Any:
    """Parse ``text`` into a sympy expression (``^`` is power, ``2x`` is ``2*x``)."""
    import sympy
    from sympy.parsing.sympy_parser import (
        convert_xor,
        implicit_application,
        implicit_multiplication,
        parse_expr,
        standard_transformations,
    )

    text = safe_text(text)
    transformations = standard_transformations + (
        convert_xor,
        implicit_multiplication,
        implicit_application,
    )
    local = dict(symbols or {})
    try:
        unevaluated = parse_expr(
            text, local_dict=local, global_dict=_namespace(), transformations=transformations,
            evaluate=False,
        )
        _check_size(unevaluated)
        expr = parse_expr(
            text, local_dict=local, global_dict=_namespace(), transformations=transformations
        )
    except SpecialistError:
        raise
    except (SyntaxError, TypeError, ValueError, AttributeError, sympy.SympifyError) as exc:
        raise SpecialistError("bad_input", f"Cannot read {text!r} as mathematics: {exc}.") from None
    if not isinstance(expr, sympy.Basic):
        expr = sympy.sympify(expr)
    return expr


def parse_equation(text: str, symbols: dict[str, Any] | None = None) -> Any:
    """Parse ``lhs = rhs`` (or a bare expression meaning ``expr = 0``) into ``lhs - rhs``."""
    text = text.replace("==", "=")
    if text.count("=") > 1:
        raise SpecialistError("bad_input", f"{text!r} has more than one '='.")
    if "=" in text:
        lhs, rhs = text.split("=")
        return parse(lhs, symbols) - parse(rhs, symbols)
    return parse(text, symbols)


def literal_list(text: str) -> list[Any]:
    """Read a bracketed numeric literal (``[[1,2],[3,4]]`` or ``[1, 2.5]``) without eval."""
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError):
        raise SpecialistError("bad_input", f"{text.strip()!r} is not a list of numbers.") from None
    if isinstance(value, tuple):
        value = list(value)

    def ok(item: Any) -> bool:
        if isinstance(item, list | tuple):
            return all(ok(i) for i in item)
        return isinstance(item, int | float) and not isinstance(item, bool)

    if not isinstance(value, list) or not value or not ok(value):
        raise SpecialistError("bad_input", f"{text.strip()!r} is not a list of numbers.")
    return [list(v) if isinstance(v, tuple) else v for v in value]
