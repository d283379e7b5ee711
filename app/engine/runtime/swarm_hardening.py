"""The hardening checklist for a Swarm replica: the local checklist, told what Swarm cannot do.

The items and their order are :data:`~app.engine.runtime.hardening.ITEMS`. When the task's
container runs on this engine's node its ``docker inspect`` is judged (what was applied);
otherwise the service spec is (what was asked, and the detail says so). Three items are then
re-judged for Swarm, honestly rather than hidden:

- ``no-new-privileges`` fails: services cannot set it on this API version; the detail names
  the compensation (``setpriv --no-new-privs`` around the server) when it is in place.
- ``memory limit`` fails as locally when memory+swap differs from memory, which it always does
  for a service; the detail says whether this host has swap at all.
- ``network isolated`` fails for the internal isolation network (no route off the host, the
  host's addresses reachable) and passes for a specialist's own user network.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from app.engine.runtime.hardening import ITEMS, evaluate
from app.engine.runtime.protocol import HardeningCheck
from app.engine.runtime.swarm_spec import NNP_WRAPPER, tmpfs_volume_options

__all__ = ["evaluate_service", "spec_attrs"]


def _tmpfs_of(mounts: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """``HostConfig.Tmpfs``-shaped text for tmpfs *mounts* (how services declare tmpfs)."""
    out: dict[str, str] = {}
    for mount in mounts:
        volume_options = tmpfs_volume_options(mount)
        if volume_options is not None:  # /output: a local-driver tmpfs volume (swarm_spec.output_mount)
            out[str(mount.get("Target") or "")] = volume_options
            continue
        if str(mount.get("Type") or "") != "tmpfs":
            continue
        opts: Mapping[str, Any] = mount.get("TmpfsOptions") or {}
        size = int(opts.get("SizeBytes") or 0)
        parts = [f"size={size >> 20}m"] if size > 0 else []
        if opts.get("Mode"):
            parts.append(f"mode={int(opts['Mode']):o}")
        out[str(mount.get("Target") or "")] = ",".join(parts)
    return out


def spec_attrs(service_spec: Mapping[str, Any]) -> dict[str, Any]:
    """An inspect-shaped dict of what a service spec asks for (when no container can be seen)."""
    template: Mapping[str, Any] = service_spec.get("TaskTemplate") or {}
    container: Mapping[str, Any] = template.get("ContainerSpec") or {}
    limits: Mapping[str, Any] = (template.get("Resources") or {}).get("Limits") or {}
    mounts = [dict(m) for m in container.get("Mounts") or []]
    memory = int(limits.get("MemoryBytes") or 0)
    return {
        "Config": {"User": container.get("User") or "", "Labels": dict(container.get("Labels") or {})},
        "HostConfig": {
            "ReadonlyRootfs": bool(container.get("ReadOnly")),
            "Tmpfs": _tmpfs_of(mounts),
            "CapDrop": list(container.get("CapabilityDrop") or []),
            "CapAdd": list(container.get("CapabilityAdd") or []),
            "SecurityOpt": [],
            "Memory": memory,
            "MemorySwap": memory * 2 if memory else 0,  # the engine default for a service task
            "NanoCpus": int(limits.get("NanoCPUs") or 0),
            "PidsLimit": int(limits.get("Pids") or 0),
            "Privileged": False,
            "Init": bool(container.get("Init")),
        },
        "Mounts": [{"Type": m.get("Type", "bind"), "Source": m.get("Source", "")} for m in mounts],
    }


def _normalised(container_attrs: Mapping[str, Any]) -> dict[str, Any]:
    """Container inspect JSON with its tmpfs mounts also shown as ``HostConfig.Tmpfs``."""
    attrs = copy.deepcopy(dict(container_attrs))
    host = attrs.setdefault("HostConfig", {})
    if not host.get("Tmpfs"):
        host["Tmpfs"] = _tmpfs_of(list(host.get("Mounts") or []))
    return attrs


def evaluate_service(
    service_spec: Mapping[str, Any],
    container_attrs: Mapping[str, Any] | None,
    *,
    networks: Mapping[str, bool],
    host_swap_bytes: int | None = None,
) -> list[HardeningCheck]:
    """One :class:`HardeningCheck` per item of :data:`ITEMS` for a replica run as a service.

    Parameters
    ----------
    service_spec
        The service's ``Spec`` (inspect without defaults).
    container_attrs
        ``docker inspect`` of the task's container when it runs on this node, else ``None``.
    networks
        The service's networks: name -> internal.
    host_swap_bytes
        Swap of the node the task runs on, when known (this host's, for a local task).
    """
    seen = container_attrs is not None
    attrs = _normalised(container_attrs) if container_attrs is not None else spec_attrs(service_spec)
    checks = {c.item: c for c in evaluate(attrs)}
    template: Mapping[str, Any] = service_spec.get("TaskTemplate") or {}
    container: Mapping[str, Any] = template.get("ContainerSpec") or {}
    command = tuple(str(c) for c in container.get("Command") or [])

    nnp = ITEMS[4]
    if command[: len(NNP_WRAPPER)] == NNP_WRAPPER:
        checks[nnp] = HardeningCheck(
            nnp,
            False,
            "Swarm on Engine API 1.41 cannot set no-new-privileges on a service; compensated: the server "
            "runs under `setpriv --no-new-privs` (NoNewPrivs=1 for it and every child; docker-init "
            "and `docker exec` processes lack it); all capabilities are dropped, so a setuid binary gains none",
        )
    elif not checks[nnp].passed:
        checks[nnp] = HardeningCheck(
            nnp, False, "Swarm on Engine API 1.41 cannot set no-new-privileges; no compensation in the command"
        )

    memory = ITEMS[5]
    if not checks[memory].passed and int((attrs.get("HostConfig") or {}).get("Memory") or 0) > 0:
        if host_swap_bytes == 0:
            swap = "this host has no swap, so the limit holds"
        elif host_swap_bytes:
            swap = f"this host has {host_swap_bytes >> 20} MiB swap the replica may use"
        else:
            swap = "the node's swap is unknown"
        checks[memory] = HardeningCheck(
            memory, False, f"{checks[memory].detail}: Swarm cannot set memory+swap for a service; {swap}"
        )

    isolated = ITEMS[9]
    internal = [name for name, inner in networks.items() if inner]
    user = [name for name, inner in networks.items() if not inner]
    if user:
        checks[isolated] = HardeningCheck(
            isolated, True, f"user network {', '.join(sorted(user))} (swarm-scoped bridge)"
        )
    elif internal:
        checks[isolated] = HardeningCheck(
            isolated,
            False,
            f"Swarm services cannot use network mode none (API 1.41): joined the internal bridge "
            f"{', '.join(sorted(internal))}: no route off the host, but the host's own addresses are reachable",
        )
    else:
        checks[isolated] = HardeningCheck(
            isolated, False, "no network attached: the task joins the shared default bridge"
        )

    ports = ITEMS[10]
    published = ((service_spec.get("EndpointSpec") or {}).get("Ports")) or []
    if published:
        checks[ports] = HardeningCheck(ports, False, f"{len(published)} port(s) published on every node's interfaces")

    result = [checks[item] for item in ITEMS]
    if not seen:
        result = [
            HardeningCheck(c.item, c.passed, f"{c.detail} (from the service spec: the task is not on this node)")
            for c in result
        ]
    return result
