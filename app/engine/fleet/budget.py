"""One memory budget over containers and loaded models, and whom to evict under pressure.

Containers count with their memory limit (running or paused: a paused container keeps its
memory), loaded models with the size their server reports. When a start would exceed
``budget_max_memory_mb`` the lifecycle evicts the least valuable idle things first, in this
order, until the start fits:

1. paused containers, longest paused first (they do no work and are the cheapest to lose);
2. idle running replicas above their specialist's ``min_replicas``, least recently used first,
   never of the specialist being started;
3. loaded models idle the longest (the server reloads one on its next call).

Busy replicas and sandboxes are never chosen. When even all of that would not make room, the
start is refused with the figures. Pure selection logic; the lifecycle acts on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["Candidate", "LoadedModel", "ModelMemory", "Victim", "choose_victims"]


@dataclass(frozen=True)
class LoadedModel:
    """A model resident in a model server's memory."""

    name: str
    memory_mb: int
    idle_s: float


class ModelMemory(Protocol):
    """What the budget needs of a model server."""

    def loaded(self) -> list[LoadedModel]:
        """Models in memory now (an empty list when the server is down)."""
        ...

    def unload(self, name: str) -> None:
        """Free a model's memory now."""
        ...


@dataclass(frozen=True)
class Candidate:
    """A container the budget may evict."""

    name: str
    specialist: str
    memory_mb: int
    paused: bool
    idle_s: float
    removable: bool  # idle and above min_replicas (paused ones always are)


@dataclass(frozen=True)
class Victim:
    """One thing to evict: a container or a model."""

    kind: str  # "paused" | "idle" | "model"
    name: str
    specialist: str
    memory_mb: int


def choose_victims(
    need_mb: int, free_mb: int, containers: list[Candidate], models: list[LoadedModel], *, protect: str
) -> list[Victim] | None:
    """The cheapest evictions that free ``need_mb - free_mb``; ``None`` when they cannot."""
    missing = need_mb - free_mb
    if missing <= 0:
        return []
    order: list[Victim] = []
    for c in sorted((c for c in containers if c.paused), key=lambda c: -c.idle_s):
        order.append(Victim("paused", c.name, c.specialist, c.memory_mb))
    idle = [c for c in containers if not c.paused and c.removable and c.specialist != protect]
    for c in sorted(idle, key=lambda c: -c.idle_s):
        order.append(Victim("idle", c.name, c.specialist, c.memory_mb))
    for m in sorted(models, key=lambda m: -m.idle_s):
        order.append(Victim("model", m.name, "", m.memory_mb))
    chosen: list[Victim] = []
    for victim in order:
        if missing <= 0:
            break
        chosen.append(victim)
        missing -= victim.memory_mb
    return chosen if missing <= 0 else None
