"""The container runtime seam: callers depend on :class:`ContainerRuntime` only.

A Docker Swarm backend (services instead of containers) can implement the same protocol:
``scale`` takes a desired replica count rather than callers creating containers one by one,
and every object is addressed by name and labels, never by SDK objects.
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

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
    "LABEL_MANAGED",
    "LABEL_SPECIALIST",
    "LABEL_INSTANCE",
    "LABEL_ROLE",
    "LABEL_SOURCE_HASH",
    "LABEL_NAMESPACE",
]

LABEL_MANAGED = "io.switchboard.managed"
LABEL_SPECIALIST = "io.switchboard.specialist"
LABEL_INSTANCE = "io.switchboard.instance"
LABEL_ROLE = "io.switchboard.role"
LABEL_SOURCE_HASH = "io.switchboard.source-hash"
LABEL_NAMESPACE = "io.switchboard.namespace"


@dataclass(frozen=True)
class RuntimeInfo:
    """What the runtime answered to a ping."""

    backend: str
    version: str
    api_version: str
    os: str
    cgroup_version: str


@dataclass(frozen=True)
class BuildRequest:
    """Build ``tag`` from ``context`` (a prepared folder with a Dockerfile)."""

    tag: str
    context: Path
    build_args: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Mount:
    """A bind mount (``source`` is a host path) or a named volume (``volume=True``)."""

    source: str
    target: str
    read_only: bool = False
    volume: bool = False


@dataclass(frozen=True)
class LaunchSpec:
    """Everything needed to start one hardened container; the runtime adds nothing unsafe."""

    name: str
    image: str
    labels: dict[str, str]
    env: dict[str, str] = field(default_factory=dict)
    mounts: tuple[Mount, ...] = ()
    memory_mb: int = 512
    cpus: float = 1.0
    pids: int = 64
    tmpfs_mb: int = 64
    user: str = "10001:10001"
    network: str | None = None  # None = no network at all
    publish: dict[int, int] = field(default_factory=dict)  # container port -> host port on 127.0.0.1 (0 = any)
    command: tuple[str, ...] | None = None
    aliases: tuple[str, ...] = ()  # extra DNS names on ``network``
    output_tmpfs_mb: int = 0  # > 0: /output is a tmpfs of this size (outputs never touch the host disk)


@dataclass(frozen=True)
class ContainerInfo:
    """A container as listed by the runtime."""

    id: str
    name: str
    image: str
    status: str  # created | running | exited | dead | paused | restarting | removing
    labels: dict[str, str]
    started_at: str = ""
    exit_code: int | None = None
    health: str = ""
    oom_killed: bool = False

    @property
    def specialist(self) -> str:
        """The specialist id from the labels ('' for other containers)."""
        return self.labels.get(LABEL_SPECIALIST, "")


@dataclass(frozen=True)
class ContainerStats:
    """One resource sample."""

    cpu_percent: float
    memory_bytes: int
    memory_limit_bytes: int
    pids: int
    cpu_seconds_total: float = 0.0


@dataclass(frozen=True)
class RuntimeEvent:
    """A container event of ours (start, die, oom, kill, destroy...)."""

    action: str
    container: str
    specialist: str
    exit_code: int | None = None
    ts: float = 0.0


@dataclass(frozen=True)
class HardeningCheck:
    """One line of the hardening checklist."""

    item: str
    passed: bool
    detail: str


class ContainerRuntime(Protocol):
    """Operations the engine needs from a container backend.

    Every call has a timeout; errors are raised as :mod:`app.engine.core.errors` types
    (``DockerUnavailable``, ``BuildFailed``, ``NotFound``, ``EngineError``).
    """

    def ping(self) -> RuntimeInfo:
        """Check the backend answers; raise ``DockerUnavailable`` otherwise."""
        ...

    def image_exists(self, tag: str) -> bool:
        """Whether an image with this tag is present."""
        ...

    def image_id(self, tag: str) -> str | None:
        """The image id (``sha256:...``) of a tag, or ``None``."""
        ...

    def build_image(self, request: BuildRequest, on_line: Callable[[str], None]) -> str:
        """Build and tag an image, streaming log lines; return the image id."""
        ...

    def remove_image(self, tag: str) -> None:
        """Remove an image (no error when absent)."""
        ...

    def run(self, spec: LaunchSpec) -> ContainerInfo:
        """Create and start a hardened container."""
        ...

    def stop(self, name: str, timeout_s: float = 5.0) -> None:
        """Stop a container gracefully (no error when already stopped)."""
        ...

    def kill(self, name: str) -> None:
        """Kill a container at once."""
        ...

    def remove(self, name: str) -> None:
        """Force-remove a container (no error when absent)."""
        ...

    def pause(self, name: str) -> None:
        """Freeze every process of a running container (no CPU; memory kept)."""
        ...

    def unpause(self, name: str) -> None:
        """Thaw a paused container; it carries on where it stopped."""
        ...

    def list(self, labels: dict[str, str], all_states: bool = True) -> list[ContainerInfo]:
        """Containers whose labels include every given key=value."""
        ...

    def get(self, name: str) -> ContainerInfo:
        """One container by name; ``NotFound`` when absent."""
        ...

    def stats(self, name: str) -> ContainerStats:
        """A resource sample (fast path: cgroup files; fallback: the API)."""
        ...

    def logs(self, name: str, tail: int = 200) -> str:
        """The last lines of a container's output."""
        ...

    def read_dir(self, name: str, path: str, max_bytes: int) -> bytes:
        """A tar archive of ``path`` inside the container (``BadInput`` past ``max_bytes``)."""
        ...

    def follow_logs(self, name: str, stop: threading.Event) -> Iterator[str]:
        """Yield log lines as they come until ``stop`` is set or the container ends."""
        ...

    def events(self, stop: threading.Event) -> Iterator[RuntimeEvent]:
        """Yield events of managed containers until ``stop`` is set."""
        ...

    def hardening(self, name: str) -> builtins.list[HardeningCheck]:
        """The hardening checklist evaluated on the live container."""
        ...

    def ensure_network(self, name: str, internal: bool, labels: dict[str, str]) -> None:
        """Create a user bridge network when missing."""
        ...

    def remove_network(self, name: str) -> None:
        """Remove a network (no error when absent)."""
        ...

    def ensure_volume(self, name: str, labels: dict[str, str]) -> None:
        """Create a named volume when missing."""
        ...

    def remove_volume(self, name: str) -> None:
        """Remove a volume (no error when absent)."""
        ...
