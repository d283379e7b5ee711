"""Container lifecycle: start on demand, hand out task slots, scale, reap idle, reattach.

Threads: ``acquire``/``release`` run on dispatcher workers; ``start``/``scale``/``stop`` run on
the caller's thread (the facade wraps them in futures); the reaper runs on its own thread.
Every decision (start on demand, reap, refuse for budget) is published as a
:class:`~app.engine.core.events.Decision` with its reason.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from app.engine.core.config import Settings
from app.engine.core.errors import Busy, EngineError, NotFound
from app.engine.core.events import ContainerStateChanged, Decision, EventBus
from app.engine.core.specs import SpecialistSpec
from app.engine.core.states import ContainerState
from app.engine.fleet.exchange import Exchange
from app.engine.fleet.transport import SocketClient, wait_for_socket
from app.engine.runtime.protocol import (
    LABEL_INSTANCE,
    LABEL_MANAGED,
    LABEL_NAMESPACE,
    LABEL_ROLE,
    LABEL_SPECIALIST,
    ContainerRuntime,
    LaunchSpec,
    Mount,
)

__all__ = ["Lifecycle", "Replica"]

log = logging.getLogger(__name__)

ImageProvider = Callable[[SpecialistSpec], str]


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


class _Pool:
    """Replicas of one specialist guarded by one condition variable."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.replicas: dict[str, Replica] = {}
        self.starting = 0


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
        self._reserved_mb: list[int] = []  # memory of containers starting now (budget)

    # ----------------------------------------------------------------- queries
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

    def _check_budget(self, spec: SpecialistSpec) -> None:
        """Refuse a start the budget cannot hold, counting containers still starting; reserve it.

        Called under ``_budget_lock``; the caller releases the reservation (``_unreserve``)
        once the container is registered or its start failed.
        """
        live = self.replicas()
        starting = list(self._reserved_mb)
        if len(live) + len(starting) >= self.settings.budget_max_containers:
            raise Busy(
                f"container budget reached ({len(live)}/{self.settings.budget_max_containers} running); "
                "stop a specialist or raise budget_max_containers"
            )
        used_mb = sum(self.specs[r.specialist].limits.memory_mb for r in live if r.specialist in self.specs) + sum(starting)
        if used_mb + spec.limits.memory_mb > self.settings.budget_max_memory_mb:
            raise Busy(
                f"memory budget reached ({used_mb} MB of {self.settings.budget_max_memory_mb} MB in use, "
                f"{spec.id} needs {spec.limits.memory_mb} MB)"
            )

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
        with self._budget_lock:
            self._check_budget(spec)
            self._reserved_mb.append(spec.limits.memory_mb)
        try:
            return self._start_reserved(spec, pool, reason, sandbox)
        finally:
            with self._budget_lock:
                self._reserved_mb.remove(spec.limits.memory_mb)

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
        self.bus.publish(ContainerStateChanged(container=name, specialist=spec.id, state=ContainerState.STARTING, reason=reason))
        try:
            self.runtime.run(self.launch_spec(spec, image, name, exchange, sandbox=sandbox))

            def alive() -> bool:
                return self.runtime.get(name).status in ("created", "running")

            if not wait_for_socket(exchange.socket, timeout_s=60.0, alive=alive):
                tail = self.runtime.logs(name, tail=20)
                raise EngineError(f"container {name} did not become ready; its last output:\n{tail}")
        except BaseException:
            self._prepared.discard(spec.id)
            self.runtime.remove(name)
            exchange.remove()
            self.bus.publish(ContainerStateChanged(container=name, specialist=spec.id, state=ContainerState.FAILED, reason="start failed"))
            raise
        replica = Replica(
            name=name,
            specialist=spec.id,
            image=image,
            exchange=exchange,
            client=SocketClient(exchange.socket, max_idle=spec.scaling.concurrency),
            slots=1 if spec.scaling.fresh_per_task or sandbox else spec.scaling.concurrency,
            fresh=spec.scaling.fresh_per_task or sandbox,
            sandbox=sandbox,
            inflight=1 if sandbox else 0,
        )
        with pool.cond:
            pool.replicas[name] = replica
            pool.cond.notify_all()
        self.bus.publish(ContainerStateChanged(container=name, specialist=spec.id, state=ContainerState.RUNNING, reason=reason))
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
        self.bus.publish(
            ContainerStateChanged(
                container=name, specialist=replica.specialist if replica else "", state=ContainerState.REMOVED, reason=reason
            )
        )
        return True

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
        """A replica with a free slot; starts one on demand when none has room."""
        spec = self.specs[specialist]
        pool = self.pool(specialist)
        deadline = time.monotonic() + timeout_s
        while True:
            with pool.cond:
                free = [r for r in pool.replicas.values() if not r.retired and not r.sandbox and r.inflight < r.slots]
                if free:
                    replica = min(free, key=lambda r: r.inflight)
                    replica.inflight += 1
                    replica.last_used = time.monotonic()
                    return replica
                live = sum(1 for r in pool.replicas.values() if not r.retired)
                can_start = spec.scaling.fresh_per_task or live + pool.starting < spec.scaling.max_replicas
                if can_start:
                    pool.starting += 1
                else:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise Busy(f"no free {specialist} container within {timeout_s:g} s")
                    pool.cond.wait(min(remaining, 1.0))
                    continue
            try:
                reason = "fresh container per task" if spec.scaling.fresh_per_task else "no free slot: start on demand"
                self._decide("start_on_demand", specialist, reason)
                replica = self.start(specialist, reason=reason)
            finally:
                with pool.cond:
                    pool.starting -= 1
            with pool.cond:
                if replica.inflight < replica.slots and not replica.retired:
                    replica.inflight += 1
                    replica.last_used = time.monotonic()
                    return replica

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
            pool.cond.notify_all()
        if replica.fresh:
            try:
                self.remove(replica.name, reason="fresh container per task: done")
            except EngineError as exc:
                log.warning("could not remove %s: %s", replica.name, exc)

    def mark_dead(self, name: str, reason: str) -> None:
        """Forget a container that died; its slot holders see their calls fail."""
        replica = self.find(name)
        if replica is None:
            return
        self._decide("container_died", name, reason)
        try:
            self.remove(name, reason=reason)
        except EngineError:
            pass

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
        found = self.runtime.list({LABEL_MANAGED: "true", LABEL_ROLE: "specialist", LABEL_NAMESPACE: self.settings.namespace})
        for info in found:
            spec = self.specs.get(info.specialist)
            exchange = Exchange(self.exchange_root / info.name)
            usable = (
                spec is not None
                and info.status == "running"
                and exchange.socket.exists()
                and wait_for_socket(exchange.socket, timeout_s=2.0)
                and not spec.scaling.fresh_per_task
            )
            if not usable or spec is None:
                self.runtime.remove(info.name)
                exchange.remove()
                removed.append(info.name)
                self._decide("remove_orphan", info.name, f"leftover container ({info.status}) could not be reattached")
                continue
            exchange.sweep()  # inputs of tasks the dead engine never cleaned up
            replica = Replica(
                name=info.name,
                specialist=spec.id,
                image=info.image,
                exchange=exchange,
                client=SocketClient(exchange.socket, max_idle=spec.scaling.concurrency),
                slots=spec.scaling.concurrency,
            )
            pool = self.pool(spec.id)
            with pool.cond:
                pool.replicas[info.name] = replica
            adopted.append(info.name)
            self._decide("reattach", info.name, "container from an earlier run still answers")
            self.bus.publish(ContainerStateChanged(container=info.name, specialist=spec.id, state=ContainerState.RUNNING, reason="reattached"))
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
