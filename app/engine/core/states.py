"""State enums for tasks, containers and health. ``StrEnum``: JSON and the store keep the strings."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ContainerState", "HealthStatus", "TaskState", "TERMINAL_TASK_STATES"]


class TaskState(StrEnum):
    """A task's life: queued -> routed -> running -> succeeded | failed | cancelled."""

    QUEUED = "queued"
    ROUTED = "routed"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL_TASK_STATES = frozenset({TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELLED})


class ContainerState(StrEnum):
    """What a container event says happened to it."""

    STARTING = "starting"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"
    REMOVED = "removed"
    FAILED = "failed"


class HealthStatus(StrEnum):
    """A dependency's health."""

    OK = "ok"
    DEGRADED = "degraded"
    DOWN = "down"
    UNKNOWN = "unknown"
