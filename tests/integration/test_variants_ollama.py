"""A specialist variant made on the real Ollama server and replayed on a recorded task."""

from __future__ import annotations

import random
from pathlib import Path

import ollama
import pytest

from app.engine.core.specs import load_catalogue
from app.engine.improve import Variant, VariantState, replay
from app.engine.improve.ollama_variants import PlanReplay
from app.engine.llm.ollama_service import OllamaService
from app.engine.store import ExampleRecord
from tests.integration.ollama_fixtures import *  # noqa: F403 - pytest fixtures

pytestmark = pytest.mark.ollama
SPECIALISTS = Path(__file__).resolve().parents[2] / "specialists"


def test_variant_model_is_created_with_its_configuration_and_replays_a_task(ollama_service: OllamaService) -> None:
    spec = load_catalogue(SPECIALISTS).specs["numerical"]
    assert spec.planner is not None
    base = 100_000 + random.Random().randrange(800_000)  # versions no real database holds
    examples = {
        "t-example": ExampleRecord(
            specialist="numerical",
            example_id="t-example",
            source="feedback",
            label="good",
            text="What is the integral of x^3 from 0 to 2?",
            ts=1.0,
            created_at=1.0,
            plan={"op": "integrate", "expression": "x^3", "variable": "x", "lower": 0, "upper": 2},
        ),
    }
    incumbent = Variant(
        specialist="numerical",
        version=base,
        state=VariantState.INCUMBENT,
        base_model=ollama_service.model,
        system_prompt=spec.planner.system_prompt,
        parameters={"temperature": 0.0, "num_predict": 96.0},
    )
    candidate = Variant(
        specialist="numerical",
        version=base + 1,
        state=VariantState.PENDING,
        base_model=ollama_service.model,
        system_prompt=spec.planner.system_prompt,
        parameters={"temperature": 0.0, "num_predict": 96.0},
        example_ids=("t-example",),
        parent=incumbent.id,
    )
    recorded = ExampleRecord(
        specialist="numerical",
        example_id="t-num-01",
        source="golden",
        label="good",
        text="integrate x^2 from 0 to 3",
        ts=1.0,
        created_at=1.0,
        plan={"op": "integrate", "expression": "x^2", "variable": "x", "lower": 0, "upper": 3},
    )
    runner = PlanReplay(ollama_service, spec, examples, timeout_s=120)
    try:
        report = replay(candidate, incumbent, [recorded], runner)
        names = {m.name for m in ollama_service.list_models()}
        assert {candidate.model_name, incumbent.model_name} <= names
        shown = ollama.Client(host=ollama_service.host, timeout=30).show(candidate.model_name)
        assert "sympy/scipy calculator" in str(shown.modelfile)  # the variant's system prompt
        assert "num_predict" in str(shown.parameters) and "96" in str(shown.parameters)
        assert "x^3" in str(shown.modelfile)  # its few-shot example, chosen from the dataset
        assert report.cases == 1 and len(report.rows) == 1
        for side in ("incumbent", "candidate"):
            row = report.rows[0][side]
            assert row["latency_ms"] > 0 and row["detail"]  # the model answered and was judged
        assert report.reason.startswith(("numerical v", "numerical "))  # a verdict in words and figures
        assert report.passed == (report.candidate_successes >= report.incumbent_successes)
    finally:
        runner.cleanup()
    assert {candidate.model_name, incumbent.model_name}.isdisjoint({m.name for m in ollama_service.list_models()})
