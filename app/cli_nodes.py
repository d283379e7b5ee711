"""``switchboard nodes``: the swarm's nodes with their capacity and our replicas on each.

Works whatever ``runtime_backend`` is set to, so a user can look at a swarm before switching
to it; when the engine is not a swarm manager it exits 3 with the command that makes one.
"""

from __future__ import annotations

import argparse

from app.cli import EXIT_OK, command
from app.cli_output import emit, table
from app.engine.orchestrator import Orchestrator
from app.engine.runtime.swarm_nodes import free_capacity
from app.engine.runtime.swarm_runtime import SwarmRuntime

__all__: list[str] = []


@command("nodes")
def _nodes(orch: Orchestrator, args: argparse.Namespace) -> int:
    runtime = orch.runtime if isinstance(orch.runtime, SwarmRuntime) else SwarmRuntime(orch.settings)
    runtime.ping()  # DockerUnavailable (exit 3) with the fix when this engine is not a manager
    views = runtime.nodes(orch.settings.namespace)
    cpus, memory_mb = free_capacity(views)
    rows = [
        [
            v.name,
            v.role + (" (leader)" if v.leader else ""),
            v.state,
            v.availability,
            v.address,
            f"{v.reserved_cpus:g}/{v.cpus:g}",
            f"{v.reserved_memory_mb}/{v.memory_mb}",
            ", ".join(f"{sid}={n}" for sid, n in v.replicas.items()) or "-",
        ]
        for v in views
    ]
    text = table(
        rows,
        ["name", "role", "state", "availability", "address", "cpus used/total", "memory MiB used/total", "replicas"],
    )
    text += f"\nfree for replicas: {cpus:g} CPUs, {memory_mb} MiB (backend: {orch.settings.runtime_backend})"
    emit(
        {
            "ok": True,
            "backend": orch.settings.runtime_backend,
            "nodes": views,
            "free": {"cpus": cpus, "memory_mb": memory_mb},
        },
        as_json=args.json,
        text=text,
    )
    return EXIT_OK
