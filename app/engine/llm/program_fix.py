"""Cheap repairs of a model-written program before it runs: the imports it forgot, misplaced calls.

Small models often call ``solve`` after importing only ``symbols``, or use ``pd`` without
``import pandas as pd``. Running such a program costs a sandbox start and an attempt, and
feeding the NameError back rarely helps. A static pass (``ast``) finds names the program
reads but never binds and adds the import for the ones a library of the specialist is known
to export. Nothing is added for a name the program defines itself, and a program that does
not parse is returned unchanged (the sandbox reports the syntax error).
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Iterable

__all__ = ["complete_imports", "free_names", "launch_scripts_with_python", "rehome_calls"]

_MODULES = {  # alias -> import line (always allowed: standard library or the alias's library)
    "pd": ("pandas", "import pandas as pd"),
    "np": ("numpy", "import numpy as np"),
    "plt": ("matplotlib", "import matplotlib.pyplot as plt"),
    "sp": ("sympy", "import sympy as sp"),
    "stats": ("scipy", "from scipy import stats"),
}
_STDLIB = {
    "re",
    "json",
    "math",
    "csv",
    "sqlite3",
    "os",
    "sys",
    "subprocess",
    "statistics",
    "collections",
    "itertools",
    "functools",
    "datetime",
    "hashlib",
    "random",
    "string",
    "fractions",
    "decimal",
    "io",
    "glob",
    "pathlib",
    "unittest",
    "runpy",
    "textwrap",
    "heapq",
    "operator",
}
_FROM = {
    "sympy": (
        "symbols Symbol solve diff integrate exp sqrt sin cos tan log ln pi E oo Matrix Rational simplify factor "
        "expand N Eq limit series dsolve Function nsolve binomial factorial Derivative Integral lambdify sympify "
        "linsolve nsimplify Abs atan asin acos sinh cosh tanh I root cbrt floor ceiling summation product "
        "solveset S nroots real_roots apart together cancel trigsimp det zeros ones eye"
    ).split(),
    "scipy": [],
    "selectolax": ["LexborHTMLParser"],
    "pandas": ["DataFrame", "Series"],
    "collections": ["Counter", "defaultdict", "OrderedDict", "namedtuple", "deque"],
    "datetime": [],
    "fractions": ["Fraction"],
}
_FROM_MODULE = {
    "selectolax": "selectolax.lexbor",
    "pandas": "pandas",
    "sympy": "sympy",
    "collections": "collections",
    "fractions": "fractions",
}
_SKLEARN = {
    "cluster": "KMeans AgglomerativeClustering DBSCAN",
    "linear_model": "LinearRegression LogisticRegression Ridge Lasso",
    "ensemble": "RandomForestClassifier RandomForestRegressor GradientBoostingClassifier GradientBoostingRegressor",
    "model_selection": "train_test_split cross_val_score cross_validate KFold StratifiedKFold GridSearchCV",
    "metrics": "accuracy_score r2_score mean_absolute_error mean_squared_error f1_score confusion_matrix "
    "classification_report silhouette_score precision_score recall_score",
    "preprocessing": "StandardScaler OneHotEncoder LabelEncoder MinMaxScaler OrdinalEncoder",
    "pipeline": "make_pipeline Pipeline",
    "feature_extraction.text": "TfidfVectorizer CountVectorizer",
    "neighbors": "KNeighborsClassifier KNeighborsRegressor",
    "tree": "DecisionTreeClassifier DecisionTreeRegressor",
    "naive_bayes": "GaussianNB MultinomialNB",
    "svm": "SVC SVR LinearSVC",
    "compose": "ColumnTransformer make_column_transformer",
}


def _provider(name: str, libraries: set[str]) -> str | None:
    if name in _MODULES:
        library, line = _MODULES[name]
        return line if library in libraries else None
    if name in _STDLIB:
        return f"import {name}"
    for library, members in _FROM.items():
        if name in members and (library in libraries or library in _STDLIB):
            return f"from {_FROM_MODULE.get(library, library)} import {name}"
    if "scikit-learn" in libraries:
        for module, exported in _SKLEARN.items():
            if name in exported.split():
                return f"from sklearn.{module} import {name}"
    return None


class _Names(ast.NodeVisitor):
    def __init__(self) -> None:
        self.loaded: list[str] = []
        self.bound: set[str] = set()

    def visit_Name(self, node: ast.Name) -> None:  # noqa: N802 - ast API
        (self.loaded.append if isinstance(node.ctx, ast.Load) else self.bound.add)(node.id)

    def visit_Import(self, node: ast.Import) -> None:  # noqa: N802
        for alias in node.names:
            self.bound.add(alias.asname or alias.name.split(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:  # noqa: N802
        for alias in node.names:
            self.bound.add(alias.asname or alias.name)

    def _define(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self.bound.add(node.name)
        self.generic_visit(node)

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _define  # noqa: N815

    def visit_arg(self, node: ast.arg) -> None:
        self.bound.add(node.arg)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:  # noqa: N802
        if node.name:
            self.bound.add(node.name)
        self.generic_visit(node)

    def visit_Global(self, node: ast.Global) -> None:  # noqa: N802
        self.bound.update(node.names)


def free_names(code: str) -> list[str] | None:
    """Names ``code`` reads but never binds (in first-use order); None when it does not parse."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    names = _Names()
    names.visit(tree)
    seen: dict[str, None] = {}
    for name in names.loaded:
        if name not in names.bound and not hasattr(builtins, name):
            seen.setdefault(name, None)
    return list(seen)


