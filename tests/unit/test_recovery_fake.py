"""Crash recovery: reconcile requeues, fails after max attempts, and routes unrouted tasks."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from app.engine.core.errors import EngineError, OllamaUnavailable
from app.engine.core.events import TaskStateChanged
from app.engine.core.specs import Catalogue, SpecialistSpec
from app.engine.core.states import TaskState
from app.engine.core.views import RouteView
from app.engine.tasks.dispatch import MAX_ATTEMPTS, InputRecord, Job
from app.engine.tasks.recovery import reconcile
from tests.unit.fake_runtime import Rig, make_rig, make_spec

T_CREATED = 1_700_000_000.0


@dataclass
class Calls:
    """Records redispatch and decide calls."""

    redispatched: list[dict[str, Any]] = field(default_factory=list)
    decided: list[tuple[str, list[str]]] = field(default_factory=list)
    route: RouteView | Exception = field(default_factory=lambda: _route("echo"))

    def redispatch(
        self,
        task_id: str,
        text: str,
        spec: SpecialistSpec,
        inputs: list[InputRecord],
        created_at: float,
        timeout_s: float | None,
        route: RouteView | None,
        attempt: int = 0,
    ) -> object:
        self.redispatched.append(
            {
                "task_id": task_id,
                "text": text,
                "spec": spec.id,
                "inputs": inputs,
                "created_at": created_at,
                "timeout_s": timeout_s,
                "route": route,
                "attempt": attempt,
            }
        )
        return None

    def decide(self, text: str, files: list[str]) -> RouteView:
        self.decided.append((text, files))
        if isinstance(self.route, Exception):
            raise self.route
        return self.route


def _route(chosen: str) -> RouteView:
    return RouteView(
        chosen=chosen, scores={chosen: 1.0}, router="fast", confidence=1.0, latency_ms=1.0, rationale="test"
    )


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    """A store, bus and (for the end-to-end case) a dispatcher with ``echo`` and ``other``."""
    with make_rig(tmp_path, [make_spec("echo"), make_spec("other")]) as r:
        yield r


def _reconcile(r: Rig, calls: Calls) -> dict[str, int]:
    return reconcile(r.store, Catalogue(specs=dict(r.specs)), r.bus, calls.decide, calls.redispatch)


def _left(r: Rig, text: str, state: str, **fields: Any) -> str:
    """A task an engine that died left in ``state``."""
    fields.setdefault("specialist", "echo")
    return r.store_task(text, state=state, created_at=T_CREATED, **fields)


def _failed_events(r: Rig, task_id: str) -> list[TaskStateChanged]:
    return [
        e for e in r.recorder.events if isinstance(e, TaskStateChanged) and e.task_id == task_id and e.state == "failed"
    ]


@pytest.mark.parametrize("state", ["queued", "routed", "running"])
def test_an_unfinished_task_with_attempts_left_is_requeued(rig: Rig, state: str) -> None:
    calls = Calls()
    task_id = _left(rig, "sum it", state, attempt=MAX_ATTEMPTS - 1, timeout_s=7.0)
    assert _reconcile(rig, calls) == {"requeued": 1, "failed": 0}
    assert calls.redispatched == [
        {
            "task_id": task_id,
            "text": "sum it",
            "spec": "echo",
            "inputs": [],
            "created_at": T_CREATED,
            "timeout_s": 7.0,
            "route": None,
            "attempt": MAX_ATTEMPTS - 1,
        }
    ]
    assert calls.decided == [], "a routed task is not routed again"
    (decision,) = rig.recorder.decisions("reconcile")
    assert decision.subject == task_id and f"left {state}" in decision.reason and "on echo" in decision.reason
    assert rig.stored(task_id).state == state, "redispatch, not reconcile, moves it on"


def test_a_task_whose_attempts_are_used_up_is_failed_with_the_reason(rig: Rig) -> None:
    calls = Calls()
    task_id = _left(rig, "sum it", "running", attempt=MAX_ATTEMPTS)
    assert _reconcile(rig, calls) == {"requeued": 0, "failed": 1}
    assert calls.redispatched == []
    row = rig.stored(task_id)
    assert (row.state, row.error_kind) == ("failed", "engine_restart")
    assert row.error_message == f"the engine stopped while the task ran (attempt {MAX_ATTEMPTS} of {MAX_ATTEMPTS})"
    assert row.finished_at is not None and row.finished_at >= time.time() - 60
    assert [e.error for e in _failed_events(rig, task_id)] == [row.error_message]


def test_a_task_never_routed_is_routed_again(rig: Rig) -> None:
    calls = Calls(route=_route("other"))
    task_id = _left(rig, "plot it", "queued", specialist=None)
    assert _reconcile(rig, calls) == {"requeued": 1, "failed": 0}
    assert calls.decided == [("plot it", [])]
    assert [(c["task_id"], c["spec"], c["attempt"]) for c in calls.redispatched] == [(task_id, "other", 0)]


def test_the_requested_specialist_is_used_when_none_was_routed(rig: Rig) -> None:
    calls = Calls(route=_route("echo"))
    _left(rig, "plot it", "queued", specialist=None, requested_specialist="other")
    assert _reconcile(rig, calls)["requeued"] == 1
    assert calls.decided == []
    assert calls.redispatched[0]["spec"] == "other"


@pytest.mark.parametrize(
    "route",
    [OllamaUnavailable("no model"), _route("none"), _route("clarify"), _route("removed-one")],
    ids=["router-down", "none", "clarify", "not-in-catalogue"],
)
def test_a_task_that_cannot_be_routed_now_is_failed(rig: Rig, route: RouteView | EngineError) -> None:
    calls = Calls(route=route)
    task_id = _left(rig, "plot it", "queued", specialist=None)
    assert _reconcile(rig, calls) == {"requeued": 0, "failed": 1}
    assert calls.redispatched == []
    row = rig.stored(task_id)
    assert (row.state, row.error_kind) == ("failed", "engine_restart")
    assert row.error_message == "the engine stopped before this task was routed and it cannot be routed now"
    assert len(_failed_events(rig, task_id)) == 1


def test_a_task_of_a_specialist_no_longer_in_the_catalogue_is_failed(rig: Rig) -> None:
    calls = Calls()
    task_id = _left(rig, "sum it", "running", specialist="retired", attempt=1)
    assert _reconcile(rig, calls) == {"requeued": 0, "failed": 1}
    assert calls.decided == [] and calls.redispatched == []
    assert "'retired' is not in the catalogue" in rig.stored(task_id).error_message


def test_finished_tasks_are_left_alone(rig: Rig) -> None:
    calls = Calls()
    ids = [_left(rig, "done", state, attempt=MAX_ATTEMPTS) for state in ("succeeded", "failed", "cancelled")]
    assert _reconcile(rig, calls) == {"requeued": 0, "failed": 0}
    assert calls.redispatched == [] and calls.decided == []
    assert [rig.stored(i).state for i in ids] == ["succeeded", "failed", "cancelled"]
    assert rig.recorder.events == []


def test_each_task_is_handled_once_in_creation_order(rig: Rig) -> None:
    calls = Calls()
    newer = rig.store_task("b", state="running", specialist="echo", attempt=1, created_at=T_CREATED + 10)
    older = rig.store_task("a", state="routed", specialist="other", created_at=T_CREATED)
    spent = rig.store_task("c", state="running", specialist="echo", attempt=MAX_ATTEMPTS, created_at=T_CREATED + 5)
    assert _reconcile(rig, calls) == {"requeued": 2, "failed": 1}
    assert [c["task_id"] for c in calls.redispatched] == [older, newer]
    assert rig.stored(spent).state == "failed"


def test_a_requeued_task_keeps_its_inputs(rig: Rig) -> None:
    calls = Calls()
    blob = rig.blobs.put_bytes(b"a,b\n1,2\n")
    task_id = _left(rig, "sum it", "running", attempt=1)
    rig.store.add_inputs(task_id, [{"name": "t.csv", "sha256": blob.sha256, "bytes": blob.bytes}]).result(timeout=5)
    assert [i.name for i in rig.stored(task_id).inputs] == ["t.csv"]
    _reconcile(rig, calls)
    assert calls.redispatched[0]["inputs"] == [InputRecord("t.csv", blob.sha256, blob.bytes)]


def test_a_requeued_task_runs_again_with_the_attempts_it_has_left(rig: Rig) -> None:
    """End to end: the attempt count survives the restart, so a dying container is not retried."""
    futures = []

    def redispatch(
        task_id: str,
        text: str,
        spec: SpecialistSpec,
        inputs: list[InputRecord],
        created_at: float,
        timeout_s: float | None,
        route: RouteView | None,
        attempt: int = 0,
    ) -> object:
        job = Job(
            task_id=task_id,
            text=text,
            spec=spec,
            inputs=inputs,
            timeout_s=timeout_s or 10.0,
            created_at=created_at,
            attempt=attempt,
        )
        futures.append(rig.dispatcher.submit(job))
        return futures[-1]

    fine = _left(rig, "hello", "running", attempt=1)
    doomed = _left(rig, "die-once", "running", attempt=1)
    calls = Calls()
    assert reconcile(rig.store, Catalogue(specs=dict(rig.specs)), rig.bus, calls.decide, redispatch)["requeued"] == 2
    views = {v.id: v for v in (f.result(10) for f in futures)}
    assert (views[fine].state, views[fine].answer, views[fine].attempt) == (TaskState.SUCCEEDED, "echo: hello", 2)
    assert (views[doomed].state, views[doomed].error_kind) == (TaskState.FAILED, "container_died")
    assert rig.runtime.attempts_of(doomed) == 1, "the attempt used before the restart counts"
    assert rig.stored(fine).state == "succeeded" and rig.stored(doomed).state == "failed"
