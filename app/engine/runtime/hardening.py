"""The hardening checklist, evaluated on ``docker inspect`` output.

A pure function over the inspect JSON, so the GUI's inspector, ``switchboard doctor`` and
the tests all judge a container the same way, from what the engine actually applied rather
than from what the engine meant to apply.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from app.engine.runtime.protocol import HardeningCheck

__all__ = ["ITEMS", "evaluate", "exposes_docker_socket"]

ITEMS = (
    "non-root user",
    "read-only root filesystem",
    "bounded tmpfs",
    "all capabilities dropped",
    "no-new-privileges",
    "memory limit",
    "cpu limit",
    "pids limit",
    "not privileged",
    "network isolated",
    "ports on 127.0.0.1 only",
    "docker socket not mounted",
    "init process",
)

_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")
_LOOPBACK = ("127.0.0.1", "::1")


def exposes_docker_socket(source: str) -> bool:
    """Whether bind-mounting ``source`` would hand the Docker socket to a container.

    True for the socket itself and for any folder holding it (``/var/run``, ``/run``, ``/``).
    """
    if not source:
        return False
    if os.path.basename(source.rstrip("/")) == "docker.sock":
        return True
    candidates = {os.path.normpath(source), os.path.realpath(source)}
    for sock in _SOCKETS:
        targets = {sock, os.path.realpath(sock)}
        for cand in candidates:
            prefix = cand.rstrip("/") + "/"
            if any(t == cand or t.startswith(prefix) for t in targets):
                return True
    return False


def _user(config: Mapping[str, Any]) -> HardeningCheck:
    user = str(config.get("User") or "")
    name = user.split(":", 1)[0]
    ok = name not in ("", "0", "root")
    return HardeningCheck(ITEMS[0], ok, f"user {user!r}" if user else "runs as the image default (root)")


def _tmpfs(host: Mapping[str, Any]) -> HardeningCheck:
    tmpfs: Mapping[str, str] = host.get("Tmpfs") or {}
    if not tmpfs:
        return HardeningCheck(ITEMS[2], False, "no tmpfs: nothing writable for scratch files")
    unbounded = [path for path, opts in tmpfs.items() if "size=" not in (opts or "")]
    if unbounded:
        return HardeningCheck(ITEMS[2], False, f"tmpfs without size= at {', '.join(unbounded)}")
    return HardeningCheck(ITEMS[2], True, ", ".join(f"{p} ({o})" for p, o in tmpfs.items()))


def _caps(host: Mapping[str, Any]) -> HardeningCheck:
    dropped = [str(c).upper().removeprefix("CAP_") for c in host.get("CapDrop") or []]
    added = [str(c) for c in host.get("CapAdd") or []]
    if "ALL" not in dropped:
        return HardeningCheck(ITEMS[3], False, f"cap_drop is {dropped or 'empty'}, not ALL")
    if added:
        return HardeningCheck(ITEMS[3], False, f"capabilities added back: {', '.join(added)}")
    return HardeningCheck(ITEMS[3], True, "cap_drop ALL, none added")


def _nnp(host: Mapping[str, Any]) -> HardeningCheck:
    opts = [str(o).replace("=", ":") for o in host.get("SecurityOpt") or []]
    ok = any(o in ("no-new-privileges", "no-new-privileges:true") for o in opts)
    return HardeningCheck(ITEMS[4], ok, ", ".join(opts) or "no security options")


def _memory(host: Mapping[str, Any]) -> HardeningCheck:
    memory = int(host.get("Memory") or 0)
    swap = int(host.get("MemorySwap") or 0)
    if memory <= 0:
        return HardeningCheck(ITEMS[5], False, "no memory limit")
    if swap != memory:
        return HardeningCheck(ITEMS[5], False, f"{memory >> 20} MiB but memory+swap is {swap >> 20} MiB")
    return HardeningCheck(ITEMS[5], True, f"{memory >> 20} MiB, no swap")


def _cpu(host: Mapping[str, Any]) -> HardeningCheck:
    nano = int(host.get("NanoCpus") or 0)
    quota = int(host.get("CpuQuota") or 0)
    period = int(host.get("CpuPeriod") or 0)
    if nano > 0:
        return HardeningCheck(ITEMS[6], True, f"{nano / 1e9:g} CPUs")
    if quota > 0 and period > 0:
        return HardeningCheck(ITEMS[6], True, f"{quota / period:g} CPUs (quota)")
    return HardeningCheck(ITEMS[6], False, "no CPU limit")


def _pids(host: Mapping[str, Any]) -> HardeningCheck:
    pids = int(host.get("PidsLimit") or 0)
    return HardeningCheck(ITEMS[7], pids > 0, f"{pids} processes" if pids > 0 else "no pids limit")


def _network(host: Mapping[str, Any]) -> HardeningCheck:
    mode = str(host.get("NetworkMode") or "default")
    if mode == "none":
        return HardeningCheck(ITEMS[9], True, "no network")
    if mode in ("host", "bridge", "default") or mode.startswith("container:"):
        return HardeningCheck(ITEMS[9], False, f"network mode {mode!r} is shared, not a user network")
    return HardeningCheck(ITEMS[9], True, f"user network {mode!r}")


def _ports(host: Mapping[str, Any], settings: Mapping[str, Any]) -> HardeningCheck:
    if host.get("PublishAllPorts"):
        return HardeningCheck(ITEMS[10], False, "publish-all on every interface")
    bad: list[str] = []
    shown: list[str] = []
    for source in (host.get("PortBindings") or {}, settings.get("Ports") or {}):
        for port, bindings in source.items():
            for binding in bindings or []:
                address = str(binding.get("HostIp") or "")
                label = f"{address or '0.0.0.0'}:{binding.get('HostPort') or '?'}->{port}"
                (shown if address in _LOOPBACK else bad).append(label)
    if bad:
        return HardeningCheck(ITEMS[10], False, "published beyond loopback: " + ", ".join(sorted(set(bad))))
    return HardeningCheck(ITEMS[10], True, ", ".join(sorted(set(shown))) or "nothing published")


def _socket(attrs: Mapping[str, Any], host: Mapping[str, Any]) -> HardeningCheck:
    sources = [str(m.get("Source") or "") for m in attrs.get("Mounts") or [] if m.get("Type", "bind") == "bind"]
    sources += [str(b).split(":", 1)[0] for b in host.get("Binds") or []]
    exposed = sorted({s for s in sources if exposes_docker_socket(s)})
    if exposed:
        return HardeningCheck(ITEMS[11], False, "exposes the Docker socket: " + ", ".join(exposed))
    return HardeningCheck(ITEMS[11], True, f"{len(set(sources))} bind mount(s), none expose it")


def evaluate(attrs: Mapping[str, Any]) -> list[HardeningCheck]:
    """Judge one container's inspect JSON; one :class:`HardeningCheck` per item of :data:`ITEMS`."""
    config: Mapping[str, Any] = attrs.get("Config") or {}
    host: Mapping[str, Any] = attrs.get("HostConfig") or {}
    settings: Mapping[str, Any] = attrs.get("NetworkSettings") or {}
    read_only = bool(host.get("ReadonlyRootfs"))
    privileged = bool(host.get("Privileged"))
    init = bool(host.get("Init"))
    return [
        _user(config),
        HardeningCheck(ITEMS[1], read_only, "read-only" if read_only else "writable root filesystem"),
        _tmpfs(host),
        _caps(host),
        _nnp(host),
        _memory(host),
        _cpu(host),
        _pids(host),
        HardeningCheck(ITEMS[8], not privileged, "privileged" if privileged else "unprivileged"),
        _network(host),
        _ports(host, settings),
        _socket(attrs, host),
        HardeningCheck(
            ITEMS[12], init, "docker-init reaps and forwards signals" if init else "no init: PID 1 may ignore SIGTERM"
        ),
    ]
