"""Real hardened containers killed or paused mid-task (real engine, its own namespace)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.engine.core.config import Settings
from app.engine.core.events import TaskStateChanged
from app.engine.orchestrator import Orchestrator
from tests.faults.conftest import assert_sound
from tests.integration.conftest import docker_client  # noqa: F401 - session fixture
from tests.integration.engine_fixtures import NS_LABEL, engine_settings  # noqa: F401

pytestmark = [pytest.mark.docker, pytest.mark.faults]

# a query that keeps the shared (not one-task) database container busy for a few seconds
SLOW_SQL = "with recursive c(x) as (select 1 union all select x + 1 from c where x < 30000000) select count(*) from c"


@pytest.fixture
def engine(engine_settings: Callable[..., Settings]) -> Iterator[Orchestrator]:  # noqa: F811
    orch = Orchestrator(engine_settings(autoscale=False))
    orch.start().result(timeout=180)
    yield orch
    orch.close(remove_containers=True)


def rows_of(orch: Orchestrator) -> list[dict[str, Any]]:
    return [{"id": t.id, "state": t.state, "error_message": t.error} for t in orch.tasks(limit=500)]


def when_running(orch: Orchestrator, action: Callable[[str], None], delay_s: float = 1.0) -> list[str]:
    hit: list[str] = []

    def on_state(event: TaskStateChanged) -> None:
        if event.state == "running" and event.container and not hit:
            hit.append(event.container)
            threading.Timer(delay_s, action, args=(event.container,)).start()

    orch.bus.subscribe(TaskStateChanged, on_state)
    return hit


def ours(client: Any, namespace: str) -> list[Any]:
    return client.containers.list(all=True, filters={"label": f"{NS_LABEL}={namespace}"})


def test_a_container_killed_mid_task_is_replaced_and_the_task_finishes(
    engine: Orchestrator,
    docker_client: Any,  # noqa: F811
) -> None:
    killed = when_running(engine, engine.runtime.kill)
    view = engine.submit(SLOW_SQL, specialist="database").future.result(timeout=300)
    assert killed and view.state == "succeeded", view
    assert view.attempt == 2 and view.container != killed[0]
    assert "30000000" in view.answer or view.tables
    engine.close(remove_containers=True)
    assert_sound(engine.settings.data_dir / "switchboard.db", rows_of_closed(engine), [view.id])
    assert ours(docker_client, engine.settings.namespace) == []


def test_a_paused_container_times_the_task_out_with_a_reason_and_is_replaced(
    engine: Orchestrator,
    docker_client: Any,  # noqa: F811
) -> None:
    paused = when_running(engine, lambda name: docker_client.containers.get(name).pause())
    handle = engine.submit(SLOW_SQL, specialist="database", timeout_s=3.0)
    view = handle.future.result(timeout=120)
    assert paused and view.state == "failed" and view.error_kind == "timeout", view
    assert "time limit" in (view.error or "")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(
        c.name == paused[0] for c in ours(docker_client, engine.settings.namespace)
    ):
        time.sleep(0.2)
    assert not any(c.name == paused[0] for c in ours(docker_client, engine.settings.namespace)), (
        "the paused container stayed"
    )
    again = engine.submit("select 6 * 7", specialist="database").future.result(timeout=180)
    assert again.state == "succeeded" and again.container != paused[0]
    assert engine.task(handle.id).state == "failed"  # nothing late rewrote it
    engine.close(remove_containers=True)
    assert_sound(engine.settings.data_dir / "switchboard.db", rows_of_closed(engine), [handle.id, again.id])
    assert ours(docker_client, engine.settings.namespace) == []


def rows_of_closed(orch: Orchestrator) -> list[dict[str, Any]]:
    db = Path(orch.settings.data_dir) / "switchboard.db"
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("select id, state, error_message from tasks")]
    finally:
        conn.close()
