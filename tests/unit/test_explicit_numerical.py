"""The numerical specialist's explicit (no-model) path, run on the host without a container.

Recogniser tests need only the standard library; executor and golden tests need sympy, numpy
and scipy (installed in the specialist's image) and skip cleanly where they are missing.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.unit.specialist_code import load_handler, specialist_folder

FOLDER = specialist_folder("numerical")

from num_parse import matrix_literal, normalise  # noqa: E402
from num_recognise import recognise  # noqa: E402
from switchboard_runtime.api import InputFile, SpecialistError, Task  # noqa: E402


def _handler() -> ModuleType:
    return load_handler("numerical")


@pytest.fixture
def math_stack() -> None:
    """The executors need what the image installs."""
    for name in ("sympy", "numpy", "scipy"):
        pytest.importorskip(name)


def _task(text: str, tmp_path: Path, files: list[Path] | None = None) -> Task:
    inputs = [InputFile(f.name, f, f.stat().st_size, "") for f in files or []]
    return Task(
        id="t",
        text=text,
        inputs=inputs,
        plan=None,
        output_dir=tmp_path / "out",
        timeout_s=30.0,
        max_output_bytes=1 << 20,
        data_dir=tmp_path / "data",
    )


def _run(text: str, tmp_path: Path) -> Any:
    return _handler().handle(_task(text, tmp_path))


# -- normalisation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3 × 4 − 2 ÷ 1", "3 * 4 - 2 / 1"),
        ("2·x – 1", "2*x - 1"),
        ("x² + y³", "x^2 + y^3"),
        ("2⁻¹", "2^(-1)"),
        ("e⁻ˣ", "e^(-x)"),
        ("x₁ + x₂", "x_1 + x_2"),
        ("√2 + √(x+1)", "sqrt(2) + sqrt(x+1)"),
        ("from 0 to ∞", "from 0 to oo"),
        ("2πr", "2pi r"),
        ("C(10,3)", "binomial(10, 3)"),
        ("nCr(10, 3)", "binomial(10, 3)"),
        ("10 choose 3", "binomial(10, 3)"),
        ("10C3", "binomial(10, 3)"),
        ("comb(52, 5)", "binomial(52, 5)"),
    ],
)
def test_normalise_rewrites_typographic_maths(text: str, expected: str) -> None:
    assert normalise(text) == expected


def test_normalise_leaves_prose_about_choosing_alone() -> None:
    assert normalise("how many ways to choose 3 from 10") == "how many ways to choose 3 from 10"


# -- recognisers -----------------------------------------------------------------------------


def test_system_with_a_trailing_question_reports_only_the_asked_unknown() -> None:
    plan = recognise("x + y + z = 6, 2x − y = 1, y + z = 5. What is z?", has_csv=False)
    assert plan == {
        "op": "solve",
        "equations": ["x + y + z = 6", "2x - y = 1", "y + z = 5"],
        "variables": None,
        "report": ["z"],
    }


@pytest.mark.parametrize(
    ("text", "report"),
    [
        ("find x if 2x + 3 = 11", ["x"]),
        ("If x + y = 10 and x − y = 2, what is x·y?", ["x*y"]),
        ("Given a + b = 5 and a - b = 1, what are a and b?", ["a", "b"]),
    ],
)
def test_question_forms_around_equations(text: str, report: list[str]) -> None:
    plan = recognise(text, has_csv=False)
    assert plan is not None and plan["op"] == "solve" and plan["report"] == report


@pytest.mark.parametrize(
    ("text", "equations", "report"),
    [
        (
            "I have a system of three equations:\n2x + y - z = 8\n-3x - y + 2z = -11\n-2x + y + 2z = -3\nWhat is z?",
            ["2x + y - z = 8", "-3x - y + 2z = -11", "-2x + y + 2z = -3"],
            ["z"],
        ),
        ("Solve these please:\n1) a + b = 10\n2) a − b = 2\nThanks! What's a*b?", ["a + b = 10", "a - b = 2"], ["a*b"]),
        ("x + y = 3\nx - y = 1", ["x + y = 3", "x - y = 1"], None),
    ],
)
def test_equations_one_per_line_with_prose_around_them(
    text: str, equations: list[str], report: list[str] | None
) -> None:
    assert recognise(text, has_csv=False) == {
        "op": "solve",
        "equations": equations,
        "variables": None,
        "report": report,
    }


@pytest.mark.parametrize(
    ("text", "expression"),
    [
        ("Can you simplify (x^2 - 9)/(x - 3) for me?", "(x^2 - 9)/(x - 3)"),
        ("could you please evaluate 2^10, thanks", "2^10"),
    ],
)
def test_polite_wrappers_do_not_hide_the_request(text: str, expression: str) -> None:
    plan = recognise(text, has_csv=False)
    assert plan is not None and plan["op"] == "evaluate" and plan["expression"] == expression


@pytest.mark.parametrize(
    "text",
    [
        "The budget is 300 dollars.\nx + y = 3\nx - y = 1\nHow many apples can we buy?",  # other maths in the prose
        "x + y = 3\nthen plot it",  # one equation line is not a system
        "x + y = 3, x - y = 1. What is w?",  # w is not in the equations
        "x + y = 3, the sum is large. What is x?",  # prose among the equations
        "what's the weather like in Paris",
        "how many ways to choose 3 from 10",
        "y' = y^2, y(0) = 1, then plot it",  # unknown instruction after the ODE
        "y' = y, y(0) = 1, when y = 3",  # asks for t, not y
        "y' = x*t*y, y(0) = 1 at t = 1",  # two candidate independent variables
        "det [1, 2, 3]",  # a vector, not a matrix
    ],
)
def test_ambiguous_or_unknown_requests_are_declined(text: str) -> None:
    assert recognise(text, has_csv=False) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("y' = -2y, y(0) = 1; what is y(3)?", {"expression": "-2y", "variable": "t", "t0": 0, "y0": 1, "at": 3}),
        ("dy/dx = x*y with y(0)=1 at x=1", {"expression": "x*y", "variable": "x", "t0": 0, "y0": 1, "at": 1}),
        ("y′ = −2y, y(0) = 1. Find y(0.5)", {"expression": "-2y", "variable": "t", "t0": 0, "y0": 1, "at": 0.5}),
        (
            "solve the ODE y' = t - y, y(0) = 1 at t = 2",
            {"expression": "t - y", "variable": "t", "t0": 0, "y0": 1, "at": 2},
        ),
        ("y' = -2y, y(0)=1, evaluate at t=1", {"expression": "-2y", "variable": "t", "t0": 0, "y0": 1, "at": 1}),
        ("dy/dt = 0.3*y, y(0) = 2", {"expression": "0.3*y", "variable": "t", "t0": 0, "y0": 2, "at": None}),
    ],
)
def test_ode_with_initial_condition_and_point(text: str, expected: dict[str, Any]) -> None:
    assert recognise(text, has_csv=False) == {"op": "ode", **expected}


@pytest.mark.parametrize(
    ("text", "lower", "upper"),
    [
        ("integral of e^-x from 0 to infinity", 0, "oo"),
        ("integral of e^-x dx from 0 to ∞", 0, "oo"),
        ("integrate exp(-x^2) from minus infinity to inf", "-oo", "oo"),
        ("integral from 0 to infinity of e^(-x^2) dx", 0, "oo"),
        ("integrate sin(x) from 0 to pi/2", 0, "pi/2"),
        ("integrate x^2 over [0, 3]", 0, 3),
    ],
)
def test_integral_bounds_accept_infinity_words_and_expressions(text: str, lower: Any, upper: Any) -> None:
    plan = recognise(text, has_csv=False)
    assert plan is not None and plan["op"] == "integrate"
    assert (plan["lower"], plan["upper"]) == (lower, upper)


@pytest.mark.parametrize(
    "text",
    [
        "eigenvalues of [[2,1],[1,2]]",
        "eigenvalues of the matrix with rows 2 1 and 1 2",
        "what are the eigenvalues of the matrix with rows (2, 1), (1, 2)",
        "eigenvalues of [2 1; 1 2]",
        "eigenvalues of the matrix with columns 2 1 and 1 2",
    ],
)
def test_written_matrices_are_read(text: str) -> None:
    assert recognise(text, has_csv=False) == {"op": "matrix", "matrix_op": "eigenvalues", "matrix": "[[2, 1], [1, 2]]"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rows 1 2, 3 4", "[[1, 2], [3, 4]]"),
        ("with rows 1.5 -2 and 3 4", "[[1.5, -2], [3, 4]]"),
        ("[[1 2] [3 4]]", "[[1, 2], [3, 4]]"),
        ("((1, 2), (3, 4))", "[[1, 2], [3, 4]]"),
        ("with rows 1 2 and 3", None),
        ("the identity", None),
    ],
)
def test_matrix_literal(text: str, expected: str | None) -> None:
    assert matrix_literal(text) == expected


@pytest.mark.parametrize("text", ["C(10,3)", "10 choose 3", "binomial(10, 3)", "nCr(10,3)", "what is 10C3?"])
def test_binomial_notations_become_one_expression(text: str) -> None:
    assert recognise(text, has_csv=False) == {
        "op": "evaluate",
        "expression": "binomial(10, 3)",
        "simplify": False,
        "mode": None,
    }


# -- executors (need sympy/scipy) ------------------------------------------------------------


@pytest.mark.usefixtures("math_stack")
def test_system_question_answers_with_the_asked_value(tmp_path: Path) -> None:
    result = _run("x + y + z = 6, 2x − y = 1, y + z = 5. What is z?", tmp_path)
    assert result.answer.startswith("z = 4")
    assert result.data["value"] == 4
    assert result.data["solutions"] == [{"x": 1, "y": 1, "z": 4}]


@pytest.mark.usefixtures("math_stack")
def test_system_question_with_two_solutions_and_an_expression(tmp_path: Path) -> None:
    result = _run("x^2 + y^2 = 25, x - y = 1. What is x?", tmp_path)
    assert result.data["items"] == ["-3", "4"]
    assert _run("If x + y = 10 and x − y = 2, what is x·y?", tmp_path).data["value"] == 24


@pytest.mark.usefixtures("math_stack")
def test_underdetermined_question_says_so(tmp_path: Path) -> None:
    result = _run("x + y = 3. What is x?", tmp_path)
    assert "not unique" in result.answer and "y" in result.answer


@pytest.mark.usefixtures("math_stack")
def test_solve_system_for_one_variable_solves_the_whole_system(tmp_path: Path) -> None:
    assert _run("solve x + y = 3, x - y = 1 for x", tmp_path).data["value"] == 2


@pytest.mark.usefixtures("math_stack")
@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("y' = -2y, y(0) = 1; what is y(3)?", math.exp(-6)),
        ("dy/dx = x*y with y(0)=1 at x=1", math.exp(0.5)),
        ("y' = -2y, y(0)=1, evaluate at t=1", math.exp(-2)),
    ],
)
def test_ode_value_at_a_point_is_exact_when_a_closed_form_exists(tmp_path: Path, text: str, value: float) -> None:
    result = _run(text, tmp_path)
    assert result.data["value"] == pytest.approx(value, rel=1e-12)
    assert "exact" in result.data


@pytest.mark.usefixtures("math_stack")
@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("C(10,3)", 120),
        ("10 choose 3", 120),
        ("what is the binomial coefficient C(52, 5)", 2598960),
        ("3 × 4 − 2", 10),
        ("2⁻¹ + 3²", 9.5),
    ],
)
def test_evaluations(tmp_path: Path, text: str, value: float) -> None:
    assert _run(text, tmp_path).data["value"] == value


@pytest.mark.usefixtures("math_stack")
def test_huge_binomials_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SpecialistError) as err:
        _run("binomial(10^9, 5*10^8)", tmp_path)
    assert err.value.kind == "limit"


@pytest.mark.usefixtures("math_stack")
def test_improper_integrals(tmp_path: Path) -> None:
    assert _run("integral of e^-x from 0 to infinity", tmp_path).data["value"] == 1
    assert _run("integral from 0 to infinity of e^(-x^2) dx", tmp_path).data["value"] == pytest.approx(
        math.sqrt(math.pi) / 2, rel=1e-12
    )
    divergent = _run("integrate 1/x from 1 to infinity", tmp_path)
    assert "diverges" in divergent.answer and divergent.data["value"] is None


@pytest.mark.usefixtures("math_stack")
def test_eigenvalues_are_sorted(tmp_path: Path) -> None:
    result = _run("eigenvalues of the matrix with rows 2 1 and 1 2", tmp_path)
    assert result.answer == "1, 3" and result.data["value"] == [1, 3]
    assert _run("eigenvalues of [[0,-1],[1,0]]", tmp_path).answer == "-I, I"


@pytest.mark.usefixtures("math_stack")
def test_unknown_function_is_bad_input_not_internal(tmp_path: Path) -> None:
    with pytest.raises(SpecialistError) as err:
        _run("f(2) + 1", tmp_path)
    assert err.value.kind == "bad_input"


# -- golden suite ----------------------------------------------------------------------------


def _golden() -> list[dict[str, Any]]:
    lines = (FOLDER / "golden.jsonl").read_text(encoding="utf-8").splitlines()
    cases = [json.loads(line) for line in lines if line.strip() and not line.startswith("#")]
    return [c for c in cases if c.get("path", "explicit") == "explicit" or c.get("plan") is not None]


@pytest.mark.usefixtures("math_stack")
@pytest.mark.parametrize("case", _golden(), ids=lambda c: c["id"])
def test_golden_case(case: dict[str, Any], tmp_path: Path) -> None:
    from switchboard_runtime.results import result_message
    from switchboard_runtime.server import map_exception

    from app.engine.evaluation.golden_checks import GoldenCase, check

    files = [FOLDER / f for f in case.get("files", [])]
    task = dataclasses.replace(_task(case["text"], tmp_path, files), plan=case.get("plan"))
    try:
        response = result_message(task, _handler().handle(task))
    except Exception as exc:  # noqa: BLE001 - mapped like the runtime server does
        response = map_exception(task.id, exc)
    outcome = check(GoldenCase.model_validate(case), response)
    assert outcome.passed, f"{case['id']}: {outcome.detail}"
