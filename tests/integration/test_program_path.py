"""Natural-language tasks become programs: the real llama.cpp server writes them, real Docker runs them.

Each program runs in a fresh sandbox container (no network, no /data), its printed answer is
checked, and the program is stored with the task. A small sample of the natural suite runs in
``bench/programs.py``; here the chain itself is tested.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.engine.core.config import Settings
from app.engine.core.events import ContainerStateChanged, Decision
from app.engine.improve.variants import Variant, VariantState
from app.engine.llm.llamacpp import LlamaCppService
from app.engine.orchestrator import Orchestrator
from tests.conftest import require_service

pytestmark = [pytest.mark.docker, pytest.mark.llama]


@pytest.fixture
def llama(tmp_path: Path) -> LlamaCppService:
    service = LlamaCppService(Settings(data_dir=tmp_path / "d", llama_autostart=False))
    status = service.status()
    require_service("llama.cpp server", None if status.up else f"{status.detail} ({status.fix})")
    return service


def test_llama_backend_chats_and_constrains_json(llama: LlamaCppService) -> None:
    model = llama.settings.planning_model
    assert model in llama.status().models
    started = time.perf_counter()
    reply = llama.chat(model, [{"role": "user", "content": "Reply with the word yes."}], options={"num_predict": 8})
    assert reply.strip() and time.perf_counter() - started < 60
    import json

    schema = {"type": "object", "properties": {"id": {"enum": ["numerical", "database"]}}, "required": ["id"]}
    doc = json.loads(
        llama.chat(
            model,
            [{"role": "user", "content": "Which specialist computes integrals?"}],
            format=schema,
            options={"num_predict": 24},
        )
    )
    assert doc["id"] in ("numerical", "database")


def test_a_natural_task_is_answered_by_a_program_in_a_fresh_sandbox(
    llama: LlamaCppService, engine_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    csv = tmp_path / "orders.csv"
    csv.write_text("customer,qty,unit_price\nAda,2,10.5\nBob,1,4\nAda,3,2\nCy,5,1\n")
    orch = Orchestrator(engine_settings())
    events: list[Any] = []
    orch.bus.subscribe(Decision, events.append)
    orch.bus.subscribe(ContainerStateChanged, events.append)
    orch.start().result(timeout=120)
    try:
        store = orch.wait_started()
        v1 = orch.improvement.variants("data-analytics")[0]  # the manifest's incumbent
        candidate = Variant(
            specialist="data-analytics",
            version=2,
            state=VariantState.CANDIDATE,
            base_model=v1.base_model,
            system_prompt="Keep the program short.",
            parameters={"temperature": 0.1},
            parent=v1.id,
            created_at=time.time(),
            live_since=time.time(),
        )
        store.add_variant(candidate.fields()).result(timeout=30)
        orch.improvement._forget("data-analytics")  # reload: the candidate is now in the trial
        view = orch.submit(
            "How much did Ada spend in total (qty times unit price)?", specialist="data-analytics", files=[csv]
        ).future.result(timeout=300)
        # the bandit chose a variant of the routed specialist; its outcome was counted for it
        chosen = orch.wait_started().get_task(view.id).result(timeout=30).result["plan"]["variant"]
        assert chosen in (v1.id, candidate.id)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not store.variant_outcomes("data-analytics", source="live").result(5):
            time.sleep(0.2)
        outcomes = store.variant_outcomes("data-analytics", source="live").result(5)
        assert [(o.variant_id, o.task_id, o.success) for o in outcomes] == [
            (chosen, view.id, view.state == "succeeded")
        ]
        # The chain is under test here, not the model's accuracy (bench/programs.py measures
        # that): the task ends in a terminal state with its reason, every attempt is stored.
        assert view.state in ("succeeded", "failed"), view.state
        row = orch.wait_started().get_task(view.id).result(timeout=30)
        attempts = row.result["plan"]["attempts"]
        assert 1 <= len(attempts) <= orch.settings.program_attempts
        assert all(a["program"].strip() for a in attempts)
        if view.state == "succeeded":
            # a number was printed (its value is the model's accuracy: bench/programs.py measures that)
            assert view.path == "program" and any(ch.isdigit() for ch in view.answer), view.answer
            assert orch.task(view.id).program == view.program == attempts[-1]["program"]
        else:
            assert view.error and view.error_kind in ("bad_input", "bad_plan", "timeout"), (view.error_kind, view.error)
            assert all(a.get("problem") for a in attempts), "every rejected attempt says why"
        steps = [e.reason for e in events if isinstance(e, Decision) and e.kind == "program"]
        assert any(s.startswith("writing code") for s in steps) and any(s.startswith("checking") for s in steps)
        sandboxes = {
            e.container for e in events if isinstance(e, ContainerStateChanged) and e.reason == "program sandbox"
        }
        assert sandboxes, "the program ran in a container started for it"
        removed = {e.container for e in events if isinstance(e, ContainerStateChanged) and e.state == "removed"}
        assert sandboxes <= removed, "the sandbox is removed after its one program"
    finally:
        orch.close(remove_containers=True)


def test_a_program_that_hits_a_limit_says_which(
    llama: LlamaCppService, engine_settings: Callable[..., Settings]
) -> None:
    orch = Orchestrator(engine_settings())
    orch.start().result(timeout=120)
    try:
        view = orch.submit(
            "Write a Python program that loops forever with while True: pass, and run it.",
            specialist="code-execution",
            timeout_s=8,
        ).future.result(timeout=300)
        assert view.state == "failed"
        assert view.error_kind in ("timeout", "limit"), (view.error_kind, view.error)
    finally:
        orch.close(remove_containers=True)


def test_the_database_specialist_answers_in_sql_run_over_the_attached_database(
    llama: LlamaCppService, engine_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    import sqlite3

    db = tmp_path / "shop.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT, total REAL)")
        conn.executemany(
            "INSERT INTO orders (customer, total) VALUES (?, ?)",
            [("Ada", 12.5), ("Bob", 3.0), ("Ada", 7.25), ("Cy", 40.0), ("Bob", 1.0)],
        )
    conn.close()
    orch = Orchestrator(engine_settings())
    orch.start().result(timeout=120)
    try:
        view = orch.submit(
            "How many orders are in the orders table of this database?", specialist="database", files=[db]
        ).future.result(timeout=300)
        attempts = orch.wait_started().get_task(view.id).result(timeout=30).result["plan"]["attempts"]
        # the model wrote SQL; the engine's fixed program ran it over a copy of the attached file
        assert attempts and all('SQL = r"""' in a["program"] for a in attempts), attempts[0]["program"]
        assert all("shop.db" in a["program"] for a in attempts)
        assert view.state == "succeeded", (view.error_kind, view.error)
        assert view.answer.strip().splitlines()[-1].strip() == "5", view.answer  # SQLite counted, not the model
        assert db.stat().st_size > 0 and sqlite3.connect(db).execute("SELECT COUNT(*) FROM orders").fetchone() == (5,)
    finally:
        orch.close(remove_containers=True)
