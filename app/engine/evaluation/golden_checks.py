"""Golden suites: load ``specialists/<id>/golden.jsonl`` and check responses against them.

Qt-free and Docker-free: callers (tests, the evaluation runner, the CLI) run the task however
they like and hand the wire response dict to :func:`check`.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

__all__ = ["CheckOutcome", "GoldenCase", "GoldenCheck", "GoldenError", "check", "load_golden"]

CheckKind = Literal["number", "contains", "set", "rows", "error"]
_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")


class GoldenError(ValueError):
    """A golden file line that cannot be used; the message names the file and line."""


class GoldenCheck(BaseModel):
    """How to judge one response (see docs/ARCHITECTURE.md, "Golden suites").

    The expected error kind of an ``error`` check is written ``"error": "<kind>"`` because
    ``kind`` already names the check kind; ``error_kind`` is accepted as a synonym.
    """

    model_config = ConfigDict(extra="forbid")

    kind: CheckKind
    value: float | int | None = None
    tol: float = Field(1e-6, ge=0)
    values: list[str] | None = None
    rows: list[list[Any]] | None = None
    ordered: bool = False
    error: str | None = None
    error_kind: str | None = None

    @model_validator(mode="after")
    def _fields_for_kind(self) -> GoldenCheck:
        if self.kind == "number" and self.value is None:
            raise ValueError("a 'number' check needs 'value'")
        if self.kind in ("contains", "set") and not self.values:
            raise ValueError(f"a '{self.kind}' check needs a non-empty 'values' list")
        if self.kind == "rows" and self.rows is None:
            raise ValueError("a 'rows' check needs 'rows'")
        if self.kind == "error" and not (self.error or self.error_kind):
            raise ValueError("an 'error' check needs 'error' (the expected error kind)")
        return self

    @property
    def expected_error(self) -> str:
        """The error kind an ``error`` check expects."""
        return self.error or self.error_kind or ""


class GoldenCase(BaseModel):
    """One line of a golden suite."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    text: str
    files: list[str] = Field(default_factory=list)
    path: Literal["explicit", "planned"] = "explicit"
    check: GoldenCheck
    plan: dict[str, Any] | None = None
    split: Literal["dev", "holdout", "fresh", "fresh2", "fresh3"] | None = None  # natural: only dev is tuned on
    line: int = Field(0, exclude=True)


class CheckOutcome(BaseModel):
    """Whether a response passed, and a sentence saying why not."""

    model_config = ConfigDict(frozen=True)

    passed: bool
    detail: str


def load_golden(path: Path) -> list[GoldenCase]:
    """Read a golden suite; a bad line raises :class:`GoldenError` naming file and line.

    Blank lines and lines starting with ``#`` are skipped; ids must be unique.
    """
    cases: list[GoldenCase] = []
    seen: set[str] = set()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise GoldenError(f"{path}: cannot read: {exc}") from exc
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise GoldenError(f"{path}:{number}: not valid JSON: {exc.msg}") from exc
        if not isinstance(obj, dict):
            raise GoldenError(f"{path}:{number}: expected a JSON object")
        try:
            case = GoldenCase.model_validate({**obj, "line": number})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(line)"
            raise GoldenError(f"{path}:{number}: {where}: {first['msg']}") from exc
        if case.id in seen:
            raise GoldenError(f"{path}:{number}: duplicate id {case.id!r}")
        seen.add(case.id)
        cases.append(case)
    return cases


def _error_kind(response: dict[str, Any]) -> str | None:
    error = response.get("error")
    if isinstance(error, dict):
        kind = error.get("kind")
        return str(kind) if kind is not None else "internal"
    return None


def _failure_detail(response: dict[str, Any]) -> str:
    error = response.get("error") or {}
    if isinstance(error, dict):
        return f"task failed: {error.get('kind')}: {error.get('message')}"
    return "task failed"


def _as_number(value: Any) -> float | int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        match = _NUMBER.search(value)
        if match:
            text = match.group(0)
            return int(text) if re.fullmatch(r"[-+]?\d+", text) else float(text)
    return None


