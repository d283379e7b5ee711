"""Container lifecycle: start on demand, hand out task slots, scale, pause, reap idle, reattach.

Threads: ``acquire``/``release`` run on dispatcher workers; ``start``/``scale``/``stop`` run on
the caller's thread (the facade wraps them in futures); the reaper and the
:class:`~app.engine.fleet.controller.FleetController` run on threads of their own.
Every decision (start on demand, pause, resume, reap, evict, refuse for budget, back off after a
crash, quarantine) is published as a :class:`~app.engine.core.events.Decision` with its reason.

With ``on_demand="from_zero"`` (the controller is on) ``acquire`` starts a container only when
the specialist has none; otherwise tasks wait for a slot and the controller, woken through
``on_waiting``, decides how many more to run. A paused replica is resumed before any new one
is started.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from app.engine.core.config import Settings
from app.engine.core.errors import Busy, EngineError, EnvironmentUnavailable, NotFound, OverBudget, Quarantined
from app.engine.core.events import ContainerStateChanged, Decision, EventBus
from app.engine.core.specs import SpecialistSpec
from app.engine.core.states import ContainerState
from app.engine.fleet.budget import Candidate, LoadedModel, ModelMemory, Victim, choose_victims
from app.engine.fleet.crashloop import CrashGuard
from app.engine.fleet.demand import DemandBook
from app.engine.fleet.exchange import Exchange
from app.engine.fleet.node_room import no_room_reason
from app.engine.fleet.replica_channel import ReplicaChannel, channel_for
from app.engine.fleet.transport import SocketClient
from app.engine.runtime.protocol import (
    LABEL_INSTANCE,
    LABEL_MANAGED,
    LABEL_NAMESPACE,
    LABEL_ROLE,
    LABEL_SPECIALIST,
    ContainerInfo,
    ContainerRuntime,
    LaunchSpec,
    Mount,
)

__all__ = ["Lifecycle", "Replica"]

log = logging.getLogger(__name__)

ImageProvider = Callable[[SpecialistSpec], str]
# deaths the task caused (or the user asked for): they do not count towards a crash loop
TASK_CAUSED = ("task cancelled", "stuck past the task timeout", "out of memory")


@dataclass
class Replica:
    """One container of a specialist and its free task slots."""

    name: str
    specialist: str
    image: str
    exchange: Exchange
    client: SocketClient
    slots: int
    fresh: bool = False
    inflight: int = 0
    served: int = 0
    last_used: float = field(default_factory=time.monotonic)
    started_at: float = field(default_factory=time.time)
    retired: bool = False
    sandbox: bool = False  # a one-task program sandbox: never handed to another task
    paused: bool = False  # frozen by ``docker pause``: holds memory, no CPU, takes no task
    paused_at: float = 0.0
    tier_paused: bool = False  # paused at task end by the tier rule (a tier change, not a decision)
    # held across ``docker pause``/``unpause``: a resume waits for a pause in progress to finish
    tier_lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)


class _Pool:
    """Replicas of one specialist guarded by one condition variable."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.replicas: dict[str, Replica] = {}
        self.starting = 0
        self.waiting = 0  # tasks blocked in acquire for a slot


