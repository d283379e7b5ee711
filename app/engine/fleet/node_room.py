"""Whether any node of a swarm can take one more replica (the budget across nodes).

On one machine the lifecycle's memory budget is the whole picture. Across several, a replica
must fit on a *single* node: Swarm reserves each replica's CPUs and memory (reservations
equal limits), and a replica that fits nowhere stays pending until the start times out. So
before starting one in the multi-node mode the lifecycle asks for the nodes' free room and
refuses at once, with the figures, when no ready, active node has enough.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.engine.runtime.swarm_nodes import NodeView

__all__ = ["no_room_reason"]


def no_room_reason(views: Sequence[NodeView], specialist: str, memory_mb: int, cpus: float) -> str:
    """A refusal in words and figures, or ``""`` when some node has room for one more replica."""
    usable = [v for v in views if v.state == "ready" and v.availability == "active"]
    for view in usable:
        if view.memory_mb - view.reserved_memory_mb >= memory_mb and view.cpus - view.reserved_cpus >= cpus - 1e-9:
            return ""
    if not usable:
        return f"no ready, active node can run {specialist} ({len(views)} nodes known)"
    best = max(usable, key=lambda v: v.memory_mb - v.reserved_memory_mb)
    return (
        f"no node has room for {specialist} ({memory_mb} MB, {cpus:g} CPUs): the freest, {best.name}, has "
        f"{best.memory_mb - best.reserved_memory_mb} MB and {best.cpus - best.reserved_cpus:g} CPUs unreserved "
        f"({len(usable)} ready nodes)"
    )
