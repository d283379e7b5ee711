"""Container runtimes behind one protocol (Docker now, Swarm later) and image builds.

Owns the `ContainerRuntime` protocol, the Docker backend, hardening checks, the stats monitor
and building images (`images`). Not to be confused with `specialists/runtime/`, the server
that runs *inside* each container.
"""

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
