"""Turn a :class:`LaunchSpec` into a Swarm service spec, and read task states back.

Pure functions (no engine), so the unit tests check every hardening rule of the spec without
a swarm. The refusals are the local backend's: :func:`service_spec` first runs
:func:`~app.engine.runtime.docker_launch.launch_kwargs`, so a spec the Docker backend would
refuse (root, the Docker socket, a shared network, a port beyond loopback) is refused here too.
Swarm adds one refusal of its own: published ports, because a service port is published by the
routing mesh on every interface of every node.

What Swarm on Engine API 1.41 cannot express, and what is done instead (see
:mod:`app.engine.runtime.swarm_hardening` for how the checklist reports each):

- ``no-new-privileges``: no ``Privileges.NoNewPrivileges`` for services before API 1.46. The
  command is wrapped in ``setpriv --no-new-privs`` (util-linux, in every Debian image), so the
  server and everything it runs carry ``NoNewPrivs: 1``; only the init process lacks it.
- ``network_mode=none``: services cannot join the ``none`` network. Each service joins an
  internal swarm-scoped bridge of its own specialist (no route off the host); the host's own
  addresses stay reachable from it.
- ``memswap_limit``: not settable; the task gets the engine default (twice the memory limit).
- tmpfs ``uid=``: not settable on a tmpfs mount; ``/output`` is a ``local``-driver tmpfs volume
  instead (:func:`output_mount`), with the local backend's options.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.engine.core.errors import BadInput
from app.engine.runtime.docker_launch import launch_kwargs
from app.engine.runtime.protocol import LABEL_NAMESPACE, LABEL_SPECIALIST, LaunchSpec

__all__ = [
    "LABEL_BACKEND",
    "LABEL_OUTPUT_OF",
    "LABEL_PRIVATE_NET",
    "NNP_WRAPPER",
    "TaskState",
    "isolation_network",
    "output_mount",
    "replicas_of",
    "service_spec",
    "task_state",
    "tmpfs_volume_options",
    "with_replicas",
]

LABEL_BACKEND = "io.switchboard.backend"
LABEL_PRIVATE_NET = "io.switchboard.private-network"  # on a network made for one service only
LABEL_OUTPUT_OF = "io.switchboard.output-of"  # on a task's /output volume: the service it belongs to
NNP_WRAPPER = ("setpriv", "--no-new-privs", "--")
STOP_GRACE_NS = 5_000_000_000

# task states (swarmkit's order) -> the container status the protocol speaks
_STARTING = ("new", "pending", "assigned", "accepted", "preparing", "ready", "starting")
_ENDED = ("complete", "failed", "shutdown")
_LOST = ("rejected", "orphaned")


def isolation_network(labels: Mapping[str, str], service: str, private: bool) -> str:
    """The internal network a service without network joins (Swarm has no ``none`` for services).

    Replicas of one specialist share one (``switchboard-[<ns>-]iso-<id>``); a program sandbox
    (``private``) gets one of its own, named after the service, so no two tasks' sandboxes
    can reach each other.
    """
    if private:
        return f"{service}-iso"
    ns = labels.get(LABEL_NAMESPACE, "default")
    sid = labels.get(LABEL_SPECIALIST, "") or "none"
    return f"switchboard-iso-{sid}" if ns == "default" else f"switchboard-{ns}-iso-{sid}"


def output_mount(spec: LaunchSpec) -> dict[str, Any]:
    """``/output``: a tmpfs owned by the replica's user, made by the ``local`` volume driver.

    A plain tmpfs mount cannot do it on Swarm: ``TmpfsOptions`` has no ``uid=``, Docker drops a
    ``Mode`` with the sticky bit, and a tmpfs over a folder the image has (every specialist image
    has ``/output``) comes out ``root 0755``, which uid 10001 cannot write. The ``local`` driver
    mounts a real tmpfs with the options the local backend uses (size cap, ``uid``, ``0700``,
    ``nosuid,nodev,noexec``). Swarm does not remove a task's anonymous volumes with its
    container, so the volume is labelled with the service (:data:`LABEL_OUTPUT_OF`) and the
    backend removes it with the service; it holds no disk space meanwhile (a tmpfs).
    """
    uid, _, gid = spec.user.partition(":")
    options = f"size={spec.output_tmpfs_mb}m,uid={uid},gid={gid or uid},mode=0700,nosuid,nodev,noexec"
    return {
        "Type": "volume",
        "Target": "/output",
        "VolumeOptions": {
            "NoCopy": True,
            "Labels": {**spec.labels, LABEL_OUTPUT_OF: spec.name},
            "DriverConfig": {"Name": "local", "Options": {"type": "tmpfs", "device": "tmpfs", "o": options}},
        },
    }


def tmpfs_volume_options(mount: Mapping[str, Any]) -> str | None:
    """The mount options of a ``local``-driver tmpfs volume mount (:func:`output_mount`), else ``None``."""
    if str(mount.get("Type") or "") != "volume" or mount.get("Source"):
        return None
    driver: Mapping[str, Any] = (mount.get("VolumeOptions") or {}).get("DriverConfig") or {}
    options: Mapping[str, Any] = driver.get("Options") or {}
    if driver.get("Name") != "local" or options.get("type") != "tmpfs":
        return None
    return str(options.get("o") or "")


def _mounts(spec: LaunchSpec) -> list[dict[str, Any]]:
    mounts: list[dict[str, Any]] = [
        {"Type": "tmpfs", "Target": "/tmp", "TmpfsOptions": {"SizeBytes": spec.tmpfs_mb << 20, "Mode": 0o1777}},
    ]
    if spec.output_tmpfs_mb > 0:
        mounts.append(output_mount(spec))
    for mount in spec.mounts:
        mounts.append(
            {
                "Type": "volume" if mount.volume else "bind",
                "Source": mount.source,
                "Target": mount.target,
                "ReadOnly": mount.read_only,
            }
        )
    return mounts


def service_spec(
    spec: LaunchSpec,
    *,
    image_id: str,
    command: Sequence[str],
    network: str,
    constraints: Sequence[str] = (),
    replicas: int = 1,
) -> dict[str, Any]:
    """The ``ServiceSpec`` of one hardened replica of ``spec``.

    Parameters
    ----------
    spec
        The launch description the lifecycle made (its name becomes the service name).
    image_id
        ``sha256:...``: a digest is never pulled, so services start offline, without a registry.
    command
        The image's entrypoint + command (or ``spec.command``); it runs under ``setpriv --no-new-privs``.
    network
        The network to join: ``spec.network`` or the internal isolation network.
    constraints
        Placement constraints (``node.id==...``: the bind-mounted channel exists on one node).

    Raises
    ------
    BadInput
        What the Docker backend refuses, and any published port.
    """
    launch_kwargs(spec)  # the same refusals as the local backend
    if spec.publish:
        raise BadInput("Swarm publishes service ports on every interface of every node; a replica never publishes one")
    if not image_id.startswith("sha256:"):
        raise BadInput(f"a service is created from an image id (sha256:...), not {image_id!r}")
    if not command:
        raise BadInput(f"{spec.name}: the image has no command to run")
    labels = {**spec.labels, LABEL_BACKEND: "swarm"}
    container: dict[str, Any] = {
        "Image": image_id,
        "Labels": dict(labels),
        "Command": [*NNP_WRAPPER, *command],
        "Env": [f"{k}={v}" for k, v in sorted(spec.env.items())],
        "User": spec.user,
        "ReadOnly": True,
        "Init": True,
        "CapabilityDrop": ["ALL"],
        "Mounts": _mounts(spec),
        "StopGracePeriod": STOP_GRACE_NS,
        "Hostname": spec.name,
    }
    nano = int(spec.cpus * 1e9)
    memory = spec.memory_mb << 20
    task_template: dict[str, Any] = {
        "ContainerSpec": container,
        "Resources": {
            "Limits": {"NanoCPUs": nano, "MemoryBytes": memory, "Pids": spec.pids},
            # the scheduler places a replica only where its limits fit: the budget per node
            "Reservations": {"NanoCPUs": nano, "MemoryBytes": memory},
        },
        # like a local container (no restart policy): the lifecycle's crash guard decides
        "RestartPolicy": {"Condition": "none", "MaxAttempts": 0},
        "Placement": {"Constraints": list(constraints)},
        "Networks": [{"Target": network, "Aliases": list(spec.aliases)} if spec.aliases else {"Target": network}],
    }
    return {
        "Name": spec.name,
        "Labels": labels,
        "TaskTemplate": task_template,
        "Mode": {"Replicated": {"Replicas": replicas}},
    }


def replicas_of(spec: Mapping[str, Any]) -> int:
    """The replica count of a replicated service spec (``BadInput`` for a global one)."""
    replicated = (spec.get("Mode") or {}).get("Replicated")
    if replicated is None:
        raise BadInput(f"service {spec.get('Name')!r} is not replicated")
    return int(replicated.get("Replicas") or 0)


def with_replicas(spec: Mapping[str, Any], replicas: int) -> dict[str, Any]:
    """A deep copy of ``spec`` in which only ``Mode.Replicated.Replicas`` differs.

    Posting this (with the current version) changes the count and nothing else, so Swarm
    adds or removes tasks and leaves the running ones alone. ``Service.scale()`` instead
    re-reads the spec *with defaults inserted*, so the template differs from the stored one
    and every running task is replaced, one by one.
    """
    if replicas < 0:
        raise BadInput(f"replicas must be 0 or more, not {replicas}")
    replicas_of(spec)
    changed = copy.deepcopy(dict(spec))
    changed["Mode"] = {"Replicated": {"Replicas": replicas}}
    return changed


@dataclass(frozen=True)
class TaskState:
    """The latest task of a one-replica service, as a container status."""

    status: str  # created | running | exited | dead | removing (protocol vocabulary)
    state: str  # the Swarm task state
    container_id: str
    node_id: str
    exit_code: int | None
    error: str
    slot: int = 0


_NON_ZERO = re.compile(r"non-zero exit \((\d+)\)")


def task_state(tasks: Sequence[Mapping[str, Any]], desired_replicas: int) -> TaskState:
    """What the newest task of a service says (``exited`` when none runs and none is wanted)."""
    if not tasks:
        status = "created" if desired_replicas > 0 else "exited"
        return TaskState(status, "none", "", "", None, "")

    def key(task: Mapping[str, Any]) -> tuple[int, str]:
        wants_run = (task.get("DesiredState") or "") == "running"
        return (1 if wants_run else 0, str((task.get("Status") or {}).get("Timestamp") or task.get("CreatedAt") or ""))

    task = max(tasks, key=key)
    status_doc: Mapping[str, Any] = task.get("Status") or {}
    state = str(status_doc.get("State") or "new")
    cstatus: Mapping[str, Any] = status_doc.get("ContainerStatus") or {}
    error = str(status_doc.get("Err") or "")
    code: int | None = None
    if state in _STARTING:
        status = "created"
    elif state == "running":
        status = "running"
    elif state in _ENDED:
        status = "exited"
        code = int(cstatus.get("ExitCode") or 0)
        if not code and (m := _NON_ZERO.search(error)):
            code = int(m.group(1))
    elif state == "remove":
        status = "removing"
    else:
        status = "dead" if state in _LOST else "exited"
    if status == "running" and (task.get("DesiredState") or "running") != "running":
        status = "removing"  # being shut down (scaled to 0 or removed)
    return TaskState(
        status=status,
        state=state,
        container_id=str(cstatus.get("ContainerID") or ""),
        node_id=str(task.get("NodeID") or ""),
        exit_code=code,
        error=error,
        slot=int(task.get("Slot") or 0),
    )
