"""Repairs of model-written pandas code for the pandas the sandboxes run (2.x).

Small models learned pandas from years of older code. Two mistakes recur and cost a whole
attempt each, and neither changes what the program means:

* ``df.groupby(k)["a", "b"]`` (a tuple of columns; an error since pandas 2.0) becomes
  ``df.groupby(k)[["a", "b"]]``;
* ``x.to_csv(...)`` on something that is not a DataFrame: a scalar (``idxmax()`` of the
  "which one" answer), a Series whose index holds the keys, which ``index=False`` would
  drop, or one row (``df.loc[i]``), which would be written as a column. Such calls go through
  :data:`SAVE_HELPER`, which saves a scalar as a one-cell table, a row as one row, and keeps
  the keys of a keyed Series or of a DataFrame with a named index as the first column.

The helper is added to the program's text, so the program shown to the user is the one that
ran. A program that does not parse is returned unchanged (the sandbox reports the error).
"""

from __future__ import annotations

import ast
import re

__all__ = ["SAVE_HELPER", "fix_pandas"]

SAVE_NAME = "_save_csv"
SAVE_HELPER = f"""def {SAVE_NAME}(obj, *args, **kwargs):  # added by Switchboard: keeps keys, saves scalars
    import pandas as _pd
    if isinstance(obj, _pd.Series):
        if obj.index.name is not None:  # keyed (groupby, value_counts): the keys become the first column
            obj = obj.reset_index(name=obj.name if obj.name is not None else "value")
        elif _pd.api.types.is_integer_dtype(obj.index):  # a column (maybe filtered): its values
            obj = obj.to_frame()
        elif obj.name is not None:  # one row of a table (df.loc[i]), labelled by column names
            obj = obj.to_frame().T
        else:  # labels to values (built from a dict)
            obj = obj.reset_index(name="value")
        kwargs["index"] = False
    elif isinstance(obj, _pd.DataFrame):
        if kwargs.get("index", True) is False and any(n is not None for n in obj.index.names):
            obj = obj.reset_index()
    else:
        obj = _pd.DataFrame({{"value": [obj]}})
        kwargs["index"] = False
    return obj.to_csv(*args, **kwargs)

"""

_STR = r"""(?:'[^'\n]*'|"[^"\n]*")"""
_TUPLE_AFTER_GROUPBY = re.compile(
    r"(\.groupby\((?:[^()]|\([^()]*\))*\))\[\s*(" + _STR + r"(?:\s*,\s*" + _STR + r")+)\s*,?\s*\]"
)


def fix_pandas(code: str) -> str:
    """``code`` with the two repairs applied where they occur (unchanged otherwise)."""
    fixed = _TUPLE_AFTER_GROUPBY.sub(r"\1[[\2]]", code)
    try:
        tree = ast.parse(fixed)
    except SyntaxError:
        return code
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "to_csv"
        and node.func.value.end_lineno is not None
    ]
    if not calls:
        return fixed
    lines = fixed.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    def at(lineno: int, col: int) -> int:
        # ast columns are UTF-8 byte offsets within the line
        return offsets[lineno - 1] + len(lines[lineno - 1].encode("utf-8")[:col].decode("utf-8", "replace"))

    edits = []
    for call in calls:
        target = call.func.value  # type: ignore[attr-defined]
        start = at(target.lineno, target.col_offset)
        dot = at(target.end_lineno, target.end_col_offset)
        paren = fixed.index("(", dot)
        receiver = fixed[start:dot]
        rest_empty = not call.args and not call.keywords
        edits.append((start, paren + 1, f"{SAVE_NAME}({receiver}" + ("" if rest_empty else ", ")))
    out = fixed
    for start, end, text in sorted(edits, reverse=True):
        out = out[:start] + text + out[end:]
    try:
        ast.parse(out)
    except SyntaxError:
        return fixed
    return _with_helper(out)


def _with_helper(code: str) -> str:
    """The helper after the program's ``from __future__`` imports (which must stay first)."""
    lines = code.splitlines(keepends=True)
    cut = 0
    for i, line in enumerate(lines):
        if line.startswith("from __future__"):
            cut = i + 1
    return "".join(lines[:cut]) + SAVE_HELPER + "".join(lines[cut:])
