"""The planner on the real derived model: a schema-valid plan or a clean bad_plan failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.engine.core.errors import TaskFailed
from app.engine.core.schema import schema_errors
from app.engine.core.specs import load_catalogue
from app.engine.llm.ollama_service import OllamaService
from app.engine.llm.planner import Planner
from tests.integration.ollama_fixtures import *  # noqa: F403 - pytest fixtures

pytestmark = pytest.mark.ollama
SPECIALISTS = Path(__file__).resolve().parents[2] / "specialists"


def test_plan_is_schema_valid_or_bad_plan(ollama_service: OllamaService) -> None:
    specs = [s for s in load_catalogue(SPECIALISTS).specs.values() if s.planner is not None]
    if not specs:
        pytest.skip("no specialist with a planner in the catalogue")
    spec = specs[0]
    violations: list[tuple[str, str]] = []
    planner = Planner(ollama_service, on_violation=lambda sid, detail: violations.append((sid, detail)))
    try:
        plan = planner.plan(
            spec, "what is the average amount per region?", [{"name": "sales.csv", "columns": ["region", "amount"]}]
        )
    except TaskFailed as exc:
        assert exc.kind == "bad_plan"
        assert len(violations) == 2 and all(sid == spec.id for sid, _ in violations)
        return
    schema = spec.plan_schema()
    assert schema is not None and schema_errors(plan, schema) == []
    assert len(violations) <= 1
