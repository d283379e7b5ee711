"""The real Docker engine restarted while a task runs, and a task submitted while it is down.

The test stops the machine's ``dockerd`` (SIGTERM, as a service restart would), submits a task
while it is down, and starts it again with the project's own ``packaging/setup/dockerd.sh``.
The engine must not be restarted: the running task is retried on a new container, the waiting
one says "waiting for Docker" and runs once Docker answers, and no duplicate or stopped
container of ours is left afterwards.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from app.engine.core.config import Settings
from app.engine.core.events import Decision
from app.engine.orchestrator import Orchestrator
from tests.faults.conftest import assert_sound
from tests.faults.test_containers_docker import SLOW_SQL, ours, rows_of_closed, when_running
from tests.integration.conftest import docker_client  # noqa: F401 - session fixture
from tests.integration.engine_fixtures import engine_settings  # noqa: F401

pytestmark = [pytest.mark.docker, pytest.mark.faults]

ROOT = Path(__file__).resolve().parents[2]
PIDFILE = Path("/var/run/docker.pid")


def docker_answers() -> bool:
    return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0


def stop_dockerd() -> None:
    pid = int(PIDFILE.read_text().strip())
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    raise AssertionError("dockerd did not stop within 60 s")


def start_dockerd() -> None:
    subprocess.run(["bash", str(ROOT / "packaging/setup/dockerd.sh")], check=True, timeout=120)


@pytest.fixture
def engine(engine_settings: Callable[..., Settings]) -> Iterator[Orchestrator]:  # noqa: F811
    if os.geteuid() != 0 or not PIDFILE.exists():
        pytest.fail("restarting the Docker engine needs root and the dockerd started by packaging/setup/dockerd.sh")
    orch = Orchestrator(engine_settings(autoscale=False, docker_wait_s=180.0))
    orch.start().result(timeout=180)
    yield orch
    if not docker_answers():  # never leave the machine without Docker
        start_dockerd()
    orch.close(remove_containers=True)


def test_docker_restarted_mid_task_and_a_task_submitted_while_down(engine: Orchestrator) -> None:
    decisions: list[Decision] = []
    engine.bus.subscribe(Decision, decisions.append)
    warm = engine.submit("select 1", specialist="database").future.result(timeout=180)
    assert warm.state == "succeeded", warm

    restarted: list[str] = []

    def restart(_container: str) -> None:
        stop_dockerd()
        restarted.append("stopped")

    when_running(engine, restart, delay_s=0.5)
    running = engine.submit(SLOW_SQL, specialist="database", timeout_s=120)
    deadline = time.monotonic() + 90
    while not restarted and time.monotonic() < deadline:
        time.sleep(0.2)
    assert restarted, "the task never started running"
    assert not docker_answers()
    waiting = engine.submit("select 6 * 7", specialist="database", timeout_s=60)
    time.sleep(3)
    assert not waiting.future.done(), "a task submitted while Docker is down must wait, not fail at once"
    start_dockerd()

    first = running.future.result(timeout=300)
    second = waiting.future.result(timeout=300)
    assert second.state == "succeeded" and "42" in second.answer, second
    # the interrupted task ran again, on a new container started once Docker answered
    assert first.state == "succeeded" and first.attempt == 2, first
    kinds = [d.kind for d in decisions]
    assert any(d.kind == "waiting_for_docker" and d.subject == second.id for d in decisions), kinds
    assert not any(d.kind == "quarantine" for d in decisions), "a Docker restart is not the specialist's crash"

    client = docker.from_env(timeout=30)
    namespace = engine.settings.namespace
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the resync after Docker came back sweeps stopped leftovers
        left = ours(client, namespace)
        if all(c.status == "running" for c in left):
            break
        time.sleep(0.5)
    left = ours(client, namespace)
    assert all(c.status == "running" for c in left), [(c.name, c.status) for c in left]
    assert {c.name for c in left} == {r.name for r in engine.lifecycle.replicas()}, (
        "a container the engine does not know"
    )
    assert len(left) <= engine.catalogue.specs["database"].scaling.max_replicas

    again = engine.submit("select 2 + 2", specialist="database").future.result(timeout=180)
    assert again.state == "succeeded" and "4" in again.answer
    engine.close(remove_containers=True)
    rows: list[dict[str, Any]] = rows_of_closed(engine)
    assert_sound(engine.settings.data_dir / "switchboard.db", rows, [warm.id, running.id, waiting.id, again.id])
    assert ours(client, namespace) == []
