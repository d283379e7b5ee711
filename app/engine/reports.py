"""Builds the facade's views from the store, the lifecycle and the latest stats."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.engine.core.errors import EngineError, NotFound
from app.engine.core.events import ContainerStatsSampled
from app.engine.core.specs import Catalogue
from app.engine.core.views import ContainerView, SpecialistView
from app.engine.fleet.lifecycle import Lifecycle
from app.engine.runtime.images import ImageBuilder
from app.engine.runtime.protocol import ContainerRuntime
from app.engine.store import Store

__all__ = ["ReportCache", "ReportParts", "Reports"]

_SUMMARY_TTL_S = 2.0


@dataclass
class ReportCache:
    """Per-engine caches of figures that are costly to recompute on every GUI refresh."""

    summary_at: float = 0.0
    summary: dict[str, dict[str, Any]] = field(default_factory=dict)
    hardening: dict[str, str] = field(default_factory=dict)  # container -> "13/13"


@dataclass(frozen=True)
class ReportParts:
    """What the views are built from; ``store`` is there only once the engine started."""

    catalogue: Catalogue
    lifecycle: Lifecycle
    runtime: ContainerRuntime
    images: ImageBuilder
    store: Callable[[], Store | None]
    latest_stats: Callable[[str], ContainerStatsSampled | None]
    is_building: Callable[[str], bool]


class Reports:
    """Container, specialist, inspect and routing-state views, with their caches."""

    def __init__(self, parts: ReportParts) -> None:
        self.parts = parts
        self.cache = ReportCache()

    def _summary(self) -> dict[str, dict[str, Any]]:
        now = time.time()
        cache = self.cache
        if cache.summary_at and now - cache.summary_at < _SUMMARY_TTL_S:
            return cache.summary
        store = self.parts.store()
        if store is None:
            return {}
        midnight = time.mktime(time.localtime(now)[:3] + (0, 0, 0, 0, 0, -1))
        summary: dict[str, dict[str, Any]] = store.specialist_summary(midnight).result(timeout=30)
        cache.summary_at, cache.summary = now, summary
        return summary

    def container_views(self) -> list[ContainerView]:
        """Live replicas with their latest sample."""
        views = []
        for replica in self.parts.lifecycle.replicas():
            sample = self.parts.latest_stats(replica.name)
            views.append(
                ContainerView(
                    name=replica.name,
                    specialist=replica.specialist,
                    status="paused" if replica.paused else "running",
                    image=replica.image,
                    started_at=time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(replica.started_at)),
                    cpu_percent=sample.cpu_percent if sample else None,
                    memory_bytes=sample.memory_bytes if sample else None,
                    memory_limit_bytes=sample.memory_limit_bytes if sample else None,
                    pids=sample.pids if sample else None,
                    inflight=replica.inflight,
                )
            )
        return views

    def _hardening_score(self, container: str) -> str:
        cache = self.cache.hardening
        if container not in cache:
            try:
                checks = self.parts.runtime.hardening(container)
            except EngineError:
                return ""
            cache[container] = f"{sum(c.passed for c in checks)}/{len(checks)}"
        return cache[container]

    def specialist_views(self) -> list[SpecialistView]:
        """Every specialist with state, replicas, resources and today's figures."""
        summary = self._summary()
        live = {r.name for r in self.parts.lifecycle.replicas()}
        for gone in set(self.cache.hardening) - live:  # removed containers leave no entries
            del self.cache.hardening[gone]
        views = []
        for sid in self.parts.catalogue.ids():
            spec = self.parts.catalogue.specs[sid]
            replicas = self.parts.lifecycle.replicas(sid)
            try:
                tag, built = self.parts.images.image_state(spec)
            except EngineError:
                tag, built = None, False
            starting = self.parts.lifecycle.pool(sid).starting > 0
            quarantine = self.parts.lifecycle.quarantine_reason(sid) or ""
            if self.parts.is_building(sid):
                state = "building"
            elif quarantine:
                state = "quarantined"
            elif replicas and all(r.paused for r in replicas):
                state = "paused"
            elif replicas:
                state = "running"
            elif starting:
                state = "starting"
            elif built:
                state = "stopped"
            else:
                state = "not_built"
            samples = [self.parts.latest_stats(r.name) for r in replicas]
            figures = summary.get(sid, {})
            views.append(
                SpecialistView(
                    id=sid,
                    title=spec.title,
                    description=spec.description,
                    icon=spec.icon or sid,
                    accepted_inputs=spec.accepted_inputs,
                    example_tasks=spec.example_tasks,
                    state=state,
                    image=tag if built else None,
                    replicas=len(replicas),
                    max_replicas=spec.scaling.max_replicas,
                    cpu_percent=sum(s.cpu_percent for s in samples if s),
                    memory_bytes=sum(s.memory_bytes for s in samples if s),
                    last_latency_ms=figures.get("last_latency_ms"),
                    tasks_today=int(figures.get("tasks", 0)),
                    success_rate=figures.get("success_rate"),
                    cost_today=float(figures.get("cost", 0.0)),
                    hardening_score=self._hardening_score(replicas[0].name) if replicas else "",
                    needs_network=spec.needs_network,
                    quarantine=quarantine,
                    paused=sum(1 for r in replicas if r.paused),
                )
            )
        return views

    def inspect(self, container: str) -> dict[str, Any]:
        """Hardening checklist, limits and state of one container."""
        info = self.parts.runtime.get(container)
        spec = self.parts.catalogue.specs.get(info.specialist)
        checks = self.parts.runtime.hardening(container)
        return {
            "container": info.name,
            "specialist": info.specialist,
            "status": info.status,
            "image": info.image,
            "limits": spec.limits.model_dump() if spec else {},
            "hardening": [{"item": c.item, "passed": c.passed, "detail": c.detail} for c in checks],
            "score": f"{sum(c.passed for c in checks)}/{len(checks)}",
        }

    def route_state(self) -> dict[str, dict[str, Any]]:
        """What the router's bandit needs to know about each specialist right now."""
        state: dict[str, dict[str, Any]] = {}
        for sid in self.parts.catalogue.ids():
            try:
                replicas = self.parts.lifecycle.replicas(sid)
            except NotFound:
                replicas = []
            healthy = self.parts.lifecycle.quarantine_reason(sid) is None
            state[sid] = {"running": len(replicas), "inflight": sum(r.inflight for r in replicas), "healthy": healthy}
        return state
