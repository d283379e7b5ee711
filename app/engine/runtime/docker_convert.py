"""Convert docker SDK objects and JSON into the runtime protocol's dataclasses."""

from __future__ import annotations

import time
from typing import Any

from docker.models.containers import Container

from app.engine.runtime.protocol import (
    LABEL_SPECIALIST,
    ContainerInfo,
    ContainerStats,
    RuntimeEvent,
)

__all__ = ["api_stats", "container_info", "runtime_event"]


def container_info(container: Container) -> ContainerInfo:
    """A :class:`ContainerInfo` from an SDK container (its cached ``attrs``)."""
    attrs: dict[str, Any] = container.attrs
    state: dict[str, Any] = attrs.get("State") or {}
    status = str(state.get("Status") or container.status)
    exit_code = state.get("ExitCode") if status in ("exited", "dead") else None
    config: dict[str, Any] = attrs.get("Config") or {}
    return ContainerInfo(
        id=container.id or "",
        name=(container.name or "").lstrip("/"),
        image=str(config.get("Image") or attrs.get("Image") or ""),
        status=status,
        labels=dict(config.get("Labels") or {}),
        started_at=str(state.get("StartedAt") or ""),
        exit_code=int(exit_code) if exit_code is not None else None,
        health=str((state.get("Health") or {}).get("Status") or ""),
        oom_killed=bool(state.get("OOMKilled")),
    )


def runtime_event(raw: dict[str, Any]) -> RuntimeEvent | None:
    """A :class:`RuntimeEvent` from one decoded Docker event (``None`` for other kinds)."""
    actor: dict[str, Any] = raw.get("Actor") or {}
    attributes: dict[str, str] = actor.get("Attributes") or {}
    action = str(raw.get("Action") or raw.get("status") or "")
    if not action:
        return None
    if action.startswith("exec_"):
        action = action.split(":", 1)[0]
    code = attributes.get("exitCode")
    nano = raw.get("timeNano")
    return RuntimeEvent(
        action=action,
        container=str(attributes.get("name") or actor.get("ID") or ""),
        specialist=str(attributes.get(LABEL_SPECIALIST, "")),
        exit_code=int(code) if code not in (None, "") else None,
        ts=float(nano) / 1e9 if nano else float(raw.get("time") or time.time()),
    )


def api_stats(raw: dict[str, Any]) -> ContainerStats:
    """A :class:`ContainerStats` from ``container.stats(stream=False)`` (the slow fallback)."""
    cpu: dict[str, Any] = raw.get("cpu_stats") or {}
    pre: dict[str, Any] = raw.get("precpu_stats") or {}
    total = int((cpu.get("cpu_usage") or {}).get("total_usage") or 0)
    cpu_delta = total - int((pre.get("cpu_usage") or {}).get("total_usage") or 0)
    system_delta = int(cpu.get("system_cpu_usage") or 0) - int(pre.get("system_cpu_usage") or 0)
    cores = int(cpu.get("online_cpus") or 1)
    percent = cpu_delta / system_delta * cores * 100.0 if system_delta > 0 and cpu_delta > 0 else 0.0
    memory: dict[str, Any] = raw.get("memory_stats") or {}
    mstats: dict[str, Any] = memory.get("stats") or {}
    inactive = int(mstats.get("total_inactive_file") or mstats.get("inactive_file") or 0)
    return ContainerStats(
        cpu_percent=round(percent, 2),
        memory_bytes=max(int(memory.get("usage") or 0) - inactive, 0),
        memory_limit_bytes=int(memory.get("limit") or 0),
        pids=int((raw.get("pids_stats") or {}).get("current") or 0),
        cpu_seconds_total=total / 1e9,
    )
