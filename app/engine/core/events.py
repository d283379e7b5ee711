"""Engine events and the bus that carries them.

Threads: :meth:`EventBus.publish` calls every subscriber **synchronously on the publishing
thread**. Each event class says which engine thread publishes it. Subscribers must be quick
and must not block; the Qt side (``app.ui.bridge.EngineBridge``) re-emits events as queued
signals so widgets only ever see them on the GUI thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

__all__ = [
    "ContainerStateChanged",
    "ContainerStatsSampled",
    "Decision",
    "EngineEvent",
    "EventBus",
    "HealthChanged",
    "ImageBuildProgress",
    "TaskStateChanged",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class EngineEvent:
    """Base event; ``ts`` is a Unix timestamp in seconds."""

    ts: float = field(default_factory=time.time)


@dataclass(frozen=True, kw_only=True)
class TaskStateChanged(EngineEvent):
    """A task moved to ``state``. Published on a dispatcher worker thread or the caller's."""

    task_id: str
    state: str
    specialist: str | None = None
    container: str | None = None
    error: str | None = None
    duration_ms: float | None = None
    service_ms: float | None = None  # the time inside a replica, as the specialist measured it (not waits)


@dataclass(frozen=True, kw_only=True)
class ContainerStateChanged(EngineEvent):
    """A container of ours started, stopped, died or was removed.

    Published on the lifecycle thread (or the Docker events thread for external changes).
    """

    container: str
    specialist: str
    state: str
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class ContainerStatsSampled(EngineEvent):
    """One resource sample of one container. Published on the stats monitor thread."""

    container: str
    specialist: str
    cpu_percent: float
    memory_bytes: int
    memory_limit_bytes: int
    pids: int


@dataclass(frozen=True, kw_only=True)
class ImageBuildProgress(EngineEvent):
    """A line of an image build and a rough fraction done. Published on the build thread."""

    specialist: str
    line: str
    fraction: float | None = None
    done: bool = False
    error: str | None = None


@dataclass(frozen=True, kw_only=True)
class HealthChanged(EngineEvent):
    """A dependency (docker, ollama, database) changed status. Published on the health thread."""

    component: str
    status: str  # "ok" | "degraded" | "down"
    detail: str = ""
    fix: str = ""


@dataclass(frozen=True, kw_only=True)
class Decision(EngineEvent):
    """Something the engine decided on its own (scale, reap, route, retry), with its reason."""

    kind: str
    subject: str
    reason: str
    data: dict[str, Any] = field(default_factory=dict)


E = TypeVar("E", bound=EngineEvent)


class EventBus:
    """Synchronous publish/subscribe keyed by event class (subclasses match base handlers)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: list[tuple[type[EngineEvent], Callable[[Any], None]]] = []

    def subscribe(self, kind: type[E], handler: Callable[[E], None]) -> Callable[[], None]:
        """Call ``handler`` for every event that is an instance of ``kind``; returns unsubscribe."""
        entry: tuple[type[EngineEvent], Callable[[Any], None]] = (kind, handler)
        with self._lock:
            self._subs.append(entry)

        def unsubscribe() -> None:
            with self._lock:
                if entry in self._subs:
                    self._subs.remove(entry)

        return unsubscribe

    def publish(self, event: EngineEvent) -> None:
        """Deliver ``event`` now, on this thread; a failing subscriber is logged, not raised."""
        with self._lock:
            subs = list(self._subs)
        for kind, handler in subs:
            if isinstance(event, kind):
                try:
                    handler(event)
                except Exception:  # a broken subscriber must not break the engine
                    log.exception("event subscriber failed for %s", type(event).__name__)
