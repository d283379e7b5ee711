"""Golden suite loading and every check kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.engine.evaluation import GoldenCase, GoldenError, check, load_golden

ROOT = Path(__file__).resolve().parents[2]


def _case(check_spec: dict) -> GoldenCase:
    return GoldenCase.model_validate({"id": "c", "text": "t", "check": check_spec})


def _ok(**fields: object) -> dict:
    return {"ok": True, "answer": "", "data": None, "tables": [], "error": None, **fields}


def _fail(kind: str) -> dict:
    return {"ok": False, "answer": "", "error": {"kind": kind, "message": "m"}}


def test_load_golden_reports_file_and_line(tmp_path: Path) -> None:
    good = '{"id": "a", "text": "x", "check": {"kind": "contains", "values": ["y"]}}'
    path = tmp_path / "golden.jsonl"
    path.write_text(f"{good}\n\n# comment\n{{broken\n")
    with pytest.raises(GoldenError, match=r"golden.jsonl:4: not valid JSON"):
        load_golden(path)
    path.write_text(f'{good}\n{{"id": "b", "text": "x", "check": {{"kind": "number"}}}}\n')
    with pytest.raises(GoldenError, match=r"golden.jsonl:2: check: .*needs 'value'"):
        load_golden(path)
    path.write_text(f"{good}\n{good}\n")
    with pytest.raises(GoldenError, match="duplicate id 'a'"):
        load_golden(path)
    path.write_text(good + "\n")
    assert [c.id for c in load_golden(path)] == ["a"]


@pytest.mark.parametrize("name", ["numerical", "code-execution", "database"])
def test_shipped_suites_load(name: str) -> None:
    cases = load_golden(ROOT / "specialists" / name / "golden.jsonl")
    assert len(cases) >= 10
    for case in cases:
        for file in case.files:
            assert (ROOT / "specialists" / name / file).is_file(), f"{case.id}: {file} missing"


def test_number_prefers_data_value_then_answer() -> None:
    case = _case({"kind": "number", "value": 9, "tol": 1e-6})
    assert check(case, _ok(answer="nine", data={"value": 9.0000001})).passed
    assert check(case, _ok(answer="the result is 9")).passed
    assert not check(case, _ok(answer="8.5")).passed
    assert not check(case, _ok(answer="no digits")).passed
    big = _case({"kind": "number", "value": 2**200, "tol": 0})
    assert check(big, _ok(data={"value": 2**200})).passed
    assert not check(big, _ok(data={"value": 2**200 + 1})).passed
    assert "task failed: internal" in check(case, _fail("internal")).detail


def test_contains_is_case_insensitive() -> None:
    case = _case({"kind": "contains", "values": ["Hello", "world"]})
    assert check(case, _ok(answer="hello WORLD")).passed
    assert not check(case, _ok(answer="hello")).passed


def test_set_uses_items_or_first_column() -> None:
    case = _case({"kind": "set", "values": ["2", "3"]})
    assert check(case, _ok(data={"items": ["3", "2"]})).passed
    table = {"name": "r", "columns": ["x"], "rows": [[2], [3]]}
    assert check(case, _ok(tables=[table])).passed
    assert not check(case, _ok(data={"items": ["2"]})).passed
    assert not check(case, _ok()).passed


def test_rows_order_and_numbers() -> None:
    case = _case({"kind": "rows", "rows": [["a", 1], ["b", 2.5]]})
    table = {"name": "r", "columns": ["k", "v"], "rows": [["b", 2.5], ["a", 1.0]]}
    assert check(case, _ok(tables=[table])).passed
    ordered = _case({"kind": "rows", "rows": [["a", 1], ["b", 2.5]], "ordered": True})
    assert not check(ordered, _ok(tables=[table])).passed
    assert not check(case, _ok()).passed


def test_error_kind() -> None:
    case = _case({"kind": "error", "error": "limit"})
    assert check(case, _fail("limit")).passed
    assert not check(case, _fail("timeout")).passed
    assert not check(case, _ok(answer="fine")).passed
    alias = _case({"kind": "error", "error_kind": "bad_input"})
    assert check(alias, _fail("bad_input")).passed
