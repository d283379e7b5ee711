"""Scaling policies: from one specialist's observed demand to desired running and warm replicas.

:class:`AdaptivePolicy` is the engine's own; the others are reference policies with the
published defaults of well-known autoscalers, run by the same controller so that
``bench/adaptive.py`` compares them on the same trace:

- :class:`KnativePolicy` — Knative KPA: target 70 % of the container concurrency, stable
  window 60 s, panic window 6 s, panic at 200 % of the current capacity, no scale-down while
  panicking (and for a stable window after), scale to zero 30 s after the stable window
  emptied, scale-down at most halving per tick.
- :class:`RayPolicy` — Ray Serve: target 2 ongoing requests per replica (averaged over 30 s),
  a change is applied only after it was wanted for 30 s (up) or 600 s (down).
- :class:`AlwaysOnPolicy` — one replica per specialist, always.
- :class:`PerTaskPolicy` — a fresh container for every task, removed after it.

Why the adaptive policy differs (this workload: containers start in 1–3 s, ``docker pause``
resumes in well under 0.1 s, tasks arrive in bursts from one person or a script):

- it scales **up** at once when tasks wait for a slot (no up-delay: a waiting task is the
  user waiting), and to the number the burst needs in one step;
- it is **tiered**: it counts the replicas a specialist *holds*, running or paused (no CPU,
  memory kept, resumed in milliseconds), and only that count scales up and down; whether a
  held replica runs or is paused is a change of tier made by events, not by this policy
  (:mod:`~app.engine.fleet.tiers`: paused at task end when the gaps between tasks are many
  times the measured resume cost, resumed by the next task);
- the held count comes down after a short 30 s stabilisation, into paused replicas first
  (HPA keeps 300 s, Ray 600 s, because their replicas are expensive to bring back; a paused
  one is not);
- HPA's 10 % tolerance keeps the count still under steady load;
- it keeps replicas warm (paused) only as long as the observed arrival gaps say another task is
  likely (3 × the p90 gap, within [120 s, the manifest's ``idle_ttl_s``]) and then scales to
  zero; the memory budget evicts paused replicas first when something else needs the room;
- a p95 latency above the (self-adjusting) threshold adds a replica only when there is load
  and the error rate is below its threshold — errors are not fixed by more containers — and
  the cost per task is below its (self-adjusting) threshold: above it, latency is not bought
  with another replica, and the warm pool keeps at most one paused replica
  (:mod:`~app.engine.fleet.thresholds`). Tasks waiting for a slot always scale up.

Every policy is pure over :class:`Observation` (with a monotonic ``now``) plus the memory it
keeps per specialist, so unit tests drive it with a fake clock.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

__all__ = [
    "POLICIES",
    "AdaptivePolicy",
    "AlwaysOnPolicy",
    "KnativePolicy",
    "Observation",
    "PerTaskPolicy",
    "Plan",
    "Policy",
    "RayPolicy",
    "make_policy",
    "money",
]


@dataclass(frozen=True)
class Observation:
    """What the controller saw of one specialist at one tick."""

    specialist: str
    now: float
    running: int  # ready, not paused
    paused: int
    slots: int  # task slots per replica
    current: float  # in flight + waiting now
    stable: float  # mean concurrency over the stable window (60 s)
    panic: float  # mean concurrency over the panic window (6 s)
    idle_s: float  # seconds since the last task arrived or ran
    gap_p90_s: float | None  # p90 of the gaps between recent arrivals
    p95_s: float | None = None
    error_rate: float = 0.0
    finished: int = 0
    min_replicas: int = 0
    max_replicas: int = 3
    target_utilization: float = 0.7
    latency_threshold_s: float = 30.0
    error_threshold: float = 0.25
    warm_pool_max: int = 2
    idle_ttl_s: float = 900.0
    cost_per_task: float | None = None  # containers' cost over the stats window / tasks finished
    cost_threshold: float = math.inf
    service_s: float | None = None  # median time a task spends inside a replica (waits excluded)
    cold_start_s: float | None = None  # median time from starting a replica to its being ready

    def drains_before_a_start(self, capacity: int) -> bool:
        """Whether the tasks in flight and waiting finish on ``capacity`` slots before a new replica is ready.

        Then a new replica only adds a cold start (Ray's reasoning, with measured times instead
        of its fixed 30 s up-delay). Unknown times never hold a scale-up back.
        """
        if self.service_s is None or self.cold_start_s is None or capacity <= 0:
            return False
        return math.ceil(self.current / capacity) * self.service_s < self.cold_start_s

    @property
    def costly(self) -> bool:
        """Tasks cost more than the threshold allows (the policy then spends no more for speed)."""
        return self.cost_per_task is not None and self.cost_per_task > self.cost_threshold


@dataclass(frozen=True)
class Plan:
    """Desired running and paused replicas, and why."""

    running: int
    warm: int = 0
    reason: str = ""
    panic: bool = False


class Policy(Protocol):
    """Turns observations into plans; may keep memory per specialist."""

    name: str
    uses_pause: bool
    fresh_per_task: bool
    tiered: bool  # plans count held replicas (running + paused); idle ones change tier by events

    def decide(self, obs: Observation) -> Plan:
        """The plan for this tick."""
        ...


def _need(concurrency: float, per_replica: float) -> int:
    # a tiny epsilon keeps 2.0000001 from becoming 3 replicas
    return max(0, math.ceil(concurrency / max(per_replica, 1e-9) - 1e-6))


def money(value: float) -> str:
    """A notional cost per task, readable at the small sizes tasks cost ($0.000082)."""
    return f"${value:.6f}" if value < 1 else f"${value:.2f}"


def _cost(obs: Observation) -> str:
    assert obs.cost_per_task is not None
    return f"cost per task {money(obs.cost_per_task)} > threshold {money(obs.cost_threshold)}"


def _figures(obs: Observation) -> str:
    p95 = f", p95 {obs.p95_s:.1f} s" if obs.p95_s is not None else ""
    paused = f" (+{obs.paused} paused)" if obs.paused else ""
    return f"{obs.current:g} in flight or waiting, {obs.running} running{paused} × {obs.slots} slots{p95}"


KEEP_WARM_FLOOR_S = 120.0  # a paused replica costs memory only; the budget evicts it under pressure


@dataclass
class _AdaptiveMemory:
    wanted: deque[tuple[float, int]] = field(default_factory=deque)
    panic_until: float = -math.inf
    latency_bump_until: float = -math.inf


class AdaptivePolicy:
    """The engine's policy (module docstring: what it does and why)."""

    name = "adaptive"
    uses_pause = True
    fresh_per_task = False

    def __init__(
        self, down_window_s: float = 30.0, panic_hold_s: float = 10.0, tolerance: float = 0.1, *, tiered: bool = True
    ) -> None:
        self.tiered = tiered
        self.down_window_s = down_window_s
        self.panic_hold_s = panic_hold_s
        self.tolerance = tolerance
        self._memory: dict[str, _AdaptiveMemory] = {}

    def hold_running_s(self, obs: Observation) -> float:
        """How long one replica is held for demand after a task: 3 × the p90 arrival gap, in [6 s, the down window].

        Untiered, the replica stays *running* that long, so that a stream of short tasks finds it
        running (no pause and resume per task) and one whose stream ended is paused soon after.
        Tiered, the count holds it (running or paused); :mod:`~app.engine.fleet.tiers` decides which.
        """
        gap = obs.gap_p90_s if obs.gap_p90_s is not None else self.down_window_s
        return min(self.down_window_s, max(6.0, 3.0 * gap))

    def keep_warm_s(self, obs: Observation) -> float:
        """How long after the last task replicas stay warm: 3 × the p90 arrival gap, in [120 s, idle_ttl_s]."""
        ceiling = max(KEEP_WARM_FLOOR_S, obs.idle_ttl_s)
        gap = obs.gap_p90_s if obs.gap_p90_s is not None else KEEP_WARM_FLOOR_S
        return min(ceiling, max(KEEP_WARM_FLOOR_S, 3.0 * gap))

    def decide(self, obs: Observation) -> Plan:
        """Scale up at once, down slowly into paused replicas, to zero when gaps say so."""
        mem = self._memory.setdefault(obs.specialist, _AdaptiveMemory())
        per = obs.slots * obs.target_utilization
        # tiered: a paused replica is held capacity (resumed in milliseconds by the next task)
        have = obs.running + obs.paused if self.tiered else obs.running
        capacity = have * obs.slots
        want_now = max(_need(obs.current, per), _need(obs.panic, per))
        waiting = obs.current > capacity
        if waiting or want_now >= 2 * max(have, 1):
            mem.panic_until = obs.now + self.panic_hold_s
        panic = obs.now < mem.panic_until
        if want_now > have and (waiting or panic) and obs.drains_before_a_start(capacity):
            assert obs.service_s is not None and obs.cold_start_s is not None
            mem.wanted.append((obs.now, have))
            return Plan(
                have,
                reason=(
                    f"{_figures(obs)}: the queue drains on {capacity} slots in "
                    f"{math.ceil(obs.current / capacity) * obs.service_s:.2f} s, before a new replica would be ready "
                    f"({obs.cold_start_s:.2f} s)"
                ),
            )
        if want_now > have and (waiting or panic):
            target = max(want_now, have + 1)
            mem.wanted.append((obs.now, target))
            return Plan(target, reason=f"{_figures(obs)}: tasks wait for a slot", panic=True)
        latency_high = obs.p95_s is not None and obs.p95_s > obs.latency_threshold_s
        loaded = obs.stable > 0.5 * capacity and have > 0
        note = ""
        if latency_high and loaded and obs.now >= mem.latency_bump_until:
            assert obs.p95_s is not None
            if obs.error_rate > obs.error_threshold:
                pass  # errors are not fixed by more containers; fall through to the steady rule
            elif obs.costly:  # latency is not bought with another replica; fall through
                note = f": p95 {obs.p95_s:.1f} s > threshold {obs.latency_threshold_s:.1f} s, but {_cost(obs)}"
            else:
                mem.latency_bump_until = obs.now + self.down_window_s
                mem.wanted.append((obs.now, have + 1))  # the down window holds the bump
                return Plan(
                    have + 1,
                    reason=f"{_figures(obs)}: p95 {obs.p95_s:.1f} s > threshold {obs.latency_threshold_s:.1f} s",
                )
        steady = _need(obs.stable, per)
        if have and abs(obs.stable / (have * per) - 1) <= self.tolerance:
            steady = have  # HPA's tolerance: close enough, do not move
        steady = max(steady, _need(obs.current, per))
        if obs.idle_s < self.hold_running_s(obs):
            # a stream of tasks too short to be in flight at a tick (a 40 ms task every few seconds):
            # one replica is held between them (untiered: running, no pause and resume per task)
            steady = max(steady, 1)
        mem.wanted.append((obs.now, steady))
        while mem.wanted and mem.wanted[0][0] < obs.now - self.down_window_s:
            mem.wanted.popleft()
        target = max(w for _, w in mem.wanted)
        if panic:
            target = max(target, have)
        if target < have:
            target = max(target, have // 2)  # at most halve per tick
        keep = self.keep_warm_s(obs)
        warm = 0
        if obs.idle_s < keep:
            warm = max(0, min(obs.warm_pool_max, max(have, 1)) - target)
            if obs.costly and warm > 1:
                warm = 1
                note = note or f": {_cost(obs)}, warm pool 1"
        if target == 0 and warm == 0 and obs.paused:
            reason = f"idle for {obs.idle_s:.0f} s > {keep:.0f} s (from the gaps between tasks): scale to zero"
        elif target < have:
            reason = f"{_figures(obs)}: demand below capacity for {self.down_window_s:g} s{note}"
        else:
            reason = _figures(obs) + note
        return Plan(target, warm, reason, panic)


@dataclass
class _KnativeMemory:
    panic_until: float = -math.inf
    zero_since: float | None = None


class KnativePolicy:
    """Knative KPA defaults (module docstring)."""

    name = "knative"
    uses_pause = False
    fresh_per_task = False
    tiered = False

    def __init__(
        self, target_pct: float = 0.7, panic_threshold: float = 2.0, stable_s: float = 60.0, grace_s: float = 30.0
    ) -> None:
        self.target_pct = target_pct
        self.panic_threshold = panic_threshold
        self.stable_s = stable_s
        self.grace_s = grace_s
        self._memory: dict[str, _KnativeMemory] = {}

    def decide(self, obs: Observation) -> Plan:
        """Stable/panic windows as KPA computes them."""
        mem = self._memory.setdefault(obs.specialist, _KnativeMemory())
        per = obs.slots * self.target_pct
        stable_want = _need(obs.stable, per)
        panic_want = _need(obs.panic, per)
        if panic_want >= self.panic_threshold * max(obs.running, 1) and panic_want > obs.running:
            mem.panic_until = obs.now + self.stable_s
        panic = obs.now < mem.panic_until
        target = max(obs.running, panic_want) if panic else stable_want
        if target < obs.running:
            target = max(target, obs.running // 2)
        if target == 0:
            mem.zero_since = obs.now if mem.zero_since is None else mem.zero_since
            if obs.now - mem.zero_since < self.grace_s and obs.running:
                target = 1
        else:
            mem.zero_since = None
        return Plan(target, reason=f"knative: {_figures(obs)}", panic=panic)


@dataclass
class _RayMemory:
    up_since: float | None = None
    down_since: float | None = None


class RayPolicy:
    """Ray Serve defaults (module docstring)."""

    name = "ray"
    uses_pause = False
    fresh_per_task = False
    tiered = False

    def __init__(
        self,
        target_ongoing: float = 2.0,
        upscale_delay_s: float = 30.0,
        downscale_delay_s: float = 600.0,
        look_back_s: float = 30.0,
    ) -> None:
        self.target_ongoing = target_ongoing
        self.upscale_delay_s = upscale_delay_s
        self.downscale_delay_s = downscale_delay_s
        self.look_back_s = look_back_s
        self._memory: dict[str, _RayMemory] = {}

    def decide(self, obs: Observation) -> Plan:
        """Desired = ongoing / target, applied after the up or down delay."""
        mem = self._memory.setdefault(obs.specialist, _RayMemory())
        want = _need(obs.stable, min(self.target_ongoing, obs.slots))
        if obs.running == 0 and obs.current > 0:
            want = max(want, 1)  # Ray scales from zero at once when a request arrives
            return Plan(want, reason=f"ray: {_figures(obs)}: scale from zero")
        if want > obs.running:
            mem.down_since = None
            mem.up_since = obs.now if mem.up_since is None else mem.up_since
            if obs.now - mem.up_since >= self.upscale_delay_s:
                mem.up_since = None
                return Plan(want, reason=f"ray: {_figures(obs)}: wanted {want} for {self.upscale_delay_s:g} s")
        elif want < obs.running:
            mem.up_since = None
            mem.down_since = obs.now if mem.down_since is None else mem.down_since
            if obs.now - mem.down_since >= self.downscale_delay_s:
                mem.down_since = None
                return Plan(want, reason=f"ray: {_figures(obs)}: wanted {want} for {self.downscale_delay_s:g} s")
        else:
            mem.up_since = mem.down_since = None
        return Plan(obs.running, reason=f"ray: {_figures(obs)}")


class AlwaysOnPolicy:
    """One replica per specialist, whatever the load."""

    name = "always_on"
    uses_pause = False
    fresh_per_task = False
    tiered = False

    def decide(self, obs: Observation) -> Plan:
        """Always one (or ``min_replicas``)."""
        return Plan(max(1, obs.min_replicas), reason="always on")


class PerTaskPolicy:
    """No standing replicas: the lifecycle starts a fresh container for each task."""

    name = "per_task"
    uses_pause = False
    fresh_per_task = True
    tiered = False

    def decide(self, obs: Observation) -> Plan:
        """Nothing stands by."""
        return Plan(0, reason="one container per task")


POLICIES: dict[
    str, type[AdaptivePolicy] | type[KnativePolicy] | type[RayPolicy] | type[AlwaysOnPolicy] | type[PerTaskPolicy]
] = {
    "adaptive": AdaptivePolicy,
    "knative": KnativePolicy,
    "ray": RayPolicy,
    "always_on": AlwaysOnPolicy,
    "per_task": PerTaskPolicy,
}


def make_policy(name: str) -> Policy:
    """A fresh policy by name (``KeyError`` names the known ones)."""
    try:
        return POLICIES[name]()
    except KeyError:
        raise KeyError(f"unknown scaling policy {name!r}; known: {', '.join(POLICIES)}") from None
