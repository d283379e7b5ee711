"""Container runtimes behind one protocol (Docker now, Swarm later)."""

from app.engine.runtime.protocol import (
    BuildRequest,
    ContainerInfo,
    ContainerRuntime,
    ContainerStats,
    HardeningCheck,
    LaunchSpec,
    Mount,
    RuntimeEvent,
    RuntimeInfo,
)

__all__ = [
    "BuildRequest",
    "ContainerInfo",
    "ContainerRuntime",
    "ContainerStats",
    "HardeningCheck",
    "LaunchSpec",
    "Mount",
    "RuntimeEvent",
    "RuntimeInfo",
]
