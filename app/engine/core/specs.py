"""Specialist manifests: ``specialists/<id>/specialist.toml`` validated by pydantic.

A bad manifest yields a :class:`~app.engine.core.errors.ManifestError` naming the file, the field
and what is wrong; it never stops the other specialists from loading.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from app.engine.core.errors import ManifestError

__all__ = [
    "Catalogue",
    "Limits",
    "Planner",
    "PlannerExample",
    "Scaling",
    "SpecialistSpec",
    "load_catalogue",
    "load_spec",
]

ID_PATTERN = r"^[a-z][a-z0-9-]{1,40}$"


class Limits(BaseModel):
    """Resource limits applied to every container of a specialist."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    memory_mb: int = Field(512, ge=32, le=65536)
    cpus: float = Field(1.0, gt=0, le=64)
    pids: int = Field(64, ge=8, le=32768)
    tmpfs_mb: int = Field(64, ge=1, le=65536)
    task_timeout_s: float = Field(60.0, gt=0, le=86400)
    max_output_bytes: int = Field(1024 * 1024, ge=1024, le=1024 * 1024 * 1024)
    output_mb: int = Field(256, ge=1, le=65536, description="Size of the /output tmpfs: files a task may write")


class Scaling(BaseModel):
    """How many containers and how many tasks each may run at once."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    concurrency: int = Field(4, ge=1, le=256)
    min_replicas: int = Field(0, ge=0, le=64)
    max_replicas: int = Field(3, ge=1, le=64)
    idle_ttl_s: float = Field(900.0, ge=0)
    fresh_per_task: bool = False
    # starting points of the autoscaler's thresholds (they then follow observed figures)
    target_utilization: float = Field(0.7, gt=0, le=1, description="Busy share of slots the autoscaler aims for")
    latency_p95_s: float | None = Field(
        None, gt=0, description="Initial p95 latency threshold; empty = a quarter of the task timeout"
    )
    max_error_rate: float = Field(0.25, ge=0, le=1, description="Initial error-rate threshold")
    max_cost_per_task: float | None = Field(
        None,
        gt=0,
        description="Initial cost-per-task threshold (notional, the currency of the cost_per_* settings); "
        "empty = the cost of a task as slow as the latency threshold on a replica kept at its target utilisation",
    )
    warm_pool_max: int = Field(2, ge=0, le=16, description="Most idle containers kept warm (running or paused)")

    @model_validator(mode="after")
    def _min_le_max(self) -> Scaling:
        if self.min_replicas > self.max_replicas:
            raise ValueError("min_replicas must not exceed max_replicas")
        return self


class PlannerExample(BaseModel):
    """A few-shot example for the specialist's derived Ollama model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    task: str = Field(min_length=1)
    plan: str = Field(min_length=2)

    @field_validator("plan")
    @classmethod
    def _plan_is_json(cls, value: str) -> str:
        try:
            json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"plan is not valid JSON: {exc}") from exc
        return value


class Planner(BaseModel):
    """Settings of the per-specialist derived model ``switchboard-<id>``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    system_prompt: str = Field(min_length=10)
    plan_schema: str = Field("plan_schema.json", description="JSON Schema file next to the manifest")
    examples: tuple[PlannerExample, ...] = ()
    temperature: float = Field(0.0, ge=0, le=2)
    num_predict: int = Field(256, ge=16, le=4096)


class ProgramSpec(BaseModel):
    """How the specialist's model writes a program for a task no explicit recogniser takes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    libraries: tuple[str, ...] = Field(min_length=1, description="What the program may import")
    guide: str = Field(min_length=10, description="Specialist-specific instructions for the program")
    max_tokens: int = Field(700, ge=64, le=4096)
    language: Literal["python", "sql", "plan"] = Field(
        "python",
        description="What the model writes: a Python program, SQLite SQL run by a fixed program, or "
        "first a plan of the specialist's own operations ([planner] schema), a program if it fails",
    )
    python_guide: str = Field(
        "",
        description="With language 'sql': the guide for tasks written in Python instead (a chart is asked for, "
        "or an input SQL cannot load); empty: always SQL",
    )


