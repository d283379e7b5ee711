"""Scaling policies, thresholds, crash backoff and budget victims: pure logic on a fake clock."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.engine.fleet.budget import Candidate, LoadedModel, choose_victims
from app.engine.fleet.crashloop import CrashGuard
from app.engine.fleet.demand import DemandWindow, percentile
from app.engine.fleet.policies import (
    AdaptivePolicy,
    KnativePolicy,
    Observation,
    RayPolicy,
    make_policy,
)
from app.engine.fleet.thresholds import Thresholds
from tests.unit.fake_runtime import make_spec


def obs(
    now: float,
    running: int,
    current: float,
    *,
    stable: float | None = None,
    panic: float | None = None,
    paused: int = 0,
    idle_s: float = 0.0,
    **extra: object,
) -> Observation:
    """An observation of specialist ``s`` with 4 slots per replica and up to 8 replicas."""
    base = Observation(
        specialist="s",
        now=now,
        running=running,
        paused=paused,
        slots=4,
        current=current,
        stable=current if stable is None else stable,
        panic=current if panic is None else panic,
        idle_s=idle_s,
        gap_p90_s=None,
        max_replicas=8,
    )
    return replace(base, **extra)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- adaptive
def test_adaptive_scales_a_burst_up_in_one_step_to_what_it_needs() -> None:
    policy = AdaptivePolicy()
    plan = policy.decide(obs(0, running=1, current=17))  # 17 tasks, 4 slots at 70 % -> 7 replicas
    assert plan.running == 7 and plan.panic and "wait for a slot" in plan.reason


def test_adaptive_does_not_start_replicas_for_a_queue_that_drains_before_they_are_ready() -> None:
    # 17 tasks of 40 ms on 4 slots drain in 5 x 0.04 = 0.2 s; a cold start takes 0.3 s
    quick = AdaptivePolicy().decide(obs(0, running=1, current=17, service_s=0.04, cold_start_s=0.3))
    assert quick.running == 1 and "drains on 4 slots in 0.20 s" in quick.reason
    # 2 s tasks: the queue takes 10 s on one replica, so more replicas pay for their start
    slow = AdaptivePolicy().decide(obs(0, running=1, current=17, service_s=2.0, cold_start_s=0.3))
    assert slow.running == 7 and slow.panic
    # from zero there is nothing to drain on; unknown times never hold a scale-up back
    assert AdaptivePolicy().decide(obs(0, running=0, current=3, service_s=0.01, cold_start_s=0.3)).running >= 1
    assert AdaptivePolicy().decide(obs(0, running=1, current=17, service_s=0.04)).running == 7


def test_adaptive_does_not_scale_down_while_panicking_nor_before_the_down_window() -> None:
    policy = AdaptivePolicy(down_window_s=30, panic_hold_s=10)
    policy.decide(obs(0, running=1, current=17))
    assert policy.decide(obs(2, running=7, current=1, stable=10)).running == 7, "panic holds the count"
    assert policy.decide(obs(20, running=7, current=0, stable=0, idle_s=5)).running == 7, "within the down window"
    later = policy.decide(obs(45, running=7, current=0, stable=0, idle_s=30))
    assert later.running == 3, "halves per tick once the window passed"
    assert later.running + later.warm <= 7


def test_adaptive_keeps_the_count_under_steady_load_within_tolerance() -> None:
    policy = AdaptivePolicy()
    counts = {policy.decide(obs(t, running=3, current=8, stable=8.2 + (t % 3) * 0.1)).running for t in range(0, 600, 2)}
    assert counts == {3}, "8.2–8.4 tasks on 3 × 2.8 target is inside the 10 % tolerance"


def test_adaptive_keeps_one_running_through_a_stream_of_tasks_too_short_to_be_seen_in_flight() -> None:
    policy = AdaptivePolicy(down_window_s=30)
    plans = [policy.decide(obs(t, running=1, current=0, stable=0, idle_s=t % 3)) for t in range(0, 120, 2)]
    assert {p.running for p in plans} == {1}, "a task every 3 s: no pause and resume per task"
    after = policy.decide(obs(200, running=1, current=0, stable=0, idle_s=80, gap_p90_s=3.0))
    assert (after.running, after.warm) == (0, 1), "the stream ended: paused, kept warm"
    assert policy.hold_running_s(obs(0, 0, 0, gap_p90_s=3.0)) == 9.0, "3 × the p90 gap"
    assert policy.hold_running_s(obs(0, 0, 0, gap_p90_s=0.1)) == 6.0, "never shorter than 6 s"
    assert policy.hold_running_s(obs(0, 0, 0, gap_p90_s=500.0)) == 30.0, "never past the down window"


def test_adaptive_pauses_into_a_warm_pool_then_scales_to_zero_after_the_arrival_gaps() -> None:
    policy = AdaptivePolicy(down_window_s=30)
    policy.decide(obs(0, running=1, current=1))
    idle = policy.decide(obs(40, running=1, current=0, stable=0, idle_s=35, gap_p90_s=50.0))
    assert (idle.running, idle.warm) == (0, 1), "idle but tasks came every ~50 s: keep one paused"
    still = policy.decide(obs(140, running=0, paused=1, current=0, stable=0, idle_s=140, gap_p90_s=50.0))
    assert (still.running, still.warm) == (0, 1), "3 × 50 s gap = 150 s warm"
    gone = policy.decide(obs(200, running=0, paused=1, current=0, stable=0, idle_s=160, gap_p90_s=50.0))
    assert (gone.running, gone.warm) == (0, 0) and "scale to zero" in gone.reason
    assert policy.keep_warm_s(obs(0, 0, 0, gap_p90_s=1.0)) == 120.0, "never shorter than 120 s"
    assert policy.keep_warm_s(obs(0, 0, 0, gap_p90_s=10_000.0, idle_ttl_s=600.0)) == 600.0, "never past idle_ttl_s"


def test_adaptive_adds_a_replica_for_high_latency_only_under_load_and_low_errors() -> None:
    policy = AdaptivePolicy()
    slow = dict(p95_s=9.0, latency_threshold_s=3.0)
    assert policy.decide(obs(0, running=2, current=5, stable=5, **slow)).running == 3
    assert policy.decide(obs(1, running=3, current=5, stable=5, **slow)).running == 3, "one bump per down window"
    fresh = AdaptivePolicy()
    assert fresh.decide(obs(0, running=2, current=1, stable=1, **slow)).running <= 2, "no load: latency is the task's"
    erring = AdaptivePolicy()
    assert (
        erring.decide(obs(0, running=2, current=5, stable=5, error_rate=0.6, error_threshold=0.25, **slow)).running == 2
    )


# ---------------------------------------------------------------------- reference policies
def test_knative_panics_at_twice_the_capacity_and_waits_the_grace_before_zero() -> None:
    policy = KnativePolicy()
    assert policy.decide(obs(0, running=2, current=4, stable=4, panic=4)).panic is False  # 2 wanted of 2
    burst = policy.decide(obs(2, running=2, current=12, stable=3, panic=12))
    assert burst.panic and burst.running == 5  # ceil(12 / 2.8)
    assert policy.decide(obs(30, running=5, current=0, stable=1, panic=0)).running == 5, "no scale-down in panic"
    assert policy.decide(obs(70, running=5, current=0, stable=0, panic=0)).running == 2, "at most halve"
    policy.decide(obs(72, running=2, current=0, stable=0, panic=0))
    assert policy.decide(obs(80, running=1, current=0, stable=0, panic=0)).running == 1, "grace period"
    assert policy.decide(obs(111, running=1, current=0, stable=0, panic=0)).running == 0


def test_ray_applies_changes_only_after_the_up_and_down_delays() -> None:
    policy = RayPolicy()
    assert policy.decide(obs(0, running=1, current=8, stable=8)).running == 1
    assert policy.decide(obs(29, running=1, current=8, stable=8)).running == 1
    assert policy.decide(obs(31, running=1, current=8, stable=8)).running == 4  # 8 / 2 ongoing
    assert policy.decide(obs(40, running=4, current=0, stable=0)).running == 4
    assert policy.decide(obs(639, running=4, current=0, stable=0)).running == 4
    assert policy.decide(obs(641, running=4, current=0, stable=0)).running == 0
    assert policy.decide(obs(700, running=0, current=1, stable=0)).running == 1, "from zero at once"


def test_make_policy_names_the_known_policies() -> None:
    assert make_policy("per_task").fresh_per_task is True
    with pytest.raises(KeyError, match="known: adaptive, knative, ray, always_on, per_task"):
        make_policy("nope")


# ---------------------------------------------------------------------- thresholds
def test_thresholds_move_towards_observed_p95_within_bounds_and_publish_big_moves() -> None:
    th = Thresholds.from_spec(make_spec(task_timeout_s=40.0))  # base 10 s
    assert th.update(1.0, 0.0, finished=3) is False and th.latency_s == 10.0, "too few tasks"
    published = [th.update(1.0, 0.0, finished=50) for _ in range(60)]
    low, high = th.latency_bounds
    assert (low, high) == (2.5, 20.0)
    assert th.latency_s == pytest.approx(low, rel=0.02), "1 s × 1.5 headroom is below the floor"
    assert any(published[:3]) and 1 < sum(published) < 20, "big moves published, small ones not"
    for _ in range(80):
        th.update(100.0, 0.9, finished=50)
    assert th.latency_s == pytest.approx(high, rel=0.02) and th.error_rate == pytest.approx(0.5, rel=0.02)


# ---------------------------------------------------------------------- crash guard
def test_crash_backoff_doubles_up_to_the_cap_then_quarantines_until_released() -> None:
    guard = CrashGuard(backoff_s=2, backoff_max_s=5, quarantine_after=5, window_s=100)
    assert guard.crashed("s", 0, "exit 1") == ("backoff", 0), "the first restart is immediate"
    assert guard.crashed("s", 1, "exit 1") == ("backoff", 2)
    assert guard.wait_s("s", 2) == 1
    assert guard.crashed("s", 3, "exit 1") == ("backoff", 4)
    assert guard.crashed("s", 8, "exit 1") == ("backoff", 5), "capped"
    assert guard.crashed("s", 14, "exit 1")[0] == "quarantine"
    reason = guard.quarantine_reason("s")
    assert reason is not None and "5 crashes" in reason and "exit 1" in reason
    guard.succeeded("s")
    assert guard.quarantine_reason("s") is not None, "a success does not lift a quarantine"
    assert guard.release("s") is True and guard.quarantine_reason("s") is None and guard.wait_s("s", 14) == 0


def test_crashes_outside_the_window_and_successes_reset_the_count() -> None:
    guard = CrashGuard(backoff_s=1, backoff_max_s=60, quarantine_after=3, window_s=10)
    guard.crashed("s", 0, "x")
    guard.crashed("s", 1, "x")
    assert guard.crashed("s", 50, "x") == ("backoff", 0), "old crashes expired"
    assert guard.crashed("s", 51, "x") == ("backoff", 1)
    guard.succeeded("s")
    assert guard.crashed("s", 52, "x") == ("backoff", 0)


# ---------------------------------------------------------------------- budget
def test_victims_are_paused_first_then_idle_replicas_then_models_never_the_protected() -> None:
    containers = [
        Candidate("busy", "a", 512, paused=False, idle_s=0, removable=False),
        Candidate("idle-a", "a", 512, paused=False, idle_s=50, removable=True),
        Candidate("idle-b", "b", 512, paused=False, idle_s=90, removable=True),
        Candidate("paused-a", "a", 256, paused=True, idle_s=10, removable=True),
    ]
    models = [LoadedModel("router", 300, idle_s=5)]
    assert choose_victims(512, 600, containers, models, protect="b") == []
    picked = choose_victims(1000, 0, containers, models, protect="b")
    assert picked is not None and [v.name for v in picked] == ["paused-a", "idle-a", "router"]
    assert choose_victims(5000, 0, containers, models, protect="b") is None


def test_demand_window_answers_window_questions() -> None:
    w = DemandWindow()
    for t in range(10):
        w.sample(float(t), float(t % 3))
        w.arrive(float(t) * 10)
    w.finish(5, 1.0, True)
    w.finish(6, 3.0, False)
    assert w.mean_concurrency(9.5, 4) == pytest.approx((0 + 1 + 2 + 0) / 4)
    assert w.error_rate(10, 60) == (0.5, 2)
    assert w.gap_p90(95) == 10.0
    assert percentile([5.0, 1.0, 3.0], 0.5) == 3.0 and percentile([], 0.9) is None
