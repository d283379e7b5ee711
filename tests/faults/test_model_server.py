"""The model servers stopped or hung: routing and planning give up at the configured timeout.

The hung server is a loopback listener that accepts and never answers; the stopped one is a
port nobody listens on. The shared Ollama and llama.cpp servers are never touched.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from app.engine.core.config import Settings
from app.engine.core.errors import EngineError
from app.engine.core.events import EventBus
from app.engine.core.specs import load_catalogue
from app.engine.llm.llamacpp import LlamaCppService
from app.engine.llm.ollama_service import OllamaService
from app.engine.llm.planner import Planner
from app.engine.routing.service import RoutingService
from tests.faults.servers import hung_server, stopped_server

SPECIALISTS = Path(__file__).resolve().parents[2] / "specialists"
ROUTING_TIMEOUT = 2.0
AMBIGUOUS = [
    "look into this for me please",
    "can you handle these numbers",
    "make sense of it",
    "what about the results",
    "check this thing",
    "sort it out",
]


@pytest.fixture(params=["hung", "stopped"])
def server(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "stopped":
        yield stopped_server()
    else:
        with hung_server() as url:
            yield url


def settings_for(url: str, tmp_path: Path, **extra: object) -> Settings:
    values: dict[str, object] = {
        "ollama_host": url,
        "llama_host": url,
        "ollama_autostart": False,
        "llama_autostart": False,
        "routing_llm_timeout_s": ROUTING_TIMEOUT,
        "ollama_timeout_s": 3.0,
        "llama_timeout_s": 3.0,
        "route_confidence_threshold": 0.99,
        **extra,
    }
    return Settings(data_dir=tmp_path, specialists_dir=SPECIALISTS, **values)  # type: ignore[arg-type]


def test_routing_falls_back_and_nothing_piles_up_behind_one_call(server: str, tmp_path: Path) -> None:
    """Six tasks routed at once while the model server is away: all routed by the fast router in
    about one timeout, not six in a row."""
    routing = RoutingService(settings_for(server, tmp_path), load_catalogue(SPECIALISTS), EventBus())
    routing.warm()
    started = time.monotonic()
    with ThreadPoolExecutor(len(AMBIGUOUS)) as pool:
        views = list(pool.map(lambda t: routing.decide(t, [], {}), AMBIGUOUS))
    elapsed = time.monotonic() - started
    assert elapsed < ROUTING_TIMEOUT + 3.0, f"routing took {elapsed:.1f} s: calls piled up behind the model server"
    for view in views:
        assert view.router in ("fast", "fallback"), view
        assert view.rationale
    # and after that the router does not even try for a while: routing is instant
    started = time.monotonic()
    routing.decide("tell me about these figures", [], {})
    assert time.monotonic() - started < 1.0
    routing.close()


def test_planning_gives_up_at_the_tasks_time_limit(server: str, tmp_path: Path) -> None:
    settings = settings_for(server, tmp_path, ollama_timeout_s=60.0)  # the server-wide timeout is long
    spec = load_catalogue(SPECIALISTS).specs["database"]
    planner = Planner(OllamaService(settings))
    started = time.monotonic()
    with pytest.raises(EngineError) as info:
        planner.plan(spec, "show the ten biggest customers", timeout_s=4.0)
    elapsed = time.monotonic() - started
    assert elapsed < 4.0 + 7.0, f"planning took {elapsed:.1f} s, past the 4 s the task had"
    assert str(info.value)


def test_plans_queued_behind_a_hung_call_give_up_at_their_own_limit(tmp_path: Path) -> None:
    """Three plans at once on a hung server: none waits longer than its own time limit (+ grace)."""
    with hung_server() as url:
        settings = settings_for(url, tmp_path, ollama_timeout_s=60.0)
        spec = load_catalogue(SPECIALISTS).specs["database"]
        planner = Planner(OllamaService(settings))
        planner._ready.add(spec.id)  # the derived model "exists": go straight to the chat call

        def one(_: int) -> tuple[float, str]:
            started = time.monotonic()
            try:
                planner.plan(spec, "top customers", timeout_s=3.0)
            except EngineError as exc:
                return time.monotonic() - started, str(exc)
            return time.monotonic() - started, ""

        with ThreadPoolExecutor(3) as pool:
            outcomes = list(pool.map(one, range(3)))
    for elapsed, message in outcomes:
        assert message, "a plan cannot succeed against a hung server"
        assert elapsed < 3.0 + 2.5, f"a queued plan waited {elapsed:.1f} s ({message})"


def test_the_program_writer_model_gives_up_at_its_timeout(server: str, tmp_path: Path) -> None:
    llama = LlamaCppService(settings_for(server, tmp_path))
    started = time.monotonic()
    with pytest.raises(EngineError) as info:
        llama.chat("coder", [{"role": "user", "content": "write a program"}], timeout_s=2.0)
    assert time.monotonic() - started < 2.0 + 3.0
    assert "llama" in str(info.value).lower() or "model" in str(info.value).lower() or str(info.value)
