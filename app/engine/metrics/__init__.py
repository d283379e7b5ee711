"""Prometheus metrics for the engine: off by default, loopback only.

:func:`attach_metrics` is what the orchestrator calls at start: when setting ``metrics_port``
is above 0 it builds an :func:`engine_registry` (fed from ``orch.bus`` plus a few in-memory
figures read at scrape time) and serves it on ``127.0.0.1:<metrics_port>``. See
``docs/metrics.md`` for the metric list.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from app.engine.errors import EngineError
from app.engine.metrics.registry import MetricsRegistry
from app.engine.metrics.server import MetricsServer

if TYPE_CHECKING:
    from app.engine.orchestrator import Orchestrator

__all__ = ["MetricsRegistry", "MetricsServer", "attach_metrics", "engine_registry"]

log = logging.getLogger(__name__)


def engine_registry(orch: Orchestrator) -> MetricsRegistry:
    """A registry subscribed to ``orch.bus`` and reading the orchestrator's live figures.

    Containers and health known before the call are seeded, so attaching after the engine
    started still reports them. Scrape-time figures come from memory only (the dispatcher's
    queue, the store writer's counters): a scrape never queries the database.
    """
    registry = MetricsRegistry()
    registry.subscribe(orch.bus)
    registry.seed_containers((r.name, r.specialist) for r in orch.lifecycle.replicas())
    for view in orch.health_monitor.snapshot():
        if view.status != "unknown":
            registry.dependency_up.set((view.component,), 1.0 if view.status == "ok" else 0.0)

    def engine_figures() -> None:
        dispatcher = orch.dispatcher
        registry.queue_pending.set((), dispatcher.pending if dispatcher is not None else 0)
        store = orch.store
        if store is not None:
            registry.store_batches.mirror((), store.writer.batches)
            registry.store_items.mirror((), store.writer.items)

    registry.add_collector(engine_figures)
    return registry


def attach_metrics(orch: Orchestrator) -> MetricsServer | None:
    """Serve metrics when ``orch.settings.metrics_port`` > 0; None when off or not bindable.

    A port that cannot be bound is logged, not raised: metrics are an extra, and the engine
    must start without them.
    """
    port = int(getattr(orch.settings, "metrics_port", 0) or 0)
    if port <= 0:
        return None
    registry = engine_registry(orch)
    server = MetricsServer(registry, host="127.0.0.1", port=port)
    try:
        server.start()
    except EngineError as exc:
        registry.detach()
        log.warning("metrics are off: %s", exc)
        return None
    return server