class Lifecycle:
    """Owns every running container of this engine instance."""

    def __init__(
        self,
        settings: Settings,
        runtime: ContainerRuntime,
        specs: dict[str, SpecialistSpec],
        bus: EventBus,
        image_for: ImageProvider,
        instance_id: str,
    ) -> None:
        self.settings = settings
        self.runtime = runtime
        self.specs = specs
        self.bus = bus
        self.image_for = image_for
        self.instance_id = instance_id
        self._pools: dict[str, _Pool] = {sid: _Pool() for sid in specs}
        self._stop = threading.Event()
        self._reaper: threading.Thread | None = None
        self.exchange_root = settings.data_dir / "exchange"
        self._prepared: set[str] = set()  # specialists whose volume/network exist
        self._budget_lock = threading.Lock()
        self._budget_freed = threading.Condition(self._budget_lock)  # a container left the budget
        self._reserved_mb: list[int] = []  # memory of containers starting now (budget)
        self.demand = DemandBook(list(specs))
        self.clock: Callable[[], float] = time.monotonic  # demand and pause times (the controller's clock)
        self.crashes = CrashGuard(
            settings.crash_backoff_s,
            settings.crash_backoff_max_s,
            settings.crash_quarantine_after,
            settings.crash_window_s,
        )
        self._crash_lock = threading.Lock()
        self.on_demand = "always"  # or "from_zero": the controller scales beyond the first
        self.fresh_override: set[str] = set()  # specialists run one container per task (a policy)
        self.on_waiting: Callable[[str], None] | None = None  # a task waits for a slot
        self.on_idle: Callable[[Replica], None] | None = None  # a replica's last task ended (dispatcher thread)
        self.model_memory: ModelMemory | None = None  # loaded models count in the memory budget
        self.resumes: dict[str, deque[float]] = {sid: deque(maxlen=50) for sid in specs}  # seconds, latest last
        self.cold_starts: dict[str, deque[float]] = {sid: deque(maxlen=50) for sid in specs}  # run -> ready, seconds
        self._channel: ReplicaChannel | None = None

    # ----------------------------------------------------------------- queries
    @property
    def channel(self) -> ReplicaChannel:
        """How replicas are reached: exchange-folder sockets, or the Swarm gateway (multi-node)."""
        if self._channel is None:
            multi = self.settings.runtime_backend == "swarm" and self.settings.swarm_multi_node
            self._channel = channel_for(self.runtime, multi)
        return self._channel

    def add_specialist(self, spec: SpecialistSpec) -> None:
        """Make a specialist added to the running engine (an accepted proposal) startable."""
        self.specs[spec.id] = spec
        self._pools.setdefault(spec.id, _Pool())
        self.resumes.setdefault(spec.id, deque(maxlen=50))
        self.cold_starts.setdefault(spec.id, deque(maxlen=50))

    def pool(self, specialist: str) -> _Pool:
        """The pool of a known specialist (``NotFound`` otherwise)."""
        try:
            return self._pools[specialist]
        except KeyError:
            raise NotFound(f"unknown specialist {specialist!r}") from None

    def replicas(self, specialist: str | None = None) -> list[Replica]:
        """Live replicas (of one specialist or all)."""
        ids = [specialist] if specialist else list(self._pools)
        out: list[Replica] = []
        for sid in ids:
            pool = self.pool(sid)
            with pool.cond:
                out.extend(r for r in pool.replicas.values() if not r.retired)
        return out

    def find(self, name: str) -> Replica | None:
        """The replica with this container name, if we own it."""
        for pool in self._pools.values():
            with pool.cond:
                if name in pool.replicas:
                    return pool.replicas[name]
        return None

    # ----------------------------------------------------------------- names
    def _scoped(self, kind: str, specialist: str) -> str:
        ns = self.settings.namespace
        return f"switchboard-{kind}-{specialist}" if ns == "default" else f"switchboard-{ns}-{kind}-{specialist}"

    def volume_name(self, specialist: str) -> str:
        """The named volume holding a specialist's persistent state (``/data``)."""
        return self._scoped("data", specialist)

    def network_name(self, specialist: str) -> str:
        """The user bridge network of a specialist that needs network."""
        return self._scoped("net", specialist)

    def base_labels(self, specialist: str) -> dict[str, str]:
        """Labels on every object this engine creates for ``specialist``."""
        return {LABEL_MANAGED: "true", LABEL_SPECIALIST: specialist, LABEL_NAMESPACE: self.settings.namespace}

    # ----------------------------------------------------------------- start / stop
    def _decide(self, kind: str, subject: str, reason: str, **data: object) -> None:
        self.bus.publish(Decision(kind=kind, subject=subject, reason=reason, data=dict(data)))

    def _memory_mb(self, replica: Replica) -> int:
        spec = self.specs.get(replica.specialist)
        return spec.limits.memory_mb if spec is not None else 0

    def _loaded_models(self) -> list[LoadedModel]:
        if self.model_memory is None:
            return []
        try:
            return self.model_memory.loaded()
        except EngineError as exc:
            log.debug("model memory unknown: %s", exc)
            return []

    def budget_use(self) -> tuple[int, int, int]:
        """Memory (MB) held by containers, by loaded models, and the budget."""
        containers = sum(self._memory_mb(r) for r in self.replicas()) + sum(self._reserved_mb)
        models = sum(m.memory_mb for m in self._loaded_models())
        return containers, models, self.settings.budget_max_memory_mb

    def _check_budget(self, spec: SpecialistSpec) -> list[Victim]:
        """What must be evicted for ``spec`` to start (``Busy`` when nothing can make room).

        Called under ``_budget_lock``; counts containers still starting, paused containers
        (they keep their memory) and loaded models. The caller reserves the memory.
        """
        live = self.replicas()
        starting = list(self._reserved_mb)
        models = self._loaded_models()
        now = time.monotonic()
        candidates = [
            Candidate(
                r.name,
                r.specialist,
                self._memory_mb(r),
                r.paused,
                now - r.last_used,
                removable=r.paused or (r.inflight == 0 and not r.sandbox and self._above_min(r.specialist, live)),
            )
            for r in live
        ]
        if len(live) + len(starting) >= self.settings.budget_max_containers:
            victims = choose_victims(1, 0, [c for c in candidates if c.removable], [], protect=spec.id)
            if not victims:
                self._decide(
                    "refuse_budget",
                    spec.id,
                    f"container budget reached ({len(live)}/{self.settings.budget_max_containers})",
                )
                raise OverBudget(
                    f"container budget reached ({len(live)}/{self.settings.budget_max_containers} running); "
                    "stop a specialist or raise budget_max_containers"
                )
            return victims[:1]
        room = self._node_room(spec)
        if room:  # across nodes a replica must fit on one of them
            self._decide("refuse_budget", spec.id, room)
            raise OverBudget(room)
        used_mb = sum(c.memory_mb for c in candidates) + sum(starting) + sum(m.memory_mb for m in models)
        free_mb = self.settings.budget_max_memory_mb - used_mb
        victims = choose_victims(spec.limits.memory_mb, free_mb, candidates, models, protect=spec.id)
        if victims is None:
            reason = (
                f"memory budget reached ({used_mb} MB of {self.settings.budget_max_memory_mb} MB in use, "
                f"{spec.id} needs {spec.limits.memory_mb} MB); nothing idle to evict"
            )
            self._decide(
                "refuse_budget", spec.id, reason, used_mb=used_mb, budget_mb=self.settings.budget_max_memory_mb
            )
            raise OverBudget(reason)
        return victims

    def _node_room(self, spec: SpecialistSpec) -> str:
        """In the Swarm multi-node mode: why no node can take ``spec`` now ("" when one can)."""
        if not (self.settings.runtime_backend == "swarm" and self.settings.swarm_multi_node):
            return ""
        source = getattr(self.runtime, "nodes", None)
        if source is None:
            return ""
        try:
            views = source(self.settings.namespace)
        except EngineError as exc:
            log.debug("node capacity unknown: %s", exc)
            return ""  # the scheduler still refuses what does not fit; the start then times out with its reason
        return no_room_reason(views, spec.id, spec.limits.memory_mb, spec.limits.cpus)

    def _above_min(self, specialist: str, live: list[Replica]) -> bool:
        spec = self.specs.get(specialist)
        keep = spec.scaling.min_replicas if spec is not None else 0
        return sum(1 for r in live if r.specialist == specialist and not r.paused) > keep

    def _evict(self, victims: list[Victim], for_specialist: str) -> None:
        for victim in victims:
            why = f"evicted to make room for {for_specialist} ({victim.memory_mb} MB)"
            self._decide("evict", victim.name, f"{victim.kind}: {why}", victim=victim.kind, memory_mb=victim.memory_mb)
            try:
                if victim.kind == "model":
                    assert self.model_memory is not None
                    self.model_memory.unload(victim.name)
                else:
                    self.remove(victim.name, reason=why)
            except EngineError as exc:
                log.warning("could not evict %s: %s", victim.name, exc)

    def launch_spec(
        self, spec: SpecialistSpec, image: str, name: str, exchange: Exchange, *, sandbox: bool = False
    ) -> LaunchSpec:
        """The hardened launch description of one container of ``spec``.

        A ``sandbox`` (for a model-written program) has no ``/data`` volume and no network: it
        sees only its own task's inputs.
        """
        # /output is a size-capped tmpfs, not a host folder: hostile code cannot fill the
        # host's disk; the engine copies outputs out through the Docker API.
        mounts: tuple[Mount, ...] = (
            Mount(str(exchange.sock_dir), "/run/switchboard"),
            Mount(str(exchange.in_dir), "/input", read_only=True),
            Mount(self.volume_name(spec.id), "/data", volume=True),
        )
        if sandbox:
            mounts = mounts[:2]
        return LaunchSpec(
            name=name,
            image=image,
            labels={**self.base_labels(spec.id), LABEL_INSTANCE: self.instance_id, LABEL_ROLE: "specialist"},
            env={
                "SWITCHBOARD_SPECIALIST": spec.id,
                "SWITCHBOARD_SOCKET": "/run/switchboard/specialist.sock",
                "SWITCHBOARD_HANDLER": "/opt/specialist/handler.py",
            },
            mounts=mounts,
            memory_mb=spec.limits.memory_mb,
            cpus=spec.limits.cpus,
            pids=spec.limits.pids,
            tmpfs_mb=spec.limits.tmpfs_mb,
            network=self.network_name(spec.id) if spec.needs_network and not sandbox else None,
            output_tmpfs_mb=spec.limits.output_mb,
        )

    def start(self, specialist: str, *, reason: str = "requested", sandbox: bool = False) -> Replica:
        """Start one more container of ``specialist`` and wait until it answers."""
        spec = self.specs[specialist] if specialist in self.specs else None
        if spec is None:
            raise NotFound(f"unknown specialist {specialist!r}")
        pool = self.pool(specialist)
        self._wait_crash_backoff(specialist)
        with self._budget_lock:
            victims = self._check_budget(spec)
            self._reserved_mb.append(spec.limits.memory_mb)
        try:
            if victims:
                self._evict(victims, specialist)
            return self._start_reserved(spec, pool, reason, sandbox)
        except EngineError as exc:
            if not isinstance(exc, (Busy, Quarantined, EnvironmentUnavailable)):  # Docker down: not the image's fault
                self.crashed(specialist, f"start failed: {exc.message.splitlines()[0]}")
            raise
        finally:
            with self._budget_freed:
                self._reserved_mb.remove(spec.limits.memory_mb)
                self._budget_freed.notify_all()

    def _wait_for_budget(self, deadline: float) -> bool:
        """After a budget refusal: wait for a one-task container to end (it frees its room); ``False`` if none will.

        A one-task container (per-task specialist or program sandbox) holding its task is removed
        when the task ends, so a task refused for budget waits for that, within its own timeout,
        like a task waiting for a slot; with no such container it fails at once (nothing frees).
        """
        with self._budget_freed:
            # a one-task container ends by itself: while it holds its task, and after it (being removed);
            # counting only those holding a task raced with one whose task had just ended. A start in
            # progress changes the budget too (it becomes one of those, or fails and frees its room).
            ending = bool(self._reserved_mb) or any(r.fresh or r.sandbox for r in self.replicas())
            remaining = deadline - time.monotonic()
            if not ending or remaining <= 0:
                return False
            self._budget_freed.wait(min(remaining, 1.0))
        return time.monotonic() < deadline

    # ----------------------------------------------------------------- crash loops
    def _wait_crash_backoff(self, specialist: str, max_wait_s: float = 60.0) -> None:
        """Wait out a crash backoff (bounded); refuse a quarantined specialist."""
        with self._crash_lock:
            quarantine = self.crashes.quarantine_reason(specialist)
            wait = self.crashes.wait_s(specialist, time.monotonic())
        if quarantine is not None:
            raise Quarantined(f"{specialist} is {quarantine}", hint=f"switchboard release {specialist}")
        if wait > max_wait_s:
            raise Busy(f"{specialist} crashed recently; next start in {wait:.0f} s")
        if wait > 0 and self._stop.wait(wait):
            raise EngineError("the engine is closing")

    def crashed(self, specialist: str, reason: str) -> None:
        """Count a crash of ``specialist``: back off, or quarantine it, and say so."""
        with self._crash_lock:
            verdict, wait = self.crashes.crashed(specialist, time.monotonic(), reason)
            quarantine = self.crashes.quarantine_reason(specialist)
        if verdict == "quarantine":
            self._decide("quarantine", specialist, f"{specialist} {quarantine}")
        else:
            self._decide(
                "crash_backoff", specialist, f"{reason}; next start of {specialist} waits {wait:g} s", wait_s=wait
            )

    def quarantine_reason(self, specialist: str) -> str | None:
        """Why ``specialist`` is quarantined, or ``None``."""
        with self._crash_lock:
            return self.crashes.quarantine_reason(specialist)

    def release_quarantine(self, specialist: str) -> bool:
        """Let a quarantined specialist start again; ``True`` when it was quarantined."""
        self.pool(specialist)
        with self._crash_lock:
            lifted = self.crashes.release(specialist)
        if lifted:
            self._decide("release_quarantine", specialist, "released by the user")
        return lifted

    def _start_reserved(self, spec: SpecialistSpec, pool: _Pool, reason: str, sandbox: bool) -> Replica:
        image = self.image_for(spec)
        labels = self.base_labels(spec.id)
        if spec.id not in self._prepared:
            if spec.needs_network:
                self.runtime.ensure_network(self.network_name(spec.id), internal=False, labels=labels)
            self.runtime.ensure_volume(self.volume_name(spec.id), labels=labels)
            self._prepared.add(spec.id)
        name = f"sb-{spec.id}-{secrets.token_hex(4)}"
        exchange = Exchange(self.exchange_root / name)
        exchange.create()
        self.bus.publish(
            ContainerStateChanged(container=name, specialist=spec.id, state=ContainerState.STARTING, reason=reason)
        )
        began = time.monotonic()
        try:
            self.runtime.run(self.launch_spec(spec, image, name, exchange, sandbox=sandbox))

            def alive() -> bool:
                return self.runtime.get(name).status in ("created", "running")

            if not self.channel.wait_ready(name, exchange, 60.0, alive):
                tail = self.runtime.logs(name, tail=20)
                raise EngineError(f"container {name} did not become ready; its last output:\n{tail}")
        except BaseException:
            self._prepared.discard(spec.id)
            self.runtime.remove(name)
            exchange.remove()
            self.bus.publish(
                ContainerStateChanged(
                    container=name, specialist=spec.id, state=ContainerState.FAILED, reason="start failed"
                )
            )
            raise
        if not sandbox:
            self.cold_starts.setdefault(spec.id, deque(maxlen=50)).append(time.monotonic() - began)
        replica = Replica(
            name=name,
            specialist=spec.id,
            image=image,
            exchange=exchange,
            client=self.channel.client(name, exchange, spec.scaling.concurrency),
            slots=1
            if spec.scaling.fresh_per_task or sandbox or spec.id in self.fresh_override
            else spec.scaling.concurrency,
            fresh=spec.scaling.fresh_per_task or sandbox or spec.id in self.fresh_override,
            sandbox=sandbox,
            inflight=1 if sandbox else 0,
        )
        with pool.cond:
            pool.replicas[name] = replica
            pool.cond.notify_all()
        self.bus.publish(
            ContainerStateChanged(container=name, specialist=spec.id, state=ContainerState.RUNNING, reason=reason)
        )
        return replica

    def remove(self, name: str, *, reason: str = "requested") -> bool:
        """Stop and remove one of our containers (and its exchange folders)."""
        replica = self.find(name)
        if replica is not None:
            pool = self.pool(replica.specialist)
            with pool.cond:
                replica.retired = True
                pool.replicas.pop(name, None)
                pool.cond.notify_all()
            replica.client.close()
        try:
            self.runtime.remove(name)
        finally:
            if replica is not None:
                replica.exchange.remove()
            else:
                Exchange(self.exchange_root / name).remove()
        with self._budget_freed:
            self._budget_freed.notify_all()
        self.bus.publish(
            ContainerStateChanged(
                container=name,
                specialist=replica.specialist if replica else "",
                state=ContainerState.REMOVED,
                reason=reason,
            )
        )
        return True

    def pause(self, name: str, *, reason: str, tier: bool = False) -> bool:
        """Freeze an idle replica (``docker pause``); ``False`` when it is busy or gone.

        ``tier``: paused at task end by the tier rule; its resume is then not a decision of its own.
        """
        replica = self.find(name)
        if replica is None:
            return False
        pool = self.pool(replica.specialist)
        with replica.tier_lock:  # a resume that finds it paused waits for the pause to be done
            with pool.cond:
                if replica.retired or replica.paused or replica.inflight or replica.sandbox or replica.fresh:
                    return False
                replica.paused = True  # acquire skips it from now on
                replica.tier_paused = tier
                replica.paused_at = self.clock()
            try:
                self.runtime.pause(name)
            except EngineError:
                with pool.cond:
                    replica.paused = False
                    pool.cond.notify_all()
                raise
        self.bus.publish(
            ContainerStateChanged(
                container=name, specialist=replica.specialist, state=ContainerState.PAUSED, reason=reason
            )
        )
        return True

    def resume(self, name: str, *, reason: str, claim: bool = False) -> Replica | None:
        """Thaw a paused replica; with ``claim`` it comes back holding one task slot."""
        replica = self.find(name)
        if replica is None:
            return None
        pool = self.pool(replica.specialist)
        with pool.cond:
            if not replica.paused or replica.retired:
                return None
            replica.paused = False
            replica.tier_paused = False
            if claim:
                replica.inflight += 1
            replica.last_used = time.monotonic()
        began = time.monotonic()
        try:
            with replica.tier_lock:
                self.runtime.unpause(name)
        except EngineError as exc:
            self.mark_dead(name, f"could not resume: {exc.message}")
            return None
        took = time.monotonic() - began
        self.resumes.setdefault(replica.specialist, deque(maxlen=50)).append(took)
        with pool.cond:
            pool.cond.notify_all()
        self.bus.publish(
            ContainerStateChanged(
                container=name, specialist=replica.specialist, state=ContainerState.RUNNING, reason=reason
            )
        )
        return replica

    def scale(self, specialist: str, replicas: int) -> list[Replica]:
        """Start or remove containers until ``replicas`` run (idle ones are removed first)."""
        spec = self.specs.get(specialist)
        if spec is None:
            raise NotFound(f"unknown specialist {specialist!r}")
        if not 0 <= replicas <= spec.scaling.max_replicas:
            raise EngineError(f"{specialist} can run 0..{spec.scaling.max_replicas} replicas, not {replicas}")
        current = self.replicas(specialist)
        if len(current) < replicas:
            self._decide("scale_up", specialist, f"scale to {replicas} requested", replicas=replicas)
            for _ in range(replicas - len(current)):
                self.start(specialist, reason=f"scale to {replicas}")
        elif len(current) > replicas:
            self._decide("scale_down", specialist, f"scale to {replicas} requested", replicas=replicas)
            for replica in sorted(current, key=lambda r: (r.inflight, -r.last_used))[: len(current) - replicas]:
                self.remove(replica.name, reason=f"scale to {replicas}")
        return self.replicas(specialist)

    def remove_all(self, specialist: str | None = None, *, reason: str = "requested") -> int:
        """Remove every container (of one specialist or all)."""
        count = 0
        for replica in self.replicas(specialist):
            self.remove(replica.name, reason=reason)
            count += 1
        return count

    # ----------------------------------------------------------------- slots
    def acquire(self, specialist: str, timeout_s: float) -> Replica:
        """A replica with a free slot: a running one, else a resumed paused one, else a new one.

        With ``on_demand="from_zero"`` a new container is started here only when the
        specialist has none; otherwise the task waits and the controller is told.
        """
        spec = self.specs[specialist]
        pool = self.pool(specialist)
        fresh = spec.scaling.fresh_per_task or specialist in self.fresh_override
        deadline = time.monotonic() + timeout_s
        self.demand.arrive(specialist, self.clock())
        waiting = False
        try:
            while True:
                thaw: Replica | None = None
                tell = False
                with pool.cond:
                    free = [
                        r
                        for r in pool.replicas.values()
                        if not r.retired and not r.sandbox and not r.paused and r.inflight < r.slots
                    ]
                    if free:
                        replica = min(free, key=lambda r: r.inflight)
                        replica.inflight += 1
                        replica.last_used = time.monotonic()
                        return replica
                    paused = [r for r in pool.replicas.values() if r.paused and not r.retired]
                    live = sum(1 for r in pool.replicas.values() if not r.retired)
                    may_start = self.on_demand == "always" or live + pool.starting == 0
                    can_start = fresh or (live + pool.starting < spec.scaling.max_replicas and may_start)
                    if paused and not fresh:
                        thaw = max(paused, key=lambda r: r.paused_at)
                    elif can_start:
                        pool.starting += 1
                    else:
                        remaining = deadline - time.monotonic()
                        if remaining <= 0:
                            raise Busy(f"no free {specialist} container within {timeout_s:g} s")
                        if not waiting:
                            waiting, tell = True, True
                            pool.waiting += 1
                        else:
                            pool.cond.wait(min(remaining, 1.0))
                            continue
                if tell:
                    if self.on_waiting is not None:
                        self.on_waiting(specialist)
                    continue
                if thaw is not None:
                    tier = thaw.tier_paused
                    resumed = self.resume(thaw.name, reason="a task is waiting", claim=True)
                    if resumed is not None and not tier:
                        took = self.resumes[specialist][-1] if self.resumes.get(specialist) else 0.0
                        self._decide(
                            "resume",
                            thaw.name,
                            f"{specialist}: a task is waiting; resumed a paused replica in {took * 1000:.0f} ms",
                        )
                        return resumed
                    if resumed is not None:
                        return resumed
                    continue
                try:
                    reason = "fresh container per task" if fresh else "no free slot: start on demand"
                    self._decide("start_on_demand", specialist, reason)
                    replica = self.start(specialist, reason=reason)
                except OverBudget:
                    if not self._wait_for_budget(deadline):
                        raise
                    continue  # a one-task container ended: its room is free again
                finally:
                    with pool.cond:
                        pool.starting -= 1
                with pool.cond:
                    if replica.inflight < replica.slots and not replica.retired:
                        replica.inflight += 1
                        replica.last_used = time.monotonic()
                        return replica
        finally:
            if waiting:
                with pool.cond:
                    pool.waiting -= 1

    def acquire_sandbox(self, specialist: str) -> Replica:
        """A fresh container for one program: no network, no ``/data``, removed on release."""
        self._decide("start_sandbox", specialist, "model-written program: a fresh sandbox of its own")
        return self.start(specialist, reason="program sandbox", sandbox=True)

    def release(self, replica: Replica) -> None:
        """Give a slot back; a fresh-per-task container is removed after its one task."""
        pool = self.pool(replica.specialist)
        with pool.cond:
            replica.inflight = max(0, replica.inflight - 1)
            replica.served += 1
            replica.last_used = time.monotonic()
            survived = not replica.retired
            idle = survived and replica.inflight == 0 and not replica.sandbox and not replica.fresh
            pool.cond.notify_all()
        if survived and not replica.sandbox:
            with self._crash_lock:
                self.crashes.succeeded(replica.specialist)
        if replica.fresh:
            try:
                self.remove(replica.name, reason="fresh container per task: done")
            except EngineError as exc:
                log.warning("could not remove %s: %s", replica.name, exc)
        elif idle and self.on_idle is not None:
            self.on_idle(replica)

    def mark_dead(self, name: str, reason: str) -> None:
        """Forget a container that died; its slot holders see their calls fail."""
        replica = self.find(name)
        if replica is None:
            return
        self._decide("container_died", name, reason)
        node_lost = self.channel.lost(name)  # asked before the service goes; a lost node is not the image's fault
        try:
            self.remove(name, reason=reason)
        except EnvironmentUnavailable:
            return  # the backend itself is down: :meth:`resync` sweeps the container when it is back
        except EngineError:
            pass
        # a one-task container dies with its task: that says nothing about the image
        if node_lost:
            self._drop_lost(replica.specialist)
        elif not replica.sandbox and not replica.fresh and not reason.startswith(TASK_CAUSED) and self._backend_up():
            self.crashed(replica.specialist, f"{name} died: {reason}")

    def _drop_lost(self, specialist: str) -> None:
        """Remove the idle replicas of ``specialist`` whose node is lost too, so a retry is not sent there.

        A replica with a task in flight is left to that task: its call ends with the node's loss
        (``ChannelClient``) and the dispatcher retries it elsewhere.
        """
        for other in self.replicas(specialist):
            if other.inflight == 0 and not other.retired and self.channel.lost(other.name):
                self._decide("container_died", other.name, "node lost")
                try:
                    self.remove(other.name, reason="node lost")
                except EngineError:
                    pass

    def _backend_up(self) -> bool:
        try:
            self.runtime.ping()
        except EngineError:
            return False
        return True

    def _ours(self) -> list[ContainerInfo]:
        """Specialist containers of this engine's namespace on the backend."""
        return self.runtime.list(
            {LABEL_MANAGED: "true", LABEL_ROLE: "specialist", LABEL_NAMESPACE: self.settings.namespace}
        )

    def _remove_orphan(self, name: str, reason: str) -> None:
        """Remove a container of ours that no pool holds, with its exchange folders."""
        self.runtime.remove(name)
        Exchange(self.exchange_root / name).remove()
        self._decide("remove_orphan", name, reason)

    def resync(self) -> tuple[list[str], list[str]]:
        """After the backend came back: forget replicas whose container is gone, remove leftovers.

        A Docker engine restart stops every container, while the pools still list them and
        removals attempted while it was down left stopped containers behind. Returns the
        replicas forgotten and the stopped leftovers removed (only this engine's namespace;
        running containers outside the pools may be starting right now and are left alone).
        """
        found = {info.name: info for info in self._ours()}
        forgotten: list[str] = []
        for replica in self.replicas():
            info = found.get(replica.name)
            if info is None or info.status not in ("running", "paused"):
                self._decide("container_died", replica.name, "gone after the Docker engine restarted")
                self.remove(replica.name, reason="gone after the Docker engine restarted")
                forgotten.append(replica.name)
        known = {r.name for r in self.replicas()}
        leftovers: list[str] = []
        for name, info in found.items():
            if name not in known and name not in forgotten and info.status in ("exited", "dead"):
                self._remove_orphan(name, f"leftover container ({info.status}) after the Docker engine restarted")
                leftovers.append(name)
        return forgotten, leftovers

    def was_oom_killed(self, name: str) -> bool:
        """Whether the kernel killed the container for exceeding its memory limit."""
        for _ in range(20):  # the container may take a moment to stop after the kill
            try:
                info = self.runtime.get(name)
            except EngineError:
                return False
            if info.oom_killed or info.status != "running":
                return info.oom_killed
            time.sleep(0.05)
        return False

    def is_running(self, name: str) -> bool:
        """Whether the backend still reports the container running."""
        try:
            return self.runtime.get(name).status == "running"
        except EngineError:
            return False

    # ----------------------------------------------------------------- reattach
    def reattach(self) -> tuple[list[str], list[str]]:
        """Adopt our containers that still run and answer; remove our other leftovers.

        Only containers labelled ``io.switchboard.role=specialist`` in this engine's namespace
        are touched, so test containers and anything else on the host are left alone.
        """
        adopted: list[str] = []
        removed: list[str] = []
        found = self._ours()
        for info in found:
            spec = self.specs.get(info.specialist)
            exchange = Exchange(self.exchange_root / info.name)
            usable = (
                spec is not None
                and info.status == "running"
                and self.channel.wait_ready(info.name, exchange, 2.0, None)
                and not spec.scaling.fresh_per_task
            )
            if not usable or spec is None:
                self._remove_orphan(info.name, f"leftover container ({info.status}) could not be reattached")
                removed.append(info.name)
                continue
            exchange.sweep()  # inputs of tasks the dead engine never cleaned up
            replica = Replica(
                name=info.name,
                specialist=spec.id,
                image=info.image,
                exchange=exchange,
                client=self.channel.client(info.name, exchange, spec.scaling.concurrency),
                slots=spec.scaling.concurrency,
            )
            pool = self.pool(spec.id)
            with pool.cond:
                pool.replicas[info.name] = replica
            adopted.append(info.name)
            self._decide("reattach", info.name, "container from an earlier run still answers")
            self.bus.publish(
                ContainerStateChanged(
                    container=info.name, specialist=spec.id, state=ContainerState.RUNNING, reason="reattached"
                )
            )
        return adopted, removed

    # ----------------------------------------------------------------- reaper
    def start_reaper(self, interval_s: float = 5.0) -> None:
        """Remove containers idle longer than their TTL, keeping ``min_replicas``."""
        if self._reaper is not None:
            return

        def loop() -> None:
            while not self._stop.wait(interval_s):
                try:
                    self.reap_idle()
                except Exception:
                    log.exception("idle reaper failed")

        self._reaper = threading.Thread(target=loop, name="switchboard-reaper", daemon=True)
        self._reaper.start()

    def reap_idle(self, now: float | None = None) -> list[str]:
        """One reaper pass; returns the containers removed."""
        now = time.monotonic() if now is None else now
        reaped: list[str] = []
        for sid, spec in self.specs.items():
            ttl = spec.scaling.idle_ttl_s
            if ttl <= 0:
                continue
            live = self.replicas(sid)
            idle = [r for r in live if r.inflight == 0 and now - r.last_used > ttl]
            keep = spec.scaling.min_replicas
            for replica in idle[: max(0, len(live) - keep)]:
                self._decide("reap_idle", replica.name, f"idle for more than {ttl:g} s")
                self.remove(replica.name, reason=f"idle > {ttl:g} s")
                reaped.append(replica.name)
        return reaped

    def close(self, *, remove_containers: bool = False) -> None:
        """Stop the reaper; containers keep running (for reattach) unless asked to remove."""
        self._stop.set()
        if self._reaper is not None:
            self._reaper.join(timeout=5)
        if remove_containers:
            self.remove_all(reason="engine closing")
        for replica in self.replicas():
            replica.client.close()
