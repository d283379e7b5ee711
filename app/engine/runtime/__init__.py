"""Container runtimes behind one protocol (local Docker, Docker Swarm) and image builds.

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
    "SwarmRuntime",
]


def __getattr__(name: str) -> object:
    """``SwarmRuntime`` on first use: importing the protocol must not load the docker SDK."""
    if name == "SwarmRuntime":
        from app.engine.runtime.swarm_runtime import SwarmRuntime

        return SwarmRuntime
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
