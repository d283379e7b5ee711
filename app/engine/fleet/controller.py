"""The lifecycle controller: one stoppable loop that scales, pauses, resumes and reaps by demand.

Every ``autoscale_tick_s`` (and at once when a task waits for a slot) it samples each
specialist's concurrency and containers (running and paused: what they cost), updates the
self-adjusting latency, error-rate and cost thresholds (:mod:`~app.engine.fleet.thresholds`), asks the
:mod:`~app.engine.fleet.policies` policy for a plan and moves the fleet towards it:
resume paused replicas before starting new ones, pause idle replicas the plan keeps warm,
remove the rest. Starts run on a small pool so one slow start does not hold back the others.
Each change is a :class:`~app.engine.core.events.Decision` whose reason carries the words and
figures ("scaled data-analytics 1→2: 7 in flight or waiting, 1 running × 4 slots, p95 4.1 s").

With a *tiered* policy (the adaptive one) the plan counts the replicas a specialist holds,
running or paused, and only that count scales up or down on the tick. Whether a held replica
runs or is paused is a tier change made by events (:mod:`~app.engine.fleet.tiers`): paused at
task end when the gaps between tasks are long against the measured resume cost, resumed by
the next task's ``acquire`` (or woken just ahead of it when the gaps are regular, by the
:mod:`~app.engine.fleet.wakes` schedule), and paused on the tick once a burst is over.

Threads: the loop runs on ``switchboard-controller``; :meth:`poke` and :meth:`observe_finished`
are called from dispatcher threads and only touch locked state. :meth:`tick` takes ``now`` so
unit tests drive the controller with a fake clock.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from app.engine.core.config import Settings
from app.engine.core.errors import EngineError
from app.engine.core.events import Decision, EventBus, TaskStateChanged
from app.engine.core.specs import SpecialistSpec
from app.engine.core.states import TaskState
from app.engine.core.views import ScalingView
from app.engine.fleet.demand import percentile
from app.engine.fleet.lifecycle import Lifecycle, Replica
from app.engine.fleet.policies import Observation, Plan, Policy, make_policy, money
from app.engine.fleet.thresholds import MIN_TASKS, Thresholds, hourly_cost
from app.engine.fleet.tiers import TierRule, Wake
from app.engine.fleet.wakes import WakeEntry, WakeSchedule

__all__ = ["PIN_S", "FleetController"]

log = logging.getLogger(__name__)

STABLE_WINDOW_S = 60.0
PANIC_WINDOW_S = 6.0
STATS_WINDOW_S = 300.0
MIN_TICK_GAP_S = 0.2


PIN_S = 600.0  # a count the user sets by hand holds this long before the policy takes over again


class FleetController:
    """Owns the decision loop over a :class:`Lifecycle`."""

    def __init__(
        self,
        settings: Settings,
        lifecycle: Lifecycle,
        bus: EventBus,
        *,
        policy: Policy | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.settings = settings
        self.lifecycle = lifecycle
        self.bus = bus
        self.policy: Policy = policy or make_policy(settings.autoscale_policy)
        self.clock: Callable[[], float] = clock or time.monotonic
        lifecycle.clock = self.clock
        self.thresholds = {sid: self._thresholds(spec) for sid, spec in lifecycle.specs.items()}
        self.plans: dict[str, ScalingView] = {}
        self._pins: dict[str, tuple[int, float]] = {}  # specialist -> (replicas, until)
        self.backlog: Callable[[str], int] | None = None  # tasks accepted and unfinished (the dispatcher's)
        self._lock = threading.Lock()  # plans, pending starts
        self._pending: dict[str, int] = {}
        self._starts = ThreadPoolExecutor(max_workers=3, thread_name_prefix="sb-scale")
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_tick = -math.inf
        lifecycle.on_demand = "from_zero"
        lifecycle.on_waiting = self.poke
        self.tiers = TierRule()
        self._tier_verdicts: dict[str, tuple[bool, bool]] = {}  # specialist -> (pauses, wakes ahead), on change
        self._tier_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sb-tier")
        self.wakes = WakeSchedule(self.clock, self._run_wake)
        self._planned_wakes: dict[str, float] = {}  # specialist -> when its latest planned wake is due
        self.wake_counts = {"woken": 0, "overdue": 0}  # replicas woken ahead of a task; paused again unused
        if self.policy.tiered:
            lifecycle.on_idle = self._on_idle
        if self.policy.fresh_per_task:
            lifecycle.fresh_override = set(lifecycle.specs)
        bus.subscribe(TaskStateChanged, self._on_task)

    # ------------------------------------------------------------------ loop

    def add_specialist(self, spec: SpecialistSpec) -> None:
        """Scale a specialist added to the running engine (its thresholds start from its manifest)."""
        self.thresholds.setdefault(spec.id, self._thresholds(spec))

    def _thresholds(self, spec: SpecialistSpec) -> Thresholds:
        return Thresholds.from_spec(spec, self.settings.cost_per_cpu_hour, self.settings.cost_per_gb_hour)

    def _cost_per_task(self, spec: SpecialistSpec, running_s: float, paused_s: float, finished: int) -> float | None:
        """What the specialist's containers cost over the stats window per task finished in it."""
        if finished < MIN_TASKS:
            return None  # too few tasks to divide by: the figure would be noise
        cpu, gb = self.settings.cost_per_cpu_hour, self.settings.cost_per_gb_hour
        spent = running_s * hourly_cost(spec, cpu, gb) + paused_s * hourly_cost(spec, cpu, gb, paused=True)
        return spent / 3600 / finished

    def start(self) -> None:
        """Run the loop on its own thread (idempotent)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="switchboard-controller", daemon=True)
        self._thread.start()
        if self.policy.tiered:
            self.wakes.start()

    def stop(self) -> None:
        """Stop the loop and wait for starts in progress (bounded)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.lifecycle.on_idle = None
        self.wakes.stop()
        self._starts.shutdown(wait=True, cancel_futures=True)
        self._tier_pool.shutdown(wait=True, cancel_futures=True)

    def poke(self, specialist: str = "") -> None:
        """A task waits for a slot: decide now rather than at the next tick."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.settings.autoscale_tick_s)
            self._wake.clear()
            if self._stop.is_set():
                return
            now = self.clock()
            if now - self._last_tick < MIN_TICK_GAP_S:
                time.sleep(MIN_TICK_GAP_S)
                now = self.clock()
            try:
                self.tick(now)
            except Exception:  # a bad tick must never stop the loop
                log.exception("controller tick failed")

    # ------------------------------------------------------------------ observe
    def _on_task(self, event: TaskStateChanged) -> None:
        if (
            event.state in (TaskState.SUCCEEDED, TaskState.FAILED)
            and event.specialist
            and event.duration_ms is not None
        ):
            service = event.service_ms / 1000.0 if event.service_ms is not None else None
            self.observe_finished(
                event.specialist, event.duration_ms / 1000.0, event.state == TaskState.SUCCEEDED, service
            )

    def _tier_figures(self, sid: str, now: float) -> tuple[list[float], float, float | None]:
        """Recent arrival gaps, the measured resume cost and the last arrival of ``sid``."""
        with self.lifecycle.demand.locked(sid) as window:
            gaps = window.recent_gaps(now)
            last = window.arrivals[-1] if window.arrivals else None
        return gaps, self.tiers.resume_cost(list(self.lifecycle.resumes.get(sid, ()))), last

    def _on_idle(self, replica: Replica) -> None:
        """A replica's last task ended (dispatcher thread): pause it now if the gaps say so."""
        sid = replica.specialist
        if self._stop.is_set() or self.lifecycle.quarantine_reason(sid) is not None:
            return
        if self._pinned(sid, self.clock()) is not None:
            return  # a count the user pinned is left as it is
        spec = self.lifecycle.specs.get(sid)
        if spec is None:
            return
        now = self.clock()
        gaps, resume_s, last = self._tier_figures(sid, now)
        why = self.tiers.pause_at_idle(gaps, resume_s)
        wake = self.tiers.wake_ahead(gaps, last, resume_s) if why is not None and last is not None else None
        if wake is not None and wake.at - now < self.tiers.min_gap_s:
            why = wake = None  # the next task is due too soon for a pause to pay
        self._publish_tier_verdict(sid, why, gaps, resume_s, wake)
        if why is None:
            return
        pool = self.lifecycle.pool(sid)
        with pool.cond:
            running = [r for r in pool.replicas.values() if not r.retired and not r.sandbox and not r.paused]
            if pool.waiting or len(running) <= spec.scaling.min_replicas:
                return  # a task waits for this slot, or min_replicas stay running
        try:
            self._tier_pool.submit(self._tier_pause, replica, why, wake, replica.served)
        except RuntimeError:
            return  # shutting down

    def _tier_pause(self, replica: Replica, why: str, wake: Wake | None = None, served: int = 0) -> None:
        """Pause ``replica`` (tier thread) and plan its wake; ``served``: its count when it went idle."""
        try:
            paused = self.lifecycle.pause(replica.name, reason=why, tier=True)
        except EngineError as exc:
            log.info("could not pause %s: %s", replica.name, exc)
            return
        if not paused or wake is None:
            return
        with self._lock:  # one expected task wakes one replica, however many were paused for it
            planned = self._planned_wakes.get(replica.specialist)
            if planned is not None and abs(planned - wake.at) <= wake.overdue - wake.at:
                return
            self._planned_wakes[replica.specialist] = wake.at
        self.wakes.add(wake.at, replica.name, "resume", served, wake.reason)
        self.wakes.add(wake.overdue, replica.name, "recheck", served, wake.reason)

    def _run_wake(self, entry: WakeEntry) -> None:
        """Resume a replica ahead of its expected task, or pause it again when that task is overdue."""
        replica = self.lifecycle.find(entry.replica)
        if replica is None or replica.retired or replica.served != entry.served or self._stop.is_set():
            return  # gone, or it served a task since: a newer entry speaks for it
        if entry.action == "resume":
            if replica.paused and self.lifecycle.resume(entry.replica, reason=entry.reason) is not None:
                self.wake_counts["woken"] += 1
            return
        if replica.paused or replica.inflight:
            return
        try:
            overdue = self.lifecycle.pause(
                entry.replica, reason="the expected task is overdue: paused until a task comes", tier=True
            )
        except EngineError as exc:
            log.info("could not pause %s: %s", entry.replica, exc)
            return
        self.wake_counts["overdue"] += overdue

    def _publish_tier_verdict(
        self, sid: str, why: str | None, gaps: list[float], resume_s: float, wake: Wake | None = None
    ) -> None:
        """Say when a specialist starts or stops pausing (or waking ahead) between tasks (not each pause)."""
        verdict = (why is not None, wake is not None)
        if self._tier_verdicts.get(sid) == verdict:
            return
        self._tier_verdicts[sid] = verdict
        gap = self.tiers.stream_gap(gaps)  # the gap the decision went by
        shown = f"typical gap {gap:.1f} s" if gap is not None else f"fewer than {self.tiers.min_gaps} recent gaps"
        woken = f"; {wake.reason}" if wake is not None else ""
        reason = (
            f"{sid}: idle replicas are paused at task end ({why}{woken})"
            if why is not None
            else f"{sid}: idle replicas stay running between tasks ({shown}, resume {resume_s * 1000:.0f} ms)"
        )
        self.bus.publish(
            Decision(
                kind="tier",
                subject=sid,
                reason=reason,
                data={
                    "pause_at_idle": verdict[0],
                    "wake_ahead": verdict[1],
                    "typical_gap_s": gap,
                    "resume_s": resume_s,
                },
            )
        )

    def observe_finished(self, specialist: str, latency_s: float, ok: bool, service_s: float | None = None) -> None:
        """A task of ``specialist`` finished (any thread); ``service_s``: its time inside the replica."""
        self.lifecycle.demand.finish(specialist, self.clock(), latency_s, ok, service_s)

    def _observe(self, spec: SpecialistSpec, now: float) -> Observation | None:
        sid = spec.id
        pool = self.lifecycle.pool(sid)
        with pool.cond:
            managed = [r for r in pool.replicas.values() if not r.retired and not r.sandbox and not r.fresh]
            running = sum(1 for r in managed if not r.paused)
            paused = sum(1 for r in managed if r.paused)
            current = float(
                sum(r.inflight for r in pool.replicas.values() if not r.retired and not r.sandbox) + pool.waiting
            )
            starting = pool.starting
            live = [r for r in pool.replicas.values() if not r.retired]  # sandboxes too: they cost as much
            costing = (sum(1 for r in live if not r.paused), sum(1 for r in live if r.paused))
        with self._lock:
            starting += self._pending.get(sid, 0)
        if self.backlog is not None:
            current = max(current, float(self.backlog(sid)))  # tasks queued before they reach acquire
        book = self.lifecycle.demand
        book.sample(sid, now, current)
        book.sample_replicas(sid, now, *costing)
        with book.locked(sid) as window:
            ever_busy = window.last_busy is not None
            stable = window.mean_concurrency(now, STABLE_WINDOW_S)
            panic = window.mean_concurrency(now, PANIC_WINDOW_S)
            idle = window.idle_for(now)
            gap = window.gap_p90(now)
            p95 = window.latency_p95(now, STATS_WINDOW_S)
            service = window.service_p50(now, STATS_WINDOW_S)
            errors, finished = window.error_rate(now, STATS_WINDOW_S)
            running_s, paused_s = window.replica_seconds(now, STATS_WINDOW_S)
        if not managed and not starting and not ever_busy and spec.scaling.min_replicas == 0:
            return None  # never used: nothing to decide
        th = self.thresholds[sid]
        cost = self._cost_per_task(spec, running_s, paused_s, finished)
        if th.update(p95, errors, finished, cost):
            costs = (
                f", cost {money(th.cost)} per task" if math.isfinite(th.cost) else "",
                f", cost {money(cost)} per task" if cost is not None else "",
            )
            self.bus.publish(
                Decision(
                    kind="threshold",
                    subject=sid,
                    reason=(
                        f"{sid} thresholds now p95 {th.latency_s:.2f} s, error rate {th.error_rate:.0%}{costs[0]} "
                        f"(observed p95 {p95 or 0:.2f} s, errors {errors:.0%}{costs[1]} over {finished} tasks)"
                    ),
                    data={
                        "latency_s": th.latency_s,
                        "error_rate": th.error_rate,
                        "observed_p95_s": p95,
                        "observed_error_rate": errors,
                        "cost_per_task": th.cost if math.isfinite(th.cost) else None,
                        "observed_cost_per_task": cost,
                    },
                )
            )
        return Observation(
            specialist=sid,
            now=now,
            running=running + starting,
            paused=paused,
            slots=spec.scaling.concurrency,
            current=current,
            stable=stable,
            panic=panic,
            idle_s=idle,
            gap_p90_s=gap,
            p95_s=p95,
            error_rate=errors,
            finished=finished,
            min_replicas=spec.scaling.min_replicas,
            max_replicas=spec.scaling.max_replicas,
            target_utilization=spec.scaling.target_utilization,
            latency_threshold_s=th.latency_s,
            error_threshold=th.error_rate,
            warm_pool_max=spec.scaling.warm_pool_max,
            idle_ttl_s=spec.scaling.idle_ttl_s,
            cost_per_task=cost,
            cost_threshold=th.cost,
            service_s=service,
            cold_start_s=percentile(list(self.lifecycle.cold_starts.get(sid, ())), 0.5),
        )

    # ------------------------------------------------------------------ decide and act
    def tick(self, now: float | None = None) -> dict[str, Plan]:
        """One decision pass over every specialist; returns the plans made."""
        now = self.clock() if now is None else now
        self._last_tick = now
        plans: dict[str, Plan] = {}
        for sid, spec in self.lifecycle.specs.items():
            if self.lifecycle.quarantine_reason(sid) is not None:
                continue
            if spec.scaling.fresh_per_task or sid in self.lifecycle.fresh_override:
                continue  # one container per task: nothing stands by, acquire starts each one
            obs = self._observe(spec, now)
            if obs is None:
                continue
            plan = self.policy.decide(obs)  # always asked, so its windows keep up
            pinned = self._pinned(sid, now)
            if pinned is not None:
                plan = Plan(pinned, 0, f"pinned to {pinned} by the user for {self._pins[sid][1] - now:.0f} s more")
            plans[sid] = plan
            try:
                # a count the user set is theirs to keep: the controller only reports it, so it
                # never races the user's own scale or stop with starts of its own
                self._apply(spec, obs, plan, act=pinned is None)
            except EngineError as exc:
                self.bus.publish(Decision(kind="scale_failed", subject=sid, reason=f"{sid}: {exc.message}"))
        return plans

    def _apply(self, spec: SpecialistSpec, obs: Observation, plan: Plan, *, act: bool = True) -> None:
        sid = spec.id
        lo, hi = spec.scaling.min_replicas, spec.scaling.max_replicas
        want_run = min(hi, max(lo, plan.running))
        want_warm = max(0, min(plan.warm, hi - want_run)) if self.policy.uses_pause else 0
        managed = [r for r in self.lifecycle.replicas(sid) if not r.sandbox and not r.fresh]
        running = [r for r in managed if not r.paused]
        paused = sorted((r for r in managed if r.paused), key=lambda r: -r.paused_at)  # newest first
        th = self.thresholds[sid]
        with self._lock:
            pin = self._pins.get(sid)
            self.plans[sid] = ScalingView(
                sid,
                len(running),
                len(paused),
                want_run,
                want_warm,
                plan.reason,
                th.latency_s,
                th.error_rate,
                policy=self.policy.name,
                pinned=pin[0] if pin else None,
                cost_threshold=th.cost if math.isfinite(th.cost) else None,
            )
        if not act:
            return
        if self.policy.tiered:
            self._apply_tiered(spec, obs, plan, want_run, want_warm, running, paused)
            return
        have = obs.running  # running + starting
        if want_run > have:
            self._decide("scale_up", sid, f"scaled {sid} {have}→{want_run}: {plan.reason}", have, want_run)
            need = want_run - have
            resumed = [
                r for r in paused[:need] if self.lifecycle.resume(r.name, reason=f"scale to {want_run}") is not None
            ]
            paused = [r for r in paused if r not in resumed and not r.retired]
            for _ in range(need - len(resumed)):
                self._start_async(sid, f"scale to {want_run}")
        elif want_run < len(running):
            idle = sorted((r for r in running if r.inflight == 0), key=lambda r: r.last_used)
            extra = idle[: len(running) - want_run]
            if extra:
                after = len(running) - len(extra)
                kind = "scale_to_zero" if after == 0 and want_warm == 0 and not paused else "scale_down"
                self._decide(kind, sid, f"scaled {sid} {len(running)}→{after}: {plan.reason}", len(running), after)
                for replica in extra:
                    if len(paused) < want_warm:
                        if self.lifecycle.pause(replica.name, reason=f"kept warm (paused): {plan.reason}"):
                            paused.insert(0, replica)
                            continue
                    self.lifecycle.remove(replica.name, reason=f"scale to {after}")
        # a warm pool fills from scale-downs only: never start a container just to pause it
        for replica in paused[want_warm:]:
            kind = "scale_to_zero" if want_run == 0 and want_warm == 0 else "trim_warm"
            self._decide(kind, sid, f"removed paused {replica.name}: {plan.reason}", len(paused), want_warm)
            self.lifecycle.remove(replica.name, reason=plan.reason or "warm pool smaller")

    def _apply_tiered(
        self,
        spec: SpecialistSpec,
        obs: Observation,
        plan: Plan,
        want: int,
        want_warm: int,
        running: list[Replica],
        paused: list[Replica],
    ) -> None:
        """Scale the held count (running + paused); pause idle replicas once the specialist's work stopped."""
        sid = spec.id
        have = obs.running + obs.paused  # running + starting + paused
        keep = min(spec.scaling.max_replicas, want + want_warm)
        if want > have:
            self._decide("scale_up", sid, f"scaled {sid} {have}→{want}: {plan.reason}", have, want)
            for replica in paused:  # held replicas run again before any new one starts
                self.lifecycle.resume(replica.name, reason=f"scale to {want}")
            for _ in range(want - have):
                self._start_async(sid, f"scale to {want}")
            return
        if have > keep:
            # paused first (oldest paused first), then the longest idle running ones
            idle = sorted(paused, key=lambda r: r.paused_at) + sorted(
                (r for r in running if r.inflight == 0), key=lambda r: r.last_used
            )
            extra = idle[: have - keep]
            if extra:
                after = have - len(extra)
                kind = "scale_to_zero" if after == 0 else "scale_down"
                self._decide(kind, sid, f"scaled {sid} {have}→{after} held: {plan.reason}", have, after)
                for replica in extra:
                    self.lifecycle.remove(replica.name, reason=f"scale to {after}")
                running = [r for r in running if r not in extra]
        gaps, resume_s, _ = self._tier_figures(sid, obs.now)
        after_s = self.tiers.pause_after_s(gaps, resume_s)
        if obs.idle_s < after_s or obs.current > 0:
            return
        idle = [r for r in running if r.inflight == 0 and not r.retired]
        idle = idle[: max(0, len(running) - spec.scaling.min_replicas)]
        done = [r for r in idle if self.lifecycle.pause(r.name, reason=f"no task for {obs.idle_s:.0f} s")]
        if done:
            self._decide(
                "pause",
                sid,
                f"paused {len(done)} idle {sid} replica(s), still held: no task for {obs.idle_s:.1f} s ≥ "
                f"{after_s:.1f} s (resume {resume_s * 1000:.0f} ms)",
                len(running),
                len(running) - len(done),
            )

    def _decide(self, kind: str, sid: str, reason: str, before: int, after: int) -> None:
        self.bus.publish(
            Decision(
                kind=kind, subject=sid, reason=reason, data={"from": before, "to": after, "policy": self.policy.name}
            )
        )

    def _start_async(self, sid: str, reason: str) -> Future[Replica | None]:
        with self._lock:
            self._pending[sid] = self._pending.get(sid, 0) + 1

        def run() -> Replica | None:
            try:
                return self.lifecycle.start(sid, reason=reason)
            except EngineError as exc:
                log.info("controller could not start %s: %s", sid, exc)
                return None
            finally:
                with self._lock:
                    self._pending[sid] -= 1

        return self._starts.submit(run)

    def pin(self, specialist: str, replicas: int, for_s: float = PIN_S) -> None:
        """Hold a count the user chose for ``for_s`` seconds (the policy still observes)."""
        with self._lock:
            self._pins[specialist] = (replicas, self.clock() + for_s)
        self.bus.publish(
            Decision(
                kind="pin", subject=specialist, reason=f"{specialist} held at {replicas} by the user for {for_s:g} s"
            )
        )

    def _pinned(self, specialist: str, now: float) -> int | None:
        with self._lock:
            pin = self._pins.get(specialist)
            if pin is not None and now >= pin[1]:
                del self._pins[specialist]
                pin = None
        return None if pin is None else pin[0]

    def plan_views(self) -> list[ScalingView]:
        """The latest plan per specialist."""
        with self._lock:
            return list(self.plans.values())
