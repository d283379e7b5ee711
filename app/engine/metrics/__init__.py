"""Prometheus metrics for the engine: off by default, loopback only.

:func:`attach_metrics` is what the orchestrator calls at start: when setting ``metrics_port``
is above 0 it builds an :func:`engine_registry` (fed from the event bus plus a few in-memory
figures read at scrape time) and serves it on ``127.0.0.1:<metrics_port>``. See
``docs/metrics.md`` for the metric list.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from app.engine.core.errors import EngineError
from app.engine.core.events import EventBus
from app.engine.core.views import HealthView
from app.engine.metrics.registry import MetricsRegistry
from app.engine.metrics.server import MetricsServer

__all__ = ["MetricsRegistry", "MetricsServer", "MetricsSources", "attach_metrics", "engine_registry"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MetricsSources:
    """Where the engine's figures come from; every callable is cheap and reads memory only."""

    bus: EventBus
    replicas: Callable[[], Iterable[tuple[str, str]]]
    health: Callable[[], Iterable[HealthView]]
    pending: Callable[[], int]
    writer_counts: Callable[[], tuple[int, int] | None]


def engine_registry(sources: MetricsSources) -> MetricsRegistry:
    """A registry subscribed to the bus and reading the engine's live figures at scrape time.

    Containers and health known before the call are seeded, so attaching after the engine
    started still reports them. A scrape never queries the database.
    """
    registry = MetricsRegistry()
    registry.subscribe(sources.bus)
    registry.seed_containers(sources.replicas())
    for view in sources.health():
        if view.status != "unknown":
            registry.dependency_up.set((view.component,), 1.0 if view.status == "ok" else 0.0)

    def engine_figures() -> None:
        registry.queue_pending.set((), sources.pending())
        counts = sources.writer_counts()
        if counts is not None:
            registry.store_batches.mirror((), counts[0])
            registry.store_items.mirror((), counts[1])

    registry.add_collector(engine_figures)
    return registry


def attach_metrics(port: int, sources: MetricsSources) -> MetricsServer | None:
    """Serve metrics on 127.0.0.1 when ``port`` > 0; None when off or not bindable.

    A port that cannot be bound is logged, not raised: metrics are an extra, and the engine
    must start without them.
    """
    if port <= 0:
        return None
    registry = engine_registry(sources)
    server = MetricsServer(registry, host="127.0.0.1", port=port)
    try:
        server.start()
    except EngineError as exc:
        registry.detach()
        log.warning("metrics are off: %s", exc)
        return None
    return server
