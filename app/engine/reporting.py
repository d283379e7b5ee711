"""Builds the facade's views from the store, the lifecycle and the latest stats."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app.engine.errors import EngineError, NotFound
from app.engine.store import BlobStore
from app.engine.views import ArtifactView, ContainerView, SpecialistView, TaskView

if TYPE_CHECKING:
    from app.engine.orchestrator import Orchestrator

__all__ = ["ReportCache", "container_views", "inspect", "route_state", "specialist_views", "task_view"]

_SUMMARY_TTL_S = 2.0


@dataclass
class ReportCache:
    """Per-engine caches of figures that are costly to recompute on every GUI refresh."""

    summary_at: float = 0.0
    summary: dict[str, dict[str, Any]] = field(default_factory=dict)
    hardening: dict[str, str] = field(default_factory=dict)  # container -> "13/13"


def task_view(row: dict[str, Any], blobs: BlobStore) -> TaskView:
    """A :class:`TaskView` from a stored task row (with ``inputs`` and ``artifacts``)."""
    result: dict[str, Any] = row["result"] if isinstance(row.get("result"), dict) else {}
    if not result and row.get("result_json"):
        try:
            result = json.loads(row["result_json"])
        except (TypeError, ValueError):
            result = {}
    artifacts = [
        ArtifactView(name=a["name"], path=str(blobs.path(a["sha256"])), bytes=int(a["bytes"]), mime=a.get("mime") or "")
        for a in row.get("artifacts", [])
    ]
    return TaskView(
        id=row["id"], state=row["state"], text=row["text"], specialist=row.get("specialist"),
        created_at=float(row["created_at"]), started_at=row.get("started_at"), finished_at=row.get("finished_at"),
        duration_ms=row.get("duration_ms"), attempt=int(row.get("attempt") or 0), container=row.get("container"),
        router=row.get("router"), route_confidence=row.get("route_confidence"), path=row.get("path"),
        answer=row.get("answer") or "", data=result.get("data"), tables=result.get("tables") or [],
        operation=result.get("operation") or {}, stdout=result.get("stdout") or "", stderr=result.get("stderr") or "",
        error_kind=row.get("error_kind"), error=row.get("error_message"), cost=float(row.get("cost") or 0.0),
        inputs=list(row.get("inputs", [])), artifacts=artifacts,
    )


def _summary(orch: Orchestrator) -> dict[str, dict[str, Any]]:
    now = time.time()
    cache = orch.report_cache
    if cache.summary_at and now - cache.summary_at < _SUMMARY_TTL_S:
        return cache.summary
    if orch.store is None:
        return {}
    midnight = time.mktime(time.localtime(now)[:3] + (0, 0, 0, 0, 0, -1))
    summary: dict[str, dict[str, Any]] = orch.store.specialist_summary(midnight).result(timeout=30)
    cache.summary_at, cache.summary = now, summary
    return summary


def container_views(orch: Orchestrator) -> list[ContainerView]:
    """Live replicas with their latest sample."""
    views = []
    for replica in orch.lifecycle.replicas():
        sample = orch.latest_stats(replica.name)
        views.append(
            ContainerView(
                name=replica.name, specialist=replica.specialist, status="running", image=replica.image,
                started_at=time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(replica.started_at)),
                cpu_percent=sample.cpu_percent if sample else None,
                memory_bytes=sample.memory_bytes if sample else None,
                memory_limit_bytes=sample.memory_limit_bytes if sample else None,
                pids=sample.pids if sample else None, inflight=replica.inflight,
            )
        )
    return views


def _hardening_score(orch: Orchestrator, container: str) -> str:
    cache = orch.report_cache.hardening
    if container not in cache:
        try:
            checks = orch.runtime.hardening(container)
        except EngineError:
            return ""
        cache[container] = f"{sum(c.passed for c in checks)}/{len(checks)}"
    return cache[container]


def specialist_views(orch: Orchestrator) -> list[SpecialistView]:
    """Every specialist with state, replicas, resources and today's figures."""
    summary = _summary(orch)
    live = {r.name for r in orch.lifecycle.replicas()}
    for gone in set(orch.report_cache.hardening) - live:  # removed containers leave no entries
        del orch.report_cache.hardening[gone]
    views = []
    for sid in orch.catalogue.ids():
        spec = orch.catalogue.specs[sid]
        replicas = orch.lifecycle.replicas(sid)
        try:
            tag, built = orch.images.image_state(spec)
        except EngineError:
            tag, built = None, False
        starting = orch.lifecycle.pool(sid).starting > 0
        if orch.is_building(sid):
            state = "building"
        elif replicas:
            state = "running"
        elif starting:
            state = "starting"
        elif built:
            state = "stopped"
        else:
            state = "not_built"
        samples = [orch.latest_stats(r.name) for r in replicas]
        figures = summary.get(sid, {})
        views.append(
            SpecialistView(
                id=sid, title=spec.title, description=spec.description, icon=spec.icon or sid,
                accepted_inputs=spec.accepted_inputs, example_tasks=spec.example_tasks, state=state,
                image=tag if built else None, replicas=len(replicas), max_replicas=spec.scaling.max_replicas,
                cpu_percent=sum(s.cpu_percent for s in samples if s), memory_bytes=sum(s.memory_bytes for s in samples if s),
                last_latency_ms=figures.get("last_latency_ms"), tasks_today=int(figures.get("tasks", 0)),
                success_rate=figures.get("success_rate"), cost_today=float(figures.get("cost", 0.0)),
                hardening_score=_hardening_score(orch, replicas[0].name) if replicas else "",
                needs_network=spec.needs_network,
            )
        )
    return views


def inspect(orch: Orchestrator, container: str) -> dict[str, Any]:
    """Hardening checklist, limits and state of one container."""
    info = orch.runtime.get(container)
    spec = orch.catalogue.specs.get(info.specialist)
    checks = orch.runtime.hardening(container)
    return {
        "container": info.name,
        "specialist": info.specialist,
        "status": info.status,
        "image": info.image,
        "limits": spec.limits.model_dump() if spec else {},
        "hardening": [{"item": c.item, "passed": c.passed, "detail": c.detail} for c in checks],
        "score": f"{sum(c.passed for c in checks)}/{len(checks)}",
    }


def route_state(orch: Orchestrator) -> dict[str, dict[str, Any]]:
    """What the router's bandit needs to know about each specialist right now."""
    state: dict[str, dict[str, Any]] = {}
    for sid in orch.catalogue.ids():
        try:
            replicas = orch.lifecycle.replicas(sid)
        except NotFound:
            replicas = []
        state[sid] = {"running": len(replicas), "inflight": sum(r.inflight for r in replicas), "healthy": True}
    return state
