"""The lifecycle controller over a fake runtime and a fake clock: burst, warm pool, zero, budget, crashes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.engine.core.errors import Quarantined
from app.engine.core.events import ContainerStateChanged
from app.engine.core.states import ContainerState, TaskState
from app.engine.fleet.controller import FleetController
from tests.unit.fake_controller import FakeClock, fake_controller, wait_until
from tests.unit.fake_runtime import Rig, make_rig, make_spec


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    """``echo``: two slots per container, up to four containers."""
    with make_rig(tmp_path, [make_spec(max_replicas=4, concurrency=2, idle_ttl_s=600.0)]) as r:
        yield r


def test_a_burst_scales_up_in_one_decision_then_pauses_resumes_and_scales_to_zero(rig: Rig) -> None:
    clock = FakeClock()
    controller = fake_controller(rig, clock)
    try:
        futures = [rig.dispatcher.submit(rig.job("wait")) for _ in range(6)]
        wait_until(lambda: rig.lifecycle.pool("echo").waiting == 4)
        assert len(rig.runtime.started) == 1, "only the first container starts on demand"
        controller.tick(clock.advance(1))
        wait_until(lambda: len(rig.lifecycle.replicas("echo")) == 4)
        ups = rig.recorder.decisions("scale_up")
        assert len(ups) == 1 and ups[0].reason.startswith("scaled echo 1→4: 6 in flight or waiting")
        rig.runtime.gate.set()
        assert all(f.result(timeout=10).state == TaskState.SUCCEEDED for f in futures)

        controller.tick(clock.advance(2))  # the burst is over: a change of tier, not of scale
        assert [r.paused for r in rig.lifecycle.replicas("echo")] == [True] * 4, "all four held, paused"
        assert rig.recorder.decisions("pause") and not rig.recorder.decisions("scale_down")
        assert rig.recorder.decisions("pause")[0].reason.startswith("paused 4 idle echo replica(s), still held")
        for _ in range(55):  # idle: the stable and down windows pass, the held count halves into the warm pool
            controller.tick(clock.advance(2))
            if len(rig.lifecycle.replicas("echo")) <= 2:
                break
        replicas = rig.lifecycle.replicas("echo")
        assert [r.paused for r in replicas] == [True, True], "warm_pool_max (2) kept warm, paused"
        downs = rig.recorder.decisions("scale_down")
        assert [(d.data["from"], d.data["to"]) for d in downs] == [(4, 3), (3, 2)], "one direction, down"
        assert all(" held: " in d.reason for d in downs) and len(rig.runtime.removed) == 2
        paused = max(replicas, key=lambda r: r.paused_at).name
        states = [
            e.state for e in rig.recorder.events if isinstance(e, ContainerStateChanged) and e.container == paused
        ]
        assert ContainerState.PAUSED in states

        assert rig.dispatcher.submit(rig.job("hello")).result(timeout=10).state == TaskState.SUCCEEDED
        assert rig.runtime.resumed == [paused] and len(rig.runtime.started) == 4, "resumed, not a cold start"
        assert rig.recorder.decisions("resume")[0].subject == paused

        controller.tick(clock.advance(2))
        for _ in range(5):
            controller.tick(clock.advance(700))  # longer than idle_ttl_s: nothing stays warm
        assert rig.lifecycle.replicas("echo") == []
        assert rig.recorder.decisions("scale_to_zero")
    finally:
        controller.stop()


def test_min_replicas_stay_running_and_max_replicas_are_never_exceeded(tmp_path: Path) -> None:
    with make_rig(tmp_path, [make_spec(max_replicas=2, min_replicas=1, concurrency=1)]) as r:
        clock = FakeClock()
        controller = fake_controller(r, clock)
        try:
            controller.tick(clock.advance(1))
            wait_until(lambda: len(r.lifecycle.replicas("echo")) == 1)
            futures = [r.dispatcher.submit(r.job("wait")) for _ in range(5)]
            wait_until(lambda: r.lifecycle.pool("echo").waiting == 1)  # the dispatcher holds the other three
            controller.tick(clock.advance(1))
            wait_until(lambda: len(r.lifecycle.replicas("echo")) == 2)
            controller.tick(clock.advance(1))
            assert len(r.runtime.started) == 2
            r.runtime.gate.set()
            for f in futures:
                f.result(timeout=10)
            for _ in range(100):
                controller.tick(clock.advance(30))
            live = r.lifecycle.replicas("echo")
            assert len(live) == 1 and not live[0].paused
        finally:
            controller.stop()


def test_the_loop_wakes_when_a_task_waits_and_stops_cleanly(rig: Rig) -> None:
    controller = FleetController(rig.settings.model_copy(update={"autoscale_tick_s": 30.0}), rig.lifecycle, rig.bus)
    controller.backlog = rig.dispatcher.backlog
    controller.start()
    try:
        futures = [rig.dispatcher.submit(rig.job("wait")) for _ in range(5)]
        wait_until(lambda: len(rig.lifecycle.replicas("echo")) >= 3, timeout_s=10)  # long before the 30 s tick
        rig.runtime.gate.set()
        for f in futures:
            assert f.result(timeout=10).state == TaskState.SUCCEEDED
    finally:
        controller.stop()
    assert controller._thread is not None and not controller._thread.is_alive()


def test_per_task_policy_runs_every_task_in_a_fresh_container(rig: Rig) -> None:
    clock = FakeClock()
    controller = fake_controller(rig, clock, "per_task")
    try:
        for text in ("a", "b", "c"):
            assert rig.dispatcher.submit(rig.job(text)).result(timeout=10).state == TaskState.SUCCEEDED
        wait_until(lambda: len(rig.runtime.removed) == 3)
        assert len(rig.runtime.started) == 3 and rig.lifecycle.replicas("echo") == []
    finally:
        controller.stop()


def test_one_task_containers_past_the_container_budget_wait_for_room_instead_of_failing(tmp_path: Path) -> None:
    with make_rig(tmp_path, [make_spec(max_replicas=3, concurrency=2)], budget_max_containers=3) as r:
        controller = fake_controller(r, FakeClock(), "per_task")
        try:
            futures = [r.dispatcher.submit(r.job("wait")) for _ in range(6)]
            wait_until(lambda: len(r.runtime.started) == 3)
            time.sleep(0.2)
            assert len(r.lifecycle.replicas("echo")) == 3 and len(r.runtime.started) == 3, "never past the budget"
            assert r.recorder.decisions("refuse_budget"), "the three others were refused"
            r.runtime.gate.set()
            views = [f.result(timeout=10) for f in futures]
            assert [v.state for v in views] == [TaskState.SUCCEEDED] * 6, [v.error for v in views]
            assert len(r.runtime.started) == 6
        finally:
            controller.stop()


def test_a_budget_refusal_with_nothing_ending_fails_the_task_at_once(tmp_path: Path) -> None:
    specs = [make_spec("echo"), make_spec("solo", fresh_per_task=True)]
    with make_rig(tmp_path, specs, budget_max_containers=1) as r:
        busy = r.dispatcher.submit(r.job("wait"))  # a standing container holding its task: it stays
        wait_until(lambda: len(r.runtime.started) == 1)
        began = time.monotonic()
        refused = r.dispatcher.submit(r.job("hello", specialist="solo")).result(timeout=10)
        assert refused.state == TaskState.FAILED and "container budget reached (1/1 running)" in (refused.error or "")
        assert time.monotonic() - began < 2.0, "no wait: nothing in the budget ends by itself"
        r.runtime.gate.set()
        assert busy.result(timeout=10).state == TaskState.SUCCEEDED


def test_a_start_that_needs_memory_evicts_a_paused_container_first(tmp_path: Path) -> None:
    specs = [make_spec("alpha", memory_mb=400), make_spec("beta", memory_mb=400)]
    with make_rig(tmp_path, specs, budget_max_memory_mb=1000) as r:
        a1, a2 = r.lifecycle.scale("alpha", 2)
        assert r.lifecycle.pause(a1.name, reason="test")
        r.lifecycle.start("beta")
        assert r.runtime.removed == [a1.name], "the paused one goes first, the idle running one stays"
        assert r.recorder.decisions("evict")[0].reason.startswith("paused: evicted to make room for beta")
        assert r.lifecycle.budget_use() == (800, 0, 1000)


def test_a_crash_loop_backs_off_then_quarantines_until_released(tmp_path: Path) -> None:
    with make_rig(
        tmp_path, [make_spec()], crash_backoff_s=0.05, crash_backoff_max_s=0.08, crash_quarantine_after=3
    ) as r:
        r.runtime.start_fails = True
        for _ in range(3):
            with pytest.raises(Exception, match="did not become ready"):
                r.lifecycle.start("echo")
        waits = [d.data["wait_s"] for d in r.recorder.decisions("crash_backoff")]
        assert waits == [0.0, 0.05], "at once, then the base wait (doubling, capped)"
        with pytest.raises(Quarantined, match="quarantined after 3 crashes"):
            r.lifecycle.start("echo")
        failed = r.dispatcher.submit(r.job("hello")).result(timeout=10)
        assert failed.state == TaskState.FAILED and "quarantined" in (failed.error or "")
        assert r.lifecycle.release_quarantine("echo") is True
        r.runtime.start_fails = False
        assert r.dispatcher.submit(r.job("hello")).result(timeout=10).state == TaskState.SUCCEEDED
        assert [d.kind for d in r.recorder.decisions() if d.kind in ("quarantine", "release_quarantine")] == [
            "quarantine",
            "release_quarantine",
        ]


def test_containers_dying_mid_task_count_towards_the_crash_loop(tmp_path: Path) -> None:
    with make_rig(tmp_path, [make_spec()], crash_backoff_s=0.01, crash_quarantine_after=3) as r:
        view = r.dispatcher.submit(r.job("die")).result(timeout=20)
        assert view.state == TaskState.FAILED
        assert len(r.recorder.decisions("crash_backoff")) == 2, "two attempts, two deaths"
        assert r.lifecycle.quarantine_reason("echo") is None
        assert r.dispatcher.submit(r.job("hello")).result(timeout=10).state == TaskState.SUCCEEDED
        r.dispatcher.submit(r.job("die")).result(timeout=20)
        assert r.lifecycle.quarantine_reason("echo") is None, "the success in between reset the count"
        r.dispatcher.submit(r.job("die")).result(timeout=20)
        reason = r.lifecycle.quarantine_reason("echo")
        assert reason is not None and "died" in reason


def test_a_one_task_container_dying_with_its_task_is_not_a_crash_loop(tmp_path: Path) -> None:
    with make_rig(tmp_path, [make_spec(fresh_per_task=True, max_replicas=4)], crash_quarantine_after=2) as r:
        for _ in range(2):
            assert r.dispatcher.submit(r.job("die")).result(timeout=20).state == TaskState.FAILED
        assert r.lifecycle.quarantine_reason("echo") is None and not r.recorder.decisions("crash_backoff")


def test_the_controller_never_starts_standing_containers_for_a_one_task_specialist(tmp_path: Path) -> None:
    with make_rig(tmp_path, [make_spec(fresh_per_task=True, max_replicas=4)]) as r:
        clock = FakeClock()
        controller = fake_controller(r, clock)
        try:
            future = r.dispatcher.submit(r.job("wait"))
            wait_until(lambda: len(r.runtime.started) == 1)
            for _ in range(5):
                controller.tick(clock.advance(2))
            time.sleep(0.2)
            assert len(r.runtime.started) == 1, "only the task's own container"
            r.runtime.gate.set()
            assert future.result(timeout=10).state == TaskState.SUCCEEDED
        finally:
            controller.stop()


def test_a_count_the_user_pinned_is_left_alone_until_the_pin_expires(rig: Rig) -> None:
    clock = FakeClock()
    controller = fake_controller(rig, clock)
    try:
        controller.pin("echo", 2, for_s=60)  # the user's own scale call starts the second one
        futures = [rig.dispatcher.submit(rig.job("wait")) for _ in range(6)]
        wait_until(lambda: len(rig.runtime.started) == 1)
        for _ in range(5):
            controller.tick(clock.advance(2))
        time.sleep(0.2)
        assert len(rig.runtime.started) == 1, "no starts of the controller's own while pinned"
        assert controller.plan_views()[0].pinned == 2
        controller.tick(clock.advance(60))
        wait_until(lambda: len(rig.lifecycle.replicas("echo")) == 4)
        rig.runtime.gate.set()
        assert all(f.result(timeout=10).state == TaskState.SUCCEEDED for f in futures)
    finally:
        controller.stop()
