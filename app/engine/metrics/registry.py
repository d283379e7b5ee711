"""Switchboard's metrics, fed from :mod:`app.engine.core.events` and read at scrape time.

Qt-free and independent of the orchestrator: a :class:`MetricsRegistry` only needs an
:class:`~app.engine.core.events.EventBus` (:meth:`MetricsRegistry.subscribe`) and, optionally,
collectors, callables run just before each scrape to copy figures that live elsewhere (the
dispatcher's queue, the store writer's counts). Handlers run on whatever engine thread
published the event; they do a few dict operations under short locks and never block.
"""

from __future__ import annotations

import logging
import platform
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable

from app.engine.core.events import (
    ContainerStateChanged,
    ContainerStatsSampled,
    Decision,
    EventBus,
    HealthChanged,
    TaskStateChanged,
)
from app.engine.metrics.exposition import render
from app.engine.metrics.instruments import DURATION_BUCKETS, Counter, Gauge, Histogram, Instrument

__all__ = ["FINAL_STATES", "MetricsRegistry", "reason_label"]

log = logging.getLogger(__name__)

FINAL_STATES = frozenset({"succeeded", "failed", "cancelled"})
_LIVE_CONTAINER_STATES = frozenset({"starting", "running"})
_CONTAINER_NAME = re.compile(r"\bsb-[a-z0-9-]+-[0-9a-f]{8}\b")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_REMEMBER_REMOVED = 512
UNKNOWN = "unknown"


def reason_label(reason: str) -> str:
    """A free-text reason as a low-cardinality label value.

    Container names and numbers are replaced (``restart of sb-numerical-1a2b3c4d`` ->
    ``restart of <container>``, ``idle > 900 s`` -> ``idle > N s``) and the text is cut at
    the first colon and at 60 characters: the label groups alike reasons, the Decision
    log keeps the details.
    """
    text = _CONTAINER_NAME.sub("<container>", reason.split(":", 1)[0])
    text = _NUMBER.sub("N", text).strip()
    return text[:60] or UNKNOWN


