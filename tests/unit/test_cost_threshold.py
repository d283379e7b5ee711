"""The cost-per-task threshold: starts from the manifest, follows the observed cost within bounds, gates spending.

Pure logic on a fake clock, then the controller over the fake runtime: what the containers cost
per finished task is measured from the running and paused replicas it samples each tick.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from app.engine.core.states import TaskState
from app.engine.fleet.controller import FleetController
from app.engine.fleet.demand import DemandWindow
from app.engine.fleet.policies import AdaptivePolicy, Observation, Plan
from app.engine.fleet.thresholds import (
    HEADROOM,
    MIN_TASKS,
    Thresholds,
    default_cost_per_task,
    hourly_cost,
)
from tests.unit.fake_controller import FakeClock
from tests.unit.fake_runtime import Rig, make_rig, make_spec

CPU_HOUR, GB_HOUR = 0.05, 0.01


def test_the_default_starts_at_the_cost_of_a_slow_task_on_a_replica_at_its_target_utilisation() -> None:
    spec = make_spec(task_timeout_s=40.0, memory_mb=512, concurrency=4)  # latency base 10 s, 1 CPU
    per_hour = 1.0 * CPU_HOUR + 0.5 * GB_HOUR
    assert hourly_cost(spec, CPU_HOUR, GB_HOUR) == pytest.approx(per_hour)
    assert hourly_cost(spec, CPU_HOUR, GB_HOUR, paused=True) == pytest.approx(0.5 * GB_HOUR), "paused: memory only"
    th = Thresholds.from_spec(spec, CPU_HOUR, GB_HOUR)
    assert th.cost == th.cost_base == pytest.approx(per_hour / 3600 * 10.0 / (4 * 0.7))
    assert th.cost == pytest.approx(default_cost_per_task(spec, 10.0, CPU_HOUR, GB_HOUR))
    assert th.cost_bounds == pytest.approx((th.cost / 4, th.cost * 2))
    manifest = Thresholds.from_spec(make_spec(max_cost_per_task=0.002), CPU_HOUR, GB_HOUR)
    assert manifest.cost == 0.002 and manifest.cost_bounds == (0.0005, 0.004)
    free = Thresholds.from_spec(spec, 0.0, 0.0)
    assert free.cost == math.inf and free.update(1.0, 0.0, finished=50, cost_per_task=5.0) is False, (
        "nothing costs anything"
    )


def test_the_cost_threshold_follows_the_observed_cost_within_bounds_and_publishes_big_moves() -> None:
    th = Thresholds.from_spec(make_spec(max_cost_per_task=0.001, task_timeout_s=40.0), CPU_HOUR, GB_HOUR)
    assert th.update(None, 0.0, finished=MIN_TASKS - 1, cost_per_task=1.0) is False and th.cost == 0.001, (
        "too few tasks"
    )
    first = th.update(None, 0.0, finished=MIN_TASKS, cost_per_task=0.0012)  # target 0.0018: +8 % of the way
    assert th.cost == pytest.approx(0.001 + 0.1 * (0.0012 * HEADROOM - 0.001)) and first is False, (
        "an 8 % move is not news"
    )
    assert th.update(None, 0.0, finished=MIN_TASKS, cost_per_task=0.0012) is True, "16 % since the last published value"
    for _ in range(80):
        th.update(None, 0.0, finished=50, cost_per_task=1.0)  # a flood of expensive tasks
    assert th.cost == pytest.approx(0.002, rel=0.01), "never above twice the manifest's value"
    published = [th.update(None, 0.0, finished=50, cost_per_task=0.0) for _ in range(80)]
    assert th.cost == pytest.approx(0.00025, rel=0.01), "never below a quarter of it"
    assert any(published[:5]) and 1 < sum(published) < 20
    assert th.latency_s == th.latency_base_s, "no p95 observed: the latency threshold stays"


def test_replica_seconds_count_each_sample_until_the_next_within_the_window() -> None:
    window = DemandWindow()
    assert window.replica_seconds(100.0, 60.0) == (0.0, 0.0)
    window.sample_replicas(0.0, 1, 0)
    window.sample_replicas(10.0, 2, 1)
    assert window.replica_seconds(20.0, 15.0) == pytest.approx((1 * 5 + 2 * 10, 1 * 10))
    assert window.replica_seconds(20.0, 100.0) == pytest.approx((1 * 10 + 2 * 10, 10))
    window.sample_replicas(2000.0, 0, 0)  # much later: the old samples are trimmed, not the span they cover
    assert window.replica_seconds(2000.0, 300.0) == pytest.approx((600.0, 300.0))


def _obs(**extra: object) -> Observation:
    base = Observation(
        specialist="s",
        now=0.0,
        running=2,
        paused=0,
        slots=4,
        current=5,
        stable=5,
        panic=5,
        idle_s=0.0,
        gap_p90_s=None,
        max_replicas=8,
        p95_s=9.0,
        latency_threshold_s=3.0,
    )
    return replace(base, **extra)  # type: ignore[arg-type]


def test_above_the_cost_threshold_latency_buys_no_replica_and_the_warm_pool_keeps_one() -> None:
    cheap = AdaptivePolicy().decide(_obs(cost_per_task=0.0001, cost_threshold=0.0002))
    assert cheap.running == 3 and "p95 9.0 s > threshold 3.0 s" in cheap.reason
    costly = AdaptivePolicy().decide(_obs(cost_per_task=0.0004, cost_threshold=0.0002))
    assert costly.running == 2
    assert "but cost per task $0.000400 > threshold $0.000200" in costly.reason
    unknown = AdaptivePolicy().decide(_obs(cost_per_task=None, cost_threshold=0.0002))
    assert unknown.running == 3, "no cost figure (too few tasks): latency decides as before"
    waiting = AdaptivePolicy().decide(_obs(current=17, cost_per_task=0.0004, cost_threshold=0.0002))
    assert waiting.running == 7 and waiting.panic, "tasks waiting for a slot always scale up, whatever they cost"

    idle = dict(running=3, current=0, stable=0, panic=0, p95_s=None, idle_s=5.0, warm_pool_max=3)
    policy = AdaptivePolicy(down_window_s=0)
    assert policy.decide(_obs(now=0.0, **idle)).warm == 2, "cheap: the warm pool keeps what scaled down"
    trimmed = AdaptivePolicy(down_window_s=0).decide(_obs(now=0.0, cost_per_task=0.0004, cost_threshold=0.0002, **idle))
    assert trimmed.warm == 1 and "warm pool 1" in trimmed.reason


# ---------------------------------------------------------------------- the controller


class Watching(AdaptivePolicy):
    """The adaptive policy, keeping the last observation it was given."""

    last: Observation | None = None

    def decide(self, obs: Observation) -> Plan:
        self.last = obs
        return super().decide(obs)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    """``echo`` keeps one replica running (1 CPU, 256 MB, latency base 7.5 s, two slots)."""
    with make_rig(tmp_path, [make_spec(min_replicas=1, max_replicas=2, concurrency=2)]) as r:
        yield r


def test_the_controller_measures_cost_per_task_from_its_replicas_and_moves_the_threshold(rig: Rig) -> None:
    clock, policy = FakeClock(), Watching()
    controller = FleetController(rig.settings, rig.lifecycle, rig.bus, policy=policy, clock=clock)
    controller.backlog = rig.dispatcher.backlog
    spec = rig.lifecycle.specs["echo"]
    th = controller.thresholds["echo"]
    base = th.cost
    assert base == pytest.approx(
        default_cost_per_task(spec, 7.5, rig.settings.cost_per_cpu_hour, rig.settings.cost_per_gb_hour)
    )
    futures = [rig.dispatcher.submit(rig.job(f"hello {i}")) for i in range(12)]
    assert all(f.result(timeout=10).state == TaskState.SUCCEEDED for f in futures)
    first = clock.advance(2)
    controller.tick(first)
    assert policy.last is not None and policy.last.cost_per_task == 0.0, "one sample covers no time yet"
    for _ in range(60):  # two minutes: one replica runs, nothing else finishes
        controller.tick(clock.advance(2))
    per_hour = hourly_cost(spec, rig.settings.cost_per_cpu_hour, rig.settings.cost_per_gb_hour)
    expected = (clock.t - first) * per_hour / 3600 / 12
    assert policy.last.cost_per_task == pytest.approx(expected)
    assert policy.last.cost_threshold == th.cost
    low, high = th.cost_bounds
    assert base < th.cost <= high and th.cost == pytest.approx(min(high, expected * HEADROOM), rel=0.35)
    moves = [d for d in rig.recorder.decisions("threshold") if d.data.get("cost_per_task")]
    assert moves, "the cost threshold's moves are published like the others"
    last = moves[-1]
    assert "per task" in last.reason and last.data["observed_cost_per_task"] > 0
    assert controller.plan_views()[0].cost_threshold == th.cost