class SpecialistSpec(BaseModel):
    """One specialist as declared by its manifest."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=ID_PATTERN)
    title: str = Field(min_length=1, max_length=80)
    description: str = Field(min_length=10)
    capabilities: tuple[str, ...] = Field(min_length=1)
    example_tasks: tuple[str, ...] = Field(min_length=1)
    routing_examples: tuple[str, ...] = Field(
        (), description="More ways users phrase tasks for this specialist; train the fast router only"
    )
    accepted_inputs: tuple[str, ...] = ()
    needs_network: bool = False
    icon: str = ""
    limits: Limits = Limits()
    scaling: Scaling = Scaling()
    planner: Planner | None = None
    program: ProgramSpec | None = None
    folder: Path = Field(Path("."), exclude=True)

    @field_validator("accepted_inputs")
    @classmethod
    def _extensions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        out = []
        for ext in value:
            if not ext.startswith(".") or ext != ext.lower() or len(ext) < 2:
                raise ValueError(f"{ext!r} must be a lower-case extension starting with '.'")
            out.append(ext)
        return tuple(out)

    @property
    def image_repo(self) -> str:
        """Image repository name (the tag is the source hash)."""
        return f"switchboard/{self.id}"

    @property
    def model_name(self) -> str:
        """Name of the derived Ollama model."""
        return f"switchboard-{self.id}"

    def accepts(self, filename: str) -> bool:
        """Whether a file with this name may be given to the specialist."""
        suffixes = [s.lower() for s in Path(filename).suffixes]
        if not suffixes:
            return False
        joined = "".join(suffixes[-2:])
        return suffixes[-1] in self.accepted_inputs or joined in self.accepted_inputs

    def plan_schema(self) -> dict[str, Any] | None:
        """The planner's JSON Schema, or ``None`` when the specialist has no planner."""
        if self.planner is None:
            return None
        path = self.folder / self.planner.plan_schema
        loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return loaded


def load_spec(manifest: Path) -> SpecialistSpec:
    """Load and validate one manifest; raise :class:`ManifestError` naming field and problem."""
    if not manifest.is_file():
        raise ManifestError(str(manifest), "(file)", "specialist.toml is missing")
    try:
        raw = tomllib.loads(manifest.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ManifestError(str(manifest), "(file)", f"not UTF-8 text: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(str(manifest), "(syntax)", f"not valid TOML: {exc}") from exc
    try:
        spec = SpecialistSpec.model_validate({**raw, "folder": manifest.parent})
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(root)"
        more = f" (and {len(exc.errors()) - 1} more problems)" if len(exc.errors()) > 1 else ""
        raise ManifestError(str(manifest), where, f"{err['msg']}{more}") from exc
    if spec.id != manifest.parent.name:
        raise ManifestError(str(manifest), "id", f"{spec.id!r} must equal the folder name {manifest.parent.name!r}")
    if spec.planner is not None:
        schema_path = manifest.parent / spec.planner.plan_schema
        try:
            json.loads(schema_path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ManifestError(str(manifest), "planner.plan_schema", f"{schema_path.name} does not exist") from exc
        except json.JSONDecodeError as exc:
            raise ManifestError(str(manifest), "planner.plan_schema", f"{schema_path.name} is not JSON: {exc}") from exc
    return spec


@dataclass
class Catalogue:
    """The specialists that loaded, and the manifests that did not (with reasons)."""

    specs: dict[str, SpecialistSpec] = field(default_factory=dict)
    errors: list[ManifestError] = field(default_factory=list)

    def ids(self) -> list[str]:
        """Specialist ids in a stable order."""
        return sorted(self.specs)


def load_catalogue(folder: Path) -> Catalogue:
    """Load every ``<folder>/<id>/specialist.toml``; folders without one (``runtime``) are skipped."""
    catalogue = Catalogue()
    if not folder.is_dir():
        return catalogue
    for child in sorted(folder.iterdir()):
        if not child.is_dir() or child.name.startswith((".", "_")) or child.name == "runtime":
            continue
        manifest = child / "specialist.toml"
        if not manifest.exists() and not (child / "Dockerfile").exists():
            continue
        try:
            spec = load_spec(manifest)
        except ManifestError as exc:
            catalogue.errors.append(exc)
            continue
        catalogue.specs[spec.id] = spec
    return catalogue
