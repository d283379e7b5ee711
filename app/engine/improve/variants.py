"""What a specialist variant is, its states, and its mapping to and from the store.

A variant is an image version plus a model configuration: base model, system prompt, generation
parameters and few-shot examples (ids into the specialist's curated dataset). Version 1 of every
specialist is its manifest's configuration and starts as the incumbent; later versions are made
by "retrain" and move ``pending`` -> ``candidate`` (passed the replay gate, gets live traffic)
-> ``incumbent`` (promoted) or ``retired`` (failed the gate, rolled back, or replaced).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from app.engine.core.specs import SpecialistSpec
from app.engine.store.rows import VariantRecord

__all__ = ["Variant", "VariantState", "manifest_variant", "variant_id"]


class VariantState(StrEnum):
    """Where a variant stands; the stored column holds these strings."""

    PENDING = "pending"  # made, not yet replayed: gets no live traffic
    CANDIDATE = "candidate"  # passed the replay gate: shares live traffic with the incumbent
    INCUMBENT = "incumbent"  # the specialist's default
    RETIRED = "retired"  # out of service (kept with its figures for the history)


def variant_id(specialist: str, version: int) -> str:
    """The id of a specialist's version: ``<specialist>-v<version>``."""
    return f"{specialist}-v{version}"


@dataclass(frozen=True)
class Variant:
    """One variant of one specialist (a frozen snapshot of its stored row)."""

    specialist: str
    version: int
    state: VariantState
    base_model: str
    system_prompt: str = ""
    parameters: Mapping[str, float] = field(default_factory=dict)
    example_ids: tuple[str, ...] = ()
    image: str = ""  # image tag; "" = the specialist's current build
    parent: str | None = None  # the incumbent it was derived from
    created_at: float = 0.0
    live_since: float | None = None  # when it started getting live traffic
    reason: str = ""  # the last decision about it, in words and figures
    replay: Mapping[str, Any] | None = None  # the replay gate's figures

    @property
    def id(self) -> str:
        """``<specialist>-v<version>``."""
        return variant_id(self.specialist, self.version)

    @property
    def label(self) -> str:
        """``v<version>``, as decisions name it."""
        return f"v{self.version}"

    @property
    def model_name(self) -> str:
        """Name of the derived model that carries this configuration on the model server."""
        return f"switchboard-{self.specialist}-v{self.version}"

    def fields(self) -> dict[str, Any]:
        """The stored row's fields (for ``Store.add_variant``)."""
        return {
            "id": self.id,
            "specialist": self.specialist,
            "version": self.version,
            "state": str(self.state),
            "image": self.image,
            "base_model": self.base_model,
            "system_prompt": self.system_prompt,
            "parameters": dict(self.parameters),
            "example_ids": list(self.example_ids),
            "parent": self.parent,
            "created_at": self.created_at,
            "updated_at": self.created_at,
            "live_since": self.live_since,
            "reason": self.reason,
            "replay": None if self.replay is None else dict(self.replay),
        }

    @classmethod
    def from_record(cls, record: VariantRecord) -> Variant:
        """A variant from what ``Store.list_variants`` read (its state checked, parameters as floats)."""
        return cls(
            specialist=record.specialist,
            version=record.version,
            state=VariantState(record.state),
            base_model=record.base_model,
            system_prompt=record.system_prompt,
            parameters={str(k): float(v) for k, v in record.parameters.items()},
            example_ids=record.example_ids,
            image=record.image,
            parent=record.parent,
            created_at=record.created_at,
            live_since=record.live_since,
            reason=record.reason,
            replay=record.replay,
        )


def manifest_variant(spec: SpecialistSpec, base_model: str, *, now: float, image: str = "") -> Variant:
    """Version 1: exactly what the manifest configures, the incumbent until something beats it."""
    planner = spec.planner
    return Variant(
        specialist=spec.id,
        version=1,
        state=VariantState.INCUMBENT,
        base_model=base_model,
        system_prompt=planner.system_prompt if planner else "",
        parameters={"temperature": planner.temperature, "num_predict": float(planner.num_predict)} if planner else {},
        image=image,
        created_at=now,
        live_since=now,
        reason=f"{spec.id} v1 is the manifest's configuration",
    )
