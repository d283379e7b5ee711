"""Routing through the model path against the real llama.cpp server and model.

A few unambiguous tasks go through the router with a threshold that sends every task to the
model, so the schema-constrained call, the re-validation and the combination rule run for
real. Under ``CI=true`` a missing server fails the test instead of skipping it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.engine.core.config import Settings
from app.engine.core.specs import load_catalogue
from app.engine.llm.llamacpp import LlamaCppService
from app.engine.routing.combine import CombineParams
from app.engine.routing.llm import LLMRouter
from app.engine.routing.router import Router
from tests.conftest import require_service

pytestmark = pytest.mark.llama
SPECIALISTS = Path(__file__).resolve().parents[2] / "specialists"
# generous: the shared server queues calls behind other work (one generation at a time)
TIMEOUT_S = 120.0


@pytest.fixture
def llama(tmp_path: Path) -> LlamaCppService:
    service = LlamaCppService(Settings(data_dir=tmp_path / "d", llama_autostart=False))
    status = service.status()
    require_service("llama.cpp server", None if status.up else f"{status.detail} ({status.fix})")
    return service


def test_model_answers_inside_the_catalogue(llama: LlamaCppService) -> None:
    specs = list(load_catalogue(SPECIALISTS).specs.values())
    llm = LLMRouter(llama, specs, llama.settings.planning_model, timeout_s=TIMEOUT_S)
    answer = llm.ask("solve the equation x^2 - 5x + 6 = 0 for x")
    assert answer.violation == "" and answer.route == "numerical", answer


@pytest.mark.parametrize(
    ("text", "files", "expected"),
    [
        ("SELECT name, COUNT(*) FROM orders GROUP BY name", ["shop.sqlite"], "database"),
        ("extract every link from this saved page", ["page.html"], "web-scraping"),
    ],
)
def test_unambiguous_tasks_route_through_the_model(
    llama: LlamaCppService, text: str, files: list[str], expected: str
) -> None:
    router = Router(
        load_catalogue(SPECIALISTS),
        llama,
        model=llama.settings.planning_model,
        llm_timeout_s=TIMEOUT_S,
        combine=CombineParams(threshold=1.0),
        cache_dir=False,
    )
    decision = router.decide(text, files)
    assert decision.router == "llm", decision.rationale  # the model answered (no fallback)
    assert decision.data["model_choice"] in set(router.specs) | {"none"}
    assert decision.chosen == expected, decision
