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

__all__ = ["literal_list", "matrix_literal", "normalise", "parse", "parse_equation", "safe_text"]

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


_CHAR_MAP = str.maketrans(
    {
        "\u2212": "-",
        "\u2013": "-",
        "\u2012": "-",
        "\ufe63": "-",
        "\uff0d": "-",  # minus, dashes
        "\u00d7": "*",
        "\u00b7": "*",
        "\u22c5": "*",
        "\u2219": "*",
        "\u2217": "*",  # times, dots
        "\u00f7": "/",
        "\u2215": "/",
        "\u2032": "'",
        "\u2019": "'",  # prime, typographic apostrophe (y′, what’s)
        "\u221e": "oo",
        "\u2264": "<=",
        "\u2265": ">=",
        "\u2260": "!=",
    }
)
_SUPER = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁽⁾ⁿˣʸᵗ", "0123456789+-()nxyt", strict=True))
_SUB = dict(zip("₀₁₂₃₄₅₆₇₈₉", "0123456789", strict=True))
_SUPER_RUN = re.compile("[" + "".join(_SUPER) + "]+")
_SUB_RUN = re.compile("[" + "".join(_SUB) + "]+")
_ROOT = re.compile(r"([√∛])\s*(\(|\d+(?:\.\d+)?|[A-Za-z_]\w*)")
_ARG = r"\s*([^(),]+?|[^(),]*\([^()]*\)[^(),]*?)\s*"
_BINOMIAL_CALL = re.compile(rf"(?:\b(?i:ncr|comb|choose|binom)|\bC)\s*\({_ARG},{_ARG}\)")
_CHOOSE = re.compile(r"(?<![\w.])(\d+|[A-Za-z]|\([^()]*\))\s+(?i:choose)\s+(\d+|[A-Za-z]|\([^()]*\))(?![\w.])")
_INFIX_NCR = re.compile(r"(?<![\w.])(\d+)\s*(?:C|(?i:ncr))\s*(\d+)(?![\w.])")


def _superscript(match: re.Match[str]) -> str:
    inner = "".join(_SUPER[c] for c in match.group(0))
    return "^" + inner if re.fullmatch(r"\d+|[a-z]", inner) else f"^({inner})"


def _root(match: re.Match[str]) -> str:
    name = "sqrt" if match.group(1) == "√" else "cbrt"
    arg = match.group(2)
    return f"{name}(" if arg == "(" else f"{name}({arg})"


def normalise(text: str) -> str:
    """Rewrite typographic maths into the ASCII syntax the parser and recognisers read.

    Unicode minus signs and dashes, ``×``/``·``/``÷``, superscript powers (``x²``, ``2⁻¹``),
    subscripted names (``x₁`` -> ``x_1``), ``√``/``∛``, ``∞``/``π`` and the binomial notations
    ``C(n, k)``, ``nCr(n, k)``, ``n choose k`` and ``10C3`` (which become ``binomial(n, k)``).
    """
    text = text.translate(_CHAR_MAP)
    text = re.sub(r"(?<=[A-Za-z_])π", " π", text)
    text = re.sub(r"π(?=[A-Za-z0-9_])", "pi ", text).replace("π", "pi")
    text = _SUPER_RUN.sub(_superscript, text)
    text = _SUB_RUN.sub(lambda m: "_" + "".join(_SUB[c] for c in m.group(0)), text)
    text = _ROOT.sub(_root, text)
    text = _BINOMIAL_CALL.sub(lambda m: f"binomial({m.group(1)}, {m.group(2)})", text)
    text = _CHOOSE.sub(lambda m: f"binomial({m.group(1)}, {m.group(2)})", text)
    text = _INFIX_NCR.sub(lambda m: f"binomial({m.group(1)}, {m.group(2)})", text)
    return text.strip()


