"""Use a dropped script's functions without running the script.

"Use the steps() function from collatz.py" is natural, but ``from collatz import steps`` runs
the whole script: its argument check exits ("usage: collatz.py N") or its main code runs with
this program's arguments. :func:`import_dropped_scripts` rewrites an import of a dropped
script into a call of :data:`HELPER`'s ``functions_of``, which runs only the script's imports,
definitions and assignments (each assignment on its own, skipped when it fails) and never its
``if``/``for``/call statements or ``__main__`` block. The rewritten program shown and stored is
complete: the helper is put at its top.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

__all__ = ["HELPER", "import_dropped_scripts"]

HELPER = r'''import ast as _ast
import types as _types

_DEFINES = (_ast.Import, _ast.ImportFrom, _ast.FunctionDef, _ast.AsyncFunctionDef, _ast.ClassDef)


def functions_of(path):
    """A script's imports, functions, classes and constants as a module, without its main code."""
    with open(path, encoding="utf-8") as fh:
        tree = _ast.parse(fh.read(), filename=path)
    module = _types.ModuleType(path.rsplit("/", 1)[-1].removesuffix(".py"))
    module.__file__ = path
    for node in tree.body:
        keep = isinstance(node, _DEFINES)
        if not keep and not isinstance(node, (_ast.Assign, _ast.AnnAssign)):
            continue  # if/for/while/calls: the script's main code
        code = compile(_ast.Module(body=[node], type_ignores=[]), path, "exec")
        try:
            exec(code, module.__dict__)
        except Exception:
            if keep:
                raise
    return module


'''


def import_dropped_scripts(code: str, names: Iterable[str]) -> str:
    """``code`` with imports of the dropped scripts in ``names`` made through ``functions_of``."""
    scripts = {n.removesuffix(".py"): n for n in names if n.endswith(".py") and n.removesuffix(".py").isidentifier()}
    if not scripts:
        return code
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code
    lines = code.splitlines(keepends=True)
    edits: list[tuple[int, int, str]] = []
    for node in tree.body:
        replacement = _replacement(node, scripts)
        if replacement is not None and node.end_lineno is not None:
            indent = lines[node.lineno - 1][: node.col_offset]
            edits.append((node.lineno - 1, node.end_lineno, "".join(indent + r + "\n" for r in replacement)))
    if not edits:
        return code
    for start, end, text in sorted(edits, reverse=True):
        lines[start:end] = [text]
    return HELPER + "".join(lines)


def _replacement(node: ast.stmt, scripts: dict[str, str]) -> list[str] | None:
    if isinstance(node, ast.Import):
        if not any(a.name in scripts for a in node.names):
            return None
        out = []
        for alias in node.names:
            bound = alias.asname or alias.name
            if alias.name in scripts:
                out.append(f"{bound} = functions_of({scripts[alias.name]!r})")
            else:
                out.append(f"import {alias.name}" + (f" as {alias.asname}" if alias.asname else ""))
        return out
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in scripts:
        holder = f"_{node.module}_script"
        out = [f"{holder} = functions_of({scripts[node.module]!r})"]
        for alias in node.names:
            if alias.name == "*":
                out.append(f"globals().update({{k: v for k, v in vars({holder}).items() if not k.startswith('_')}})")
            else:
                out.append(f"{alias.asname or alias.name} = {holder}.{alias.name}")
        return out
    return None
