"""Swarm nodes as plain views: state, capacity, what our replicas reserve, replicas per specialist.

Pure functions over the node and task JSON of the Engine API, for ``switchboard nodes`` and
for a budget that counts every node's memory and CPU (:func:`free_capacity`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from app.engine.core.views import NodeView
from app.engine.runtime.protocol import LABEL_MANAGED, LABEL_NAMESPACE, LABEL_SPECIALIST

__all__ = ["NodeView", "free_capacity", "node_views"]


def node_views(
    nodes: Sequence[Mapping[str, Any]],
    services: Sequence[Mapping[str, Any]],
    tasks: Sequence[Mapping[str, Any]],
    namespace: str | None = None,
) -> list[NodeView]:
    """Views of ``nodes`` with the running tasks of our services (of ``namespace``, or any)."""
    ours: dict[str, Mapping[str, Any]] = {}
    for svc in services:
        labels: Mapping[str, str] = (svc.get("Spec") or {}).get("Labels") or {}
        if labels.get(LABEL_MANAGED) != "true":
            continue
        if namespace is not None and labels.get(LABEL_NAMESPACE) != namespace:
            continue
        ours[str(svc.get("ID") or "")] = svc
    per_node: dict[str, list[Mapping[str, Any]]] = {}
    for task in tasks:
        state = (task.get("Status") or {}).get("State")
        if state != "running" or task.get("DesiredState") != "running" or task.get("ServiceID") not in ours:
            continue
        per_node.setdefault(str(task.get("NodeID") or ""), []).append(task)
    views: list[NodeView] = []
    for node in nodes:
        node_id = str(node.get("ID") or "")
        spec: Mapping[str, Any] = node.get("Spec") or {}
        desc: Mapping[str, Any] = node.get("Description") or {}
        res: Mapping[str, Any] = desc.get("Resources") or {}
        status: Mapping[str, Any] = node.get("Status") or {}
        replicas: dict[str, int] = {}
        cpus = 0.0
        memory = 0
        for task in per_node.get(node_id, []):
            svc = ours[str(task.get("ServiceID"))]
            specialist = ((svc.get("Spec") or {}).get("Labels") or {}).get(LABEL_SPECIALIST, "?")
            replicas[specialist] = replicas.get(specialist, 0) + 1
            reserve: Mapping[str, Any] = ((task.get("Spec") or {}).get("Resources") or {}).get("Reservations") or {}
            cpus += int(reserve.get("NanoCPUs") or 0) / 1e9
            memory += int(reserve.get("MemoryBytes") or 0)
        views.append(
            NodeView(
                id=node_id,
                name=str(desc.get("Hostname") or node_id[:12]),
                role=str(spec.get("Role") or ""),
                state=str(status.get("State") or "unknown"),
                availability=str(spec.get("Availability") or ""),
                address=str(status.get("Addr") or ""),
                leader=bool((node.get("ManagerStatus") or {}).get("Leader")),
                cpus=int(res.get("NanoCPUs") or 0) / 1e9,
                memory_mb=int(res.get("MemoryBytes") or 0) >> 20,
                reserved_cpus=round(cpus, 3),
                reserved_memory_mb=memory >> 20,
                replicas=dict(sorted(replicas.items())),
            )
        )
    return sorted(views, key=lambda v: (v.role != "manager", v.name))


def free_capacity(views: Sequence[NodeView]) -> tuple[float, int]:
    """CPUs and memory (MiB) still unreserved on ready, active nodes (what one more replica may use)."""
    usable = [v for v in views if v.state == "ready" and v.availability == "active"]
    cpus = sum(max(0.0, v.cpus - v.reserved_cpus) for v in usable)
    memory = sum(max(0, v.memory_mb - v.reserved_memory_mb) for v in usable)
    return round(cpus, 3), memory