# Functions a small model calls through the wrong module (``sp.solve_ivp``, ``sp.DataFrame``):
# name -> (library, the module that has it). None of these names exists in sympy or numpy.
_HOMES = {
    **{n: ("scipy", "scipy.integrate") for n in ("solve_ivp", "odeint", "quad", "dblquad", "simpson", "trapezoid")},
    **{
        n: ("scipy", "scipy.optimize")
        for n in ("minimize", "minimize_scalar", "brentq", "fsolve", "curve_fit", "linprog", "root_scalar")
    },
    **{n: ("pandas", "pandas") for n in ("DataFrame", "read_csv", "read_excel")},
}
_ALIASES = {"sp": "sympy", "sympy": "sympy", "np": "numpy", "numpy": "numpy"}
_MISPLACED = re.compile(r"(?<![\w.])(" + "|".join(_ALIASES) + r")\.(" + "|".join(_HOMES) + r")\b")


def rehome_calls(code: str, libraries: Iterable[str]) -> str:
    """``code`` with ``sp.solve_ivp``-style calls pointed at the module that has the function.

    The call loses the wrong prefix and gets its own import (``from scipy.integrate import
    solve_ivp``), when the specialist has that library; anything else is left as written.
    """
    available = {lib.lower() for lib in libraries}
    moved: dict[str, str] = {}

    def fix(match: re.Match[str]) -> str:
        library, module = _HOMES[match.group(2)]
        if library not in available:
            return match.group(0)
        moved[match.group(2)] = module
        return match.group(2)

    fixed = _MISPLACED.sub(fix, code)
    if not moved:
        return code
    imports = "".join(f"from {module} import {name}\n" for name, module in moved.items())
    future = [ln for ln in fixed.splitlines(keepends=True) if ln.startswith("from __future__")]
    rest = "".join(ln for ln in fixed.splitlines(keepends=True) if ln not in future)
    return "".join(future) + imports + rest


def complete_imports(code: str, libraries: Iterable[str]) -> str:
    """``code`` with the imports it needs and forgot (for the given libraries and the standard library)."""
    free = free_names(code)
    if not free:
        return code
    available = {lib.lower() for lib in libraries}
    lines: list[str] = []
    for name in free:
        line = _provider(name, available)
        if line is not None and line not in lines:
            lines.append(line)
    if not lines:
        return code
    head, body = "", code
    future = [ln for ln in code.splitlines(keepends=True) if ln.startswith("from __future__")]
    if future:  # __future__ imports must stay first
        head, body = "".join(future), "".join(ln for ln in code.splitlines(keepends=True) if ln not in future)
    return head + "\n".join(lines) + "\n" + body


_SCRIPT_FIRST = re.compile(
    r"(?P<call>subprocess\.(?:run|call|check_call|check_output|Popen)\(\s*\[\s*)"
    r"(?:(?P<py>['\"](?:python3?|py)['\"])\s*,\s*)?(?P<script>['\"][\w./-]+\.py['\"])"
)


def launch_scripts_with_python(code: str) -> str:
    """``subprocess.run(["stats.py", ...])`` (not executable here) or ``["python", ...]`` run by this Python.

    A dropped script has no executable bit and ``python`` may not be on the sandbox's PATH;
    ``sys.executable`` is the interpreter that has the specialist's libraries.
    """
    fixed = _SCRIPT_FIRST.sub(lambda m: f"{m.group('call')}sys.executable, {m.group('script')}", code)
    if fixed == code:
        return code
    if not re.search(r"^\s*import\s+(?:[\w, ]*\b)?sys\b", fixed, re.M):
        fixed = "import sys\n" + fixed
    return fixed