def _check_number(expected: float | int, tol: float, response: dict[str, Any]) -> CheckOutcome:
    data = response.get("data")
    got = None
    source = "answer"
    if isinstance(data, dict) and "value" in data:
        got = _as_number(data["value"])
        source = "data.value"
    if got is None:
        got = _as_number(response.get("answer") or "")
        source = "answer"
    if got is None:
        return CheckOutcome(passed=False, detail=f"no number in {source}: {response.get('answer')!r}")
    if isinstance(got, int) and isinstance(expected, int) and tol < 1:
        ok = abs(got - expected) <= tol
    else:
        ok = math.isfinite(float(got)) and math.isclose(float(got), float(expected), rel_tol=1e-12, abs_tol=tol)
    if ok:
        return CheckOutcome(passed=True, detail=f"{source} = {got}")
    return CheckOutcome(passed=False, detail=f"{source} = {got}, expected {expected} ± {tol}")


def _norm(cell: Any) -> Any:
    """Compare cells loosely: 3 == 3.0, strings stripped."""
    if isinstance(cell, bool):
        return cell
    if isinstance(cell, int | float):
        return float(f"{float(cell):.9g}")  # 9 significant digits: float noise and 12-digit tables agree
    if isinstance(cell, str):
        return cell.strip()
    return cell


def _first_table(response: dict[str, Any]) -> dict[str, Any] | None:
    tables = response.get("tables") or []
    return tables[0] if tables and isinstance(tables[0], dict) else None


def _check_set(expected: list[str], response: dict[str, Any]) -> CheckOutcome:
    data = response.get("data")
    items: list[Any] | None = None
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        items = data["items"]
    else:
        table = _first_table(response)
        if table is not None:
            items = [row[0] for row in table.get("rows", []) if row]
    if items is None:
        return CheckOutcome(passed=False, detail="no data.items and no table in the response")
    got = {str(i).strip() for i in items}
    want = {str(v).strip() for v in expected}
    if got == want:
        return CheckOutcome(passed=True, detail=f"set {sorted(got)}")
    return CheckOutcome(
        passed=False,
        detail=f"missing {sorted(want - got)}, unexpected {sorted(got - want)}",
    )


def _check_rows(expected: list[list[Any]], ordered: bool, response: dict[str, Any]) -> CheckOutcome:
    table = _first_table(response)
    if table is None:
        return CheckOutcome(passed=False, detail="the response has no table")
    got = [[_norm(c) for c in row] for row in table.get("rows", [])]
    want = [[_norm(c) for c in row] for row in expected]
    if not ordered:
        got, want = sorted(got, key=repr), sorted(want, key=repr)
    if got == want:
        return CheckOutcome(passed=True, detail=f"{len(got)} rows match")
    return CheckOutcome(passed=False, detail=f"rows {got[:5]} != expected {want[:5]}")


def check(case: GoldenCase, response: dict[str, Any]) -> CheckOutcome:
    """Judge one wire response against ``case.check``."""
    spec = case.check
    error_kind = _error_kind(response) if not response.get("ok") else None
    if spec.kind == "error":
        if response.get("ok"):
            return CheckOutcome(
                passed=False,
                detail=f"expected error {spec.expected_error!r}, but the task succeeded: "
                f"{str(response.get('answer'))[:120]!r}",
            )
        if error_kind == spec.expected_error:
            return CheckOutcome(passed=True, detail=f"failed with {error_kind} as expected")
        return CheckOutcome(passed=False, detail=f"expected error {spec.expected_error!r}, got {error_kind!r}")
    if not response.get("ok"):
        return CheckOutcome(passed=False, detail=_failure_detail(response))
    if spec.kind == "number":
        assert spec.value is not None
        return _check_number(spec.value, spec.tol, response)
    if spec.kind == "contains":
        answer = str(response.get("answer") or "").lower()
        missing = [v for v in spec.values or [] if v.lower() not in answer]
        if missing:
            return CheckOutcome(passed=False, detail=f"answer lacks {missing}: {answer[:200]!r}")
        return CheckOutcome(passed=True, detail="answer contains every value")
    if spec.kind == "set":
        return _check_set(spec.values or [], response)
    return _check_rows(spec.rows or [], spec.ordered, response)
