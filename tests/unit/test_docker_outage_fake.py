"""The container backend going away and coming back (fake runtime): tasks wait, pools resync."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.engine.core.states import TaskState
from tests.unit.fake_runtime import Rig, make_rig, make_spec

WAIT = 10.0


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    with make_rig(tmp_path, [make_spec(concurrency=1, max_replicas=2)], docker_wait_s=5.0) as r:
        yield r


def test_a_task_submitted_while_the_backend_is_down_waits_and_runs_when_it_is_back(rig: Rig) -> None:
    rig.runtime.down = True
    job = rig.job("hello")
    future = rig.dispatcher.submit(job)
    time.sleep(0.5)
    assert not future.done(), "it must wait for Docker, not fail at once"
    waiting = rig.recorder.decisions("waiting_for_docker")
    assert [d.subject for d in waiting] == [job.task_id] and "waiting for Docker" in waiting[0].reason
    rig.runtime.down = False
    view = future.result(WAIT)
    assert (view.state, view.answer, view.attempt) == (TaskState.SUCCEEDED, "echo: hello", 1)
    assert rig.recorder.decisions("crash_backoff") == [] and rig.recorder.decisions("quarantine") == []


def test_a_backend_that_stays_down_fails_the_task_naming_the_wait(rig: Rig) -> None:
    rig.runtime.down = True
    started = time.monotonic()
    view = rig.dispatcher.submit(rig.job("hello")).result(WAIT)
    assert 4.5 <= time.monotonic() - started < WAIT
    assert (view.state, view.error_kind) == (TaskState.FAILED, "unavailable")
    assert "did not come back within 5 s" in (view.error or "")


def test_a_task_waiting_for_docker_can_be_cancelled(rig: Rig) -> None:
    rig.runtime.down = True
    job = rig.job("hello")
    future = rig.dispatcher.submit(job)
    time.sleep(0.3)
    assert rig.dispatcher.cancel(job.task_id)
    view = future.result(WAIT)
    assert view.state == TaskState.CANCELLED and "waiting for Docker" in (view.error or "")


def test_resync_forgets_stopped_replicas_and_removes_leftovers_without_counting_crashes(rig: Rig) -> None:
    first, second = rig.lifecycle.scale("echo", 2)
    rig.runtime.engine_restart()  # both stop; the pool still lists them
    forgotten, leftovers = rig.lifecycle.resync()
    assert sorted(forgotten) == sorted([first.name, second.name]) and leftovers == []
    assert rig.lifecycle.replicas("echo") == []
    assert rig.runtime.containers == {}
    assert rig.recorder.decisions("crash_backoff") == []
    # a removal that failed while the backend was down leaves a stopped container: swept later
    third = rig.lifecycle.scale("echo", 1)[0]
    rig.runtime.engine_restart()
    rig.runtime.down = True
    rig.lifecycle.mark_dead(third.name, "connection lost")
    assert third.name in rig.runtime.containers
    rig.runtime.down = False
    assert rig.lifecycle.resync() == ([], [third.name])
    assert rig.runtime.containers == {}
    assert rig.recorder.decisions("crash_backoff") == [], "Docker going away is not the image's crash"


def test_resync_keeps_running_replicas_and_containers_being_started(rig: Rig) -> None:
    kept = rig.lifecycle.scale("echo", 1)[0]
    gate, entered = threading.Event(), threading.Event()

    def slow_start(_spec: object) -> None:
        entered.set()
        gate.wait(5)

    rig.runtime.on_run = slow_start
    starter = threading.Thread(target=rig.lifecycle.scale, args=("echo", 2))
    starter.start()
    assert entered.wait(5)
    assert rig.lifecycle.resync() == ([], [])
    gate.set()
    starter.join(5)
    assert {r.name for r in rig.lifecycle.replicas("echo")} >= {kept.name} and len(rig.lifecycle.replicas("echo")) == 2
