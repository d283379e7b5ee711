"""Turn a :class:`LaunchSpec` into ``containers.create`` keyword arguments, hardened.

Kept apart from the SDK calls so the refusal rules (no Docker socket, no root, loopback-only
ports, no shared networks) are plain functions a unit test can exercise without an engine.
"""

from __future__ import annotations

import re
from typing import Any

import docker.types

from app.engine.core.errors import BadInput
from app.engine.runtime.hardening import exposes_docker_socket
from app.engine.runtime.protocol import LaunchSpec

__all__ = ["launch_kwargs", "port_binding"]

_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$")
_SHARED_NETWORKS = ("host", "bridge", "default")
_LOOPBACK = ("127.0.0.1", "localhost")


def port_binding(container_port: object, host: object) -> tuple[str, tuple[str, int] | tuple[str]]:
    """Validate one ``publish`` entry and return ``("<port>/tcp", ("127.0.0.1", host_port))``.

    ``host`` is a host port (0 = any free one). A ``(address, port)`` tuple is accepted only
    for a loopback address, so a caller can never publish on every interface by mistake.
    """
    if not isinstance(container_port, int) or isinstance(container_port, bool) or not 0 < container_port < 65536:
        raise BadInput(f"publish: container port {container_port!r} must be an integer 1-65535")
    port: object = host
    if isinstance(host, tuple):
        if len(host) != 2 or str(host[0]) not in _LOOPBACK:
            raise BadInput(f"publish: port {container_port} may only be published on 127.0.0.1, not {host!r}")
        port = host[1]
    if port is None:
        port = 0
    if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port < 65536:
        raise BadInput(f"publish: host port {port!r} for {container_port} must be an integer 0-65535")
    key = f"{container_port}/tcp"
    return (key, ("127.0.0.1",)) if port == 0 else (key, ("127.0.0.1", port))


def _check_user(user: str) -> None:
    name = user.split(":", 1)[0]
    if name in ("", "0", "root"):
        raise BadInput(f"user {user!r}: containers never run as root; use a uid such as 10001:10001")


def _mounts(spec: LaunchSpec) -> list[docker.types.Mount]:
    mounts: list[docker.types.Mount] = []
    for mount in spec.mounts:
        if not mount.target.startswith("/"):
            raise BadInput(f"mount target {mount.target!r} must be an absolute path")
        if "docker.sock" in mount.target or (not mount.volume and exposes_docker_socket(mount.source)):
            raise BadInput(f"mount {mount.source!r} -> {mount.target!r} would expose the Docker socket; refused")
        mounts.append(
            docker.types.Mount(
                target=mount.target,
                source=mount.source,
                type="volume" if mount.volume else "bind",
                read_only=mount.read_only,
            )
        )
    return mounts


def _tmpfs(spec: LaunchSpec) -> dict[str, str]:
    mounts = {"/tmp": f"size={spec.tmpfs_mb}m,mode=1777"}
    if spec.output_tmpfs_mb > 0:
        uid = spec.user.split(":")[0]
        mounts["/output"] = f"size={spec.output_tmpfs_mb}m,mode=0700,uid={uid},gid={uid}"
    return mounts


def launch_kwargs(spec: LaunchSpec) -> dict[str, Any]:
    """Keyword arguments for ``client.containers.create`` applying every hardening rule.

    Raises
    ------
    BadInput
        When the spec asks for something unsafe (root, the Docker socket, a shared network,
        a port on a non-loopback address) or malformed (bad name, limits).
    """
    if not _NAME.match(spec.name):
        raise BadInput(f"container name {spec.name!r} is not valid")
    if not spec.image:
        raise BadInput("launch spec has no image")
    _check_user(spec.user)
    if spec.memory_mb < 6 or spec.cpus <= 0 or spec.pids < 1 or spec.tmpfs_mb < 1:
        raise BadInput(
            f"limits out of range: memory {spec.memory_mb} MiB, cpus {spec.cpus}, pids {spec.pids}, "
            f"tmpfs {spec.tmpfs_mb} MiB"
        )
    ports = dict(port_binding(cport, host) for cport, host in spec.publish.items())
    kwargs: dict[str, Any] = {
        "image": spec.image,
        "name": spec.name,
        "labels": dict(spec.labels),
        "environment": dict(spec.env),
        "user": spec.user,
        "read_only": True,
        "tmpfs": _tmpfs(spec),
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges:true"],
        "mem_limit": f"{spec.memory_mb}m",
        "memswap_limit": f"{spec.memory_mb}m",
        "nano_cpus": int(spec.cpus * 1e9),
        "pids_limit": spec.pids,
        "init": True,
        "privileged": False,
        "mounts": _mounts(spec),
    }
    if spec.command is not None:
        kwargs["command"] = list(spec.command)
    if spec.network is None:
        if ports:
            raise BadInput("publish needs a network: a container without one cannot serve a port")
        kwargs["network_mode"] = "none"
    else:
        if spec.network in _SHARED_NETWORKS or spec.network.startswith("container:"):
            raise BadInput(f"network {spec.network!r} is shared; use a user bridge network")
        kwargs["network"] = spec.network
        if spec.aliases:
            from docker.types import EndpointConfig

            kwargs["networking_config"] = {spec.network: EndpointConfig("1.41", aliases=list(spec.aliases))}
    if ports:
        kwargs["ports"] = ports
    return kwargs