class MetricsRegistry:
    """Every ``switchboard_*`` metric plus the bookkeeping the gauges derive from.

    Parameters
    ----------
    version
        Written in ``switchboard_build_info``.
    """

    def __init__(self, version: str = "") -> None:
        if not version:
            from app import __version__

            version = __version__
        self._lock = threading.Lock()  # guards the derived state below, not the instruments
        self._running_tasks: dict[str, str] = {}
        self._live_containers: dict[str, str] = {}
        self._removed: deque[str] = deque(maxlen=_REMEMBER_REMOVED)
        self._removed_set: set[str] = set()
        self._collectors: list[Callable[[], None]] = []
        self._unsubscribe: list[Callable[[], None]] = []

        self.build_info = Gauge("switchboard_build_info", "Engine version (value is always 1).", ("version", "python"))
        self.build_info.set((version, platform.python_version()), 1)
        self.tasks = Counter(
            "switchboard_tasks_total",
            "Tasks that reached a final state, by specialist and state.",
            ("specialist", "state"),
        )
        self.task_duration = Histogram(
            "switchboard_task_duration_seconds",
            "Wall time of finished tasks from start to final state.",
            ("specialist",),
            buckets=DURATION_BUCKETS,
        )
        self.tasks_in_flight = Gauge(
            "switchboard_tasks_in_flight", "Tasks running in a container now, by specialist.", ("specialist",)
        )
        self.queue_pending = Gauge(
            "switchboard_queue_pending", "Tasks accepted by the dispatcher and not finished yet."
        )
        self.cpu = Gauge(
            "switchboard_container_cpu_percent",
            "Latest CPU use of a container (100 = one core).",
            ("container", "specialist"),
        )
        self.memory = Gauge(
            "switchboard_container_memory_bytes", "Latest memory use of a container.", ("container", "specialist")
        )
        self.memory_limit = Gauge(
            "switchboard_container_memory_limit_bytes", "Memory limit of a container.", ("container", "specialist")
        )
        self.pids = Gauge(
            "switchboard_container_pids", "Processes and threads in a container.", ("container", "specialist")
        )
        self.containers_running = Gauge(
            "switchboard_containers_running", "Containers starting or running, by specialist.", ("specialist",)
        )
        self.container_starts = Counter(
            "switchboard_container_starts_total",
            "Containers that became ready (or were reattached), by reason.",
            ("specialist", "reason"),
            max_series=200,
        )
        self.container_removals = Counter(
            "switchboard_container_removals_total",
            "Containers removed, by reason.",
            ("specialist", "reason"),
            max_series=200,
        )
        self.container_start_failures = Counter(
            "switchboard_container_start_failures_total",
            "Container starts that failed.",
            ("specialist",),
            max_series=200,
        )
        self.routing = Counter(
            "switchboard_routing_decisions_total",
            "Routing decisions by router and chosen specialist.",
            ("router", "chosen"),
            max_series=500,
        )
        self.schema_violations = Counter(
            "switchboard_schema_violations_total",
            "Planner outputs that broke the plan schema, by specialist.",
            ("specialist",),
            max_series=200,
        )
        self.decisions = Counter(
            "switchboard_decisions_total", "Decisions the engine took on its own, by kind.", ("kind",), max_series=100
        )
        self.dependency_up = Gauge(
            "switchboard_dependency_up", "1 when a dependency (docker, ollama, database) is ok, else 0.", ("component",)
        )
        self.store_batches = Counter(
            "switchboard_store_write_batches_total", "Transactions committed by the store writer."
        )
        self.store_items = Counter("switchboard_store_writes_total", "Write operations committed by the store writer.")

    # ------------------------------------------------------------------ wiring
    @property
    def instruments(self) -> list[Instrument]:
        """Every metric, in exposition order."""
        return [v for v in vars(self).values() if isinstance(v, Instrument)]

    def subscribe(self, bus: EventBus) -> None:
        """Feed this registry from ``bus`` until :meth:`detach`."""
        self._unsubscribe += [
            bus.subscribe(TaskStateChanged, self.on_task),
            bus.subscribe(ContainerStateChanged, self.on_container),
            bus.subscribe(ContainerStatsSampled, self.on_stats),
            bus.subscribe(Decision, self.on_decision),
            bus.subscribe(HealthChanged, self.on_health),
        ]

    def detach(self) -> None:
        """Stop listening to the bus (values stay as they are)."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()

    def add_collector(self, collector: Callable[[], None]) -> None:
        """Run ``collector`` before each scrape (on the HTTP thread); it sets gauges/counters."""
        with self._lock:
            self._collectors.append(collector)

    def render(self) -> str:
        """Run the collectors, then write every metric in the text format."""
        with self._lock:
            collectors = list(self._collectors)
        for collector in collectors:
            try:
                collector()
            except Exception:  # a broken figure must not cost the whole scrape
                log.exception("metrics collector failed")
        return render(i.collect() for i in self.instruments)

    # ------------------------------------------------------------------ events
    def on_task(self, event: TaskStateChanged) -> None:
        """Count final states, time them and keep the running set for the in-flight gauge."""
        specialist = event.specialist or UNKNOWN
        if event.state == "running":
            with self._lock:
                before = self._running_tasks.get(event.task_id)
                self._running_tasks[event.task_id] = specialist
            if before is None:
                self.tasks_in_flight.inc((specialist,))
            elif before != specialist:
                self.tasks_in_flight.inc((before,), -1)
                self.tasks_in_flight.inc((specialist,))
            return
        if event.state not in FINAL_STATES:
            return
        with self._lock:
            was = self._running_tasks.pop(event.task_id, None)
        if was is not None:
            self.tasks_in_flight.inc((was,), -1)
        self.tasks.inc((specialist, event.state))
        if event.duration_ms is not None:
            self.task_duration.observe((specialist,), max(0.0, event.duration_ms) / 1000.0)

    def on_container(self, event: ContainerStateChanged) -> None:
        """Track live containers; drop a gone container's resource gauges."""
        name = event.container
        if event.state in _LIVE_CONTAINER_STATES:
            with self._lock:
                if name in self._removed_set:
                    return
                known = self._live_containers.get(name)
                self._live_containers[name] = event.specialist
            if known is None:
                self.containers_running.inc((event.specialist,))
            if event.state == "running":
                self.container_starts.inc((event.specialist, reason_label(event.reason)))
            return
        with self._lock:  # held while the gauges go, so a late sample cannot revive them
            specialist = self._live_containers.pop(name, None)
            if name not in self._removed_set:
                if len(self._removed) == self._removed.maxlen:
                    self._removed_set.discard(self._removed[0])
                self._removed.append(name)
                self._removed_set.add(name)
            for gauge in (self.cpu, self.memory, self.memory_limit, self.pids):
                gauge.remove_where(lambda labels: labels["container"] != name)
        if specialist is not None:
            self.containers_running.inc((specialist,), -1)
        owner = event.specialist or specialist or UNKNOWN
        if event.state == "removed":
            self.container_removals.inc((owner, reason_label(event.reason)))
        elif event.state == "failed":
            self.container_start_failures.inc((owner,))

    def on_stats(self, event: ContainerStatsSampled) -> None:
        """Latest resource figures of one container (ignored once it was removed)."""
        key = (event.container, event.specialist)
        with self._lock:
            if event.container in self._removed_set:
                return  # a sample taken just before the removal, published just after
            self.cpu.set(key, event.cpu_percent)
            self.memory.set(key, event.memory_bytes)
            self.memory_limit.set(key, event.memory_limit_bytes)
            self.pids.set(key, event.pids)

    def on_decision(self, event: Decision) -> None:
        """Count every decision by kind; routes and schema violations get their own metric."""
        self.decisions.inc((reason_label(event.kind),))
        if event.kind == "route":
            router = str(event.data.get("router") or UNKNOWN)
            chosen = str(event.data.get("chosen") or UNKNOWN)
            self.routing.inc((router, chosen))
        elif event.kind == "schema_violation":
            self.schema_violations.inc((event.subject or UNKNOWN,))

    def on_health(self, event: HealthChanged) -> None:
        """1 when the component is ``ok``, 0 when degraded or down."""
        self.dependency_up.set((event.component,), 1.0 if event.status == "ok" else 0.0)

    # ------------------------------------------------------------------ seeding
    def seed_containers(self, live: Iterable[tuple[str, str]]) -> None:
        """Count containers that were already running before the registry subscribed."""
        for name, specialist in live:
            with self._lock:
                if name in self._live_containers or name in self._removed_set:
                    continue
                self._live_containers[name] = specialist
            self.containers_running.inc((specialist,))

    def running_tasks(self) -> int:
        """Tasks the registry believes are running (for tests and the in-flight total)."""
        with self._lock:
            return len(self._running_tasks)
