"""The lifecycle controller on real Docker: burst scale-up, pause and resume, scale to zero, quarantine."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest

from app.engine.core.config import Settings
from app.engine.core.errors import Quarantined
from app.engine.core.events import ContainerStateChanged, Decision
from app.engine.core.states import ContainerState
from app.engine.fleet.controller import FleetController
from app.engine.orchestrator import Orchestrator
from tests.integration.test_engine_chain import _kill_when_running

pytestmark = pytest.mark.docker

SLOW_SQL = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000000) SELECT count(*) FROM c"


class FakeClock:
    """Controller time that moves only when the test says (containers stay real)."""

    def __init__(self) -> None:
        self.t = time.monotonic()

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> float:
        self.t += seconds
        return self.t


def _until(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_the_running_loop_scales_a_burst_up_and_the_tasks_all_succeed(engine_settings: Callable[..., Settings]) -> None:
    orch = Orchestrator(engine_settings(autoscale_tick_s=1.0))
    try:
        orch.start().result(timeout=120)
        assert orch.controller is not None
        orch.build("numerical").result(timeout=900)
        handles = [orch.submit(f"integrate x^{i % 4} from 0 to {i + 1}", specialist="numerical") for i in range(24)]
        views = [h.future.result(timeout=300) for h in handles]
        assert all(v.state == "succeeded" for v in views), [v.error for v in views if v.state != "succeeded"]
        peak = max((d.data.get("to", 0) for d in _decisions(orch, "scale_up")), default=1)
        scaling = {s.specialist: s for s in orch.scaling()}
        assert "numerical" in scaling and scaling["numerical"].policy == "adaptive"
        assert peak >= 1 and len(orch.lifecycle.replicas("numerical")) <= 3, "never above max_replicas"
    finally:
        orch.close(remove_containers=True)


def _decisions(orch: Orchestrator, kind: str) -> list[Decision]:
    store = orch.wait_started()
    rows = store.recent_decisions(500, kinds=(kind,)).result(timeout=10)
    return [Decision(kind=r.kind, subject=r.subject, reason=r.reason, data=r.data) for r in rows]


def test_pause_resume_and_scale_to_zero_on_real_containers(engine_settings: Callable[..., Settings]) -> None:
    orch = Orchestrator(engine_settings(autoscale=False))  # the test drives its own controller
    clock = FakeClock()
    try:
        orch.start().result(timeout=120)
        assert orch.dispatcher is not None
        controller = FleetController(orch.settings, orch.lifecycle, orch.bus, clock=clock)
        controller.backlog = orch.dispatcher.backlog
        orch.build("numerical").result(timeout=900)
        first = orch.submit("integrate x from 0 to 2", specialist="numerical").future.result(timeout=300)
        assert first.state == "succeeded", first.error
        (replica,) = orch.lifecycle.replicas("numerical")
        for _ in range(60):
            controller.tick(clock.advance(2))
            if replica.paused:
                break
        assert replica.paused and orch.runtime.get(replica.name).status == "paused", "kept warm, frozen by Docker"
        again = orch.submit("integrate x from 0 to 4", specialist="numerical").future.result(timeout=300)
        assert again.state == "succeeded" and again.container == replica.name, "resumed, not started"
        assert orch.runtime.get(replica.name).status == "running"
        assert orch.lifecycle.resumes["numerical"] and orch.lifecycle.resumes["numerical"][-1] < 2.0
        for _ in range(10):
            controller.tick(clock.advance(300))
        assert orch.lifecycle.replicas("numerical") == []
        assert [
            c
            for c in orch.runtime.list({"io.switchboard.namespace": orch.settings.namespace})
            if c.specialist == "numerical"
        ] == []
        controller.stop()
    finally:
        orch.close(remove_containers=True)


def test_a_specialist_whose_containers_keep_dying_is_quarantined_until_released(
    engine_settings: Callable[..., Settings],
) -> None:
    orch = Orchestrator(engine_settings(crash_quarantine_after=2, crash_backoff_s=0.5))
    try:
        orch.start().result(timeout=120)
        orch.build("database").result(timeout=900)
        killed = _kill_when_running(orch, times=2, specialist="database", delay_s=0.5)
        # the database specialist keeps its containers between tasks: their deaths count
        view = orch.submit(SLOW_SQL, specialist="database").future.result(timeout=300)
        assert len(killed) == 2 and view.state == "failed"
        reason = orch.lifecycle.quarantine_reason("database")
        assert reason is not None and "2 crashes" in reason
        card = next(s for s in orch.specialists() if s.id == "database")
        assert card.state == "quarantined" and "release" in card.quarantine
        with pytest.raises(Quarantined):
            orch.lifecycle.start("database")
        assert orch.release("database") is True
        ok = orch.submit("SELECT 1 AS one", specialist="database").future.result(timeout=300)
        assert ok.state == "succeeded", ok.error
    finally:
        orch.close(remove_containers=True)


def test_a_regular_stream_is_paused_between_tasks_and_woken_ahead_of_each(
    engine_settings: Callable[..., Settings],
) -> None:
    orch = Orchestrator(engine_settings(autoscale_tick_s=1.0))
    states: list[ContainerStateChanged] = []
    try:
        orch.start().result(timeout=120)
        orch.build("numerical").result(timeout=900)
        orch.bus.subscribe(ContainerStateChanged, states.append)
        views = []
        began = time.monotonic()
        for i in range(9):  # a task every 2 s
            time.sleep(max(0.0, began + 2.0 * i - time.monotonic()))
            views.append(orch.submit(f"integrate x^{i % 3} from 0 to 2", specialist="numerical").future.result(60))
        assert all(v.state == "succeeded" for v in views), [v.error for v in views if v.state != "succeeded"]
        woken = [s for s in states if s.state == ContainerState.RUNNING and s.reason.startswith("woken")]
        assert len(woken) >= 2, [(s.state, s.reason) for s in states]
        assert re.search(r"before the next expected task \(regular gaps [12]\.\d\d-[12]\.\d\d s", woken[-1].reason)
        paused = [s for s in states if s.state == ContainerState.PAUSED and s.container == woken[-1].container]
        assert paused, "paused between tasks (docker pause), then woken ahead"
        assert orch.controller is not None and orch.controller.wake_counts["woken"] >= len(woken) - 1
        assert len(orch.lifecycle.replicas("numerical")) == 1, "one held replica: tier changes, not scaling"
    finally:
        orch.close(remove_containers=True)