def safe_text(text: str) -> str:
    """Reject text that could be anything other than arithmetic; return it tidied."""
    text = normalise(text).rstrip("?.").strip()
    if not text:
        raise SpecialistError("bad_input", "The expression is empty.")
    if len(text) > MAX_EXPR_CHARS:
        raise SpecialistError("limit", f"The expression is longer than {MAX_EXPR_CHARS} characters.")
    if not _ALLOWED.match(text) or "__" in text or re.search(r"[A-Za-z_)\]]\s*\.\s*[A-Za-z_]", text):
        raise SpecialistError("bad_input", f"{text!r} contains characters or syntax that are not plain mathematics.")
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
                raise SpecialistError("limit", f"{node} has more than a million digits; refusing to compute it.")
        if isinstance(node, sympy.binomial) and not node.free_symbols:
            try:
                n, k = (float(a.evalf(15)) for a in node.args)
            except (TypeError, ValueError, OverflowError):
                continue
            small = min(k, n - k)
            if small > 1 and small * math.log10(max(n, 2.0) * math.e / small) > 1e6:
                raise SpecialistError("limit", f"{node} has more than a million digits; refusing to compute it.")
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
            text,
            local_dict=local,
            global_dict=_namespace(),
            transformations=transformations,
            evaluate=False,
        )
        _check_size(unevaluated)
        expr = parse_expr(text, local_dict=local, global_dict=_namespace(), transformations=transformations)
    except SpecialistError:
        raise
    except NameError as exc:
        raise SpecialistError("bad_input", f"Cannot read {text!r}: {exc} (unknown function?).") from None
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


_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")


def _number_row(text: str) -> list[str] | None:
    cells = [c for c in re.split(r"[,\s]+", text.strip()) if c]
    return cells if cells and all(_NUMBER.fullmatch(c) for c in cells) else None


def _rows_text(rows: list[list[str]] | None) -> str | None:
    if not rows or any(r is None for r in rows) or len({len(r) for r in rows}) != 1:
        return None
    return "[" + ", ".join("[" + ", ".join(r) + "]" for r in rows) + "]"


def matrix_literal(text: str) -> str | None:
    """Read a written matrix as a ``[[...], [...]]`` literal, or None when it is not one.

    Accepts Python/JSON nesting (``[[2,1],[1,2]]``, tuples too), MATLAB rows (``[2 1; 1 2]``),
    numpy's printout (``[[2 1] [1 2]]``) and words: ``with rows 2 1 and 1 2``, ``rows (2, 1),
    (1, 2)``, ``columns 1 3; 2 4``. Rows are separated by ``;``, ``|``, ``and`` or brackets, or
    by commas when the numbers inside a row are separated by spaces.
    """
    text = text.strip().rstrip(".")
    words = re.match(r"^(?:(?:with|having|whose)\s+)?(?P<kind>rows|columns|cols)\s*(?:are\s+)?:?\s*(?P<body>.+)$", text)
    if words:
        rows = _rows_from_words(words["body"])
        if rows is not None and words["kind"] != "rows":
            rows = [list(col) for col in zip(*rows, strict=True)] if _rows_text(rows) else None
        return _rows_text(rows)
    if not text.startswith(("[", "(")):
        return None
    try:
        return _rows_text([[str(v) for v in row] for row in literal_list(text.replace("(", "[").replace(")", "]"))])
    except (SpecialistError, TypeError):
        pass
    inner = text[1:-1].strip() if text[0] == "[" and text[-1] == "]" else ""
    if not inner:
        return None
    if "[" in inner:
        groups = re.findall(r"\[([^\[\]]*)\]", inner)
        if re.sub(r"\[[^\[\]]*\]", "", inner).strip(" ,\n"):
            return None
        return _rows_text([_number_row(g) for g in groups])
    return _rows_text([_number_row(r) for r in inner.split(";")]) if ";" in inner else None


def _rows_from_words(body: str) -> list[list[str]] | None:
    body = body.strip()
    if re.search(r"[\[(]", body):
        groups = re.findall(r"[\[(]([^\[\]()]*)[\])]", body)
        if re.sub(r"[\[(][^\[\]()]*[\])]", "", body).replace("and", "").strip(" ,;"):
            return None
        return [_number_row(g) for g in groups]  # type: ignore[misc]
    pieces = re.split(r"\s*,?\s*(?:;|\||\band\b)\s*", body)
    if len(pieces) < 2 and "," in body:
        pieces = body.split(",")
        if not all(len(p.split()) > 1 for p in pieces):
            return None
    return [_number_row(p) for p in pieces]  # type: ignore[misc]
