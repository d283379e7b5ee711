"""Typed records of what the store reads: one frozen dataclass per table, built in one place.

The store's read functions hand these out instead of ``dict`` rows, so callers use attributes
with their types rather than ``row.get("attempt") or 0``. Each record has one ``from_row``
that takes a SQLAlchemy row mapping and decodes the table's ``*_json`` columns; nothing else
builds a record from the database. :class:`DatasetSources` groups records (the evidence a
curated dataset is drawn from). Writes still take plain mappings (see the table modules).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# A row's mapping (``row._mapping``, keyed by column name) or a plain dict with the same keys.
RowLike = Mapping[Any, Any]

__all__ = [
    "DatasetSources",
    "DecisionRecord",
    "ExampleRecord",
    "FeedbackRecord",
    "FileRecord",
    "GoldenRunRecord",
    "ProposalRecord",
    "RoutingFeedbackRecord",
    "TaskRecord",
    "VariantOutcomeRecord",
    "VariantRecord",
]


@dataclass(frozen=True, kw_only=True)
class FileRecord:
    """An input or artifact file of a task (``task_inputs`` / ``artifacts``); content is a blob."""

    name: str
    sha256: str
    bytes: int
    mime: str | None = None  # set on every stored file; None on a just-run task's inputs

    @classmethod
    def from_row(cls, row: RowLike) -> FileRecord:
        """A file from a row of ``task_inputs`` or ``artifacts``."""
        return cls(name=row["name"], sha256=row["sha256"], bytes=int(row["bytes"]), mime=row["mime"])


def _task_result(raw: str | None) -> dict[str, Any]:
    """The decoded ``result_json``: ``{}`` when empty, ``{"unreadable": raw}`` when not an object."""
    if not raw:
        return {}
    try:
        result = json.loads(raw)
    except ValueError:
        return {"unreadable": raw}
    return result if isinstance(result, dict) else {"unreadable": raw}


@dataclass(frozen=True, kw_only=True)
class TaskRecord:
    """A stored task (``tasks``), with ``result`` decoded and, when read with them, its files.

    ``result`` is ``{}`` when the task has none yet or when it was read without it
    (``list_tasks(with_result=False)``); ``inputs`` and ``artifacts`` are empty when the
    read leaves files out (listings).
    """

    id: str
    state: str
    text: str
    created_at: float
    updated_at: float
    requested_specialist: str | None = None
    specialist: str | None = None
    router: str | None = None
    route_confidence: float | None = None
    container: str | None = None
    attempt: int = 0
    started_at: float | None = None
    finished_at: float | None = None
    duration_ms: float | None = None
    path: str | None = None
    error_kind: str | None = None
    error_message: str | None = None
    answer: str | None = None
    result: dict[str, Any] = field(default_factory=dict)
    cost: float = 0.0
    timeout_s: float | None = None
    inputs: tuple[FileRecord, ...] = ()
    artifacts: tuple[FileRecord, ...] = ()

    @property
    def plan(self) -> Any:
        """The plan (or program) the task ran, if its result holds one."""
        return self.result.get("plan")

    @classmethod
    def from_row(
        cls,
        row: RowLike,
        *,
        inputs: Sequence[FileRecord] = (),
        artifacts: Sequence[FileRecord] = (),
    ) -> TaskRecord:
        """A task from a row of ``tasks`` (every column; ``result_json`` may be left out)."""
        return cls(
            id=row["id"],
            state=row["state"],
            text=row["text"],
            created_at=float(row["created_at"]),
            updated_at=float(row["updated_at"]),
            requested_specialist=row["requested_specialist"],
            specialist=row["specialist"],
            router=row["router"],
            route_confidence=row["route_confidence"],
            container=row["container"],
            attempt=int(row["attempt"] or 0),
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            duration_ms=row["duration_ms"],
            path=row["path"],
            error_kind=row["error_kind"],
            error_message=row["error_message"],
            answer=row["answer"],
            result=_task_result(row.get("result_json")),
            cost=float(row["cost"] or 0.0),
            timeout_s=row["timeout_s"],
            inputs=tuple(inputs),
            artifacts=tuple(artifacts),
        )


@dataclass(frozen=True, kw_only=True)
class DecisionRecord:
    """Something the engine decided on its own (``decisions``), ``data`` decoded."""

    id: int
    ts: float
    kind: str
    subject: str
    reason: str
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: RowLike) -> DecisionRecord:
        """A decision from a row of ``decisions`` (unreadable ``data_json`` reads as ``{}``)."""
        raw = row["data_json"]
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            data = {}
        return cls(
            id=int(row["id"]),
            ts=float(row["ts"]),
            kind=row["kind"],
            subject=row["subject"],
            reason=row["reason"],
            data=data if isinstance(data, dict) else {},
        )


@dataclass(frozen=True, kw_only=True)
class FeedbackRecord:
    """A user's verdict on a task (``feedback``); ``specialist`` is the one the user named."""

    id: int
    ts: float
    task_id: str
    kind: str  # correct | wrong_specialist | bad_answer
    specialist: str | None = None
    note: str = ""

    @classmethod
    def from_row(cls, row: RowLike) -> FeedbackRecord:
        """Feedback from a row of ``feedback``."""
        return cls(
            id=int(row["id"]),
            ts=float(row["ts"]),
            task_id=row["task_id"],
            kind=row["kind"],
            specialist=row["specialist"],
            note=row["note"] or "",
        )


@dataclass(frozen=True, kw_only=True)
class RoutingFeedbackRecord:
    """A verdict on where a task belongs: its text and the right specialist (``feedback`` + ``tasks``).

    ``wrong_specialist`` names the right one; ``correct`` confirms the one that ran the task.
    """

    ts: float
    kind: str  # correct | wrong_specialist
    text: str
    specialist: str

    @classmethod
    def from_row(cls, row: RowLike) -> RoutingFeedbackRecord:
        """From a row with the feedback's ``ts``, ``kind``, ``specialist`` and the task's ``text``."""
        return cls(ts=float(row["ts"]), kind=str(row["kind"]), text=str(row["text"]), specialist=str(row["specialist"]))


@dataclass(frozen=True, kw_only=True)
class VariantRecord:
    """A specialist variant (``variants``), its JSON columns decoded.

    The rules about states live in :mod:`app.engine.improve`; this is what is stored.
    """

    id: str  # "<specialist>-v<version>"
    specialist: str
    version: int
    state: str  # pending | candidate | incumbent | retired
    base_model: str
    created_at: float
    updated_at: float
    image: str = ""
    system_prompt: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    example_ids: tuple[str, ...] = ()
    parent: str | None = None
    live_since: float | None = None
    reason: str = ""
    replay: dict[str, Any] | None = None

    @classmethod
    def from_row(cls, row: RowLike) -> VariantRecord:
        """A variant from a row of ``variants``."""
        replay = row["replay_json"]
        return cls(
            id=row["id"],
            specialist=row["specialist"],
            version=int(row["version"]),
            state=row["state"],
            base_model=row["base_model"],
            created_at=float(row["created_at"]),
            updated_at=float(row["updated_at"]),
            image=row["image"] or "",
            system_prompt=row["system_prompt"] or "",
            parameters=dict(json.loads(row["parameters_json"] or "{}")),
            example_ids=tuple(str(e) for e in json.loads(row["example_ids_json"] or "[]")),
            parent=row["parent"],
            live_since=row["live_since"],
            reason=row["reason"] or "",
            replay=json.loads(replay) if replay else None,
        )


@dataclass(frozen=True, kw_only=True)
class VariantOutcomeRecord:
    """One task a variant ran (``variant_outcomes``), live or in a replay."""

    variant_id: str
    ts: float
    source: str  # live | replay
    success: bool
    task_id: str | None = None  # a task id, or an example id in a replay
    latency_ms: float | None = None

    @classmethod
    def from_row(cls, row: RowLike) -> VariantOutcomeRecord:
        """An outcome from a row of ``variant_outcomes``."""
        return cls(
            variant_id=row["variant_id"],
            ts=float(row["ts"]),
            source=row["source"],
            success=bool(row["success"]),
            task_id=row["task_id"],
            latency_ms=row["latency_ms"],
        )


@dataclass(frozen=True, kw_only=True)
class GoldenRunRecord:
    """One golden case's outcome in one golden-suite run (``golden_runs``)."""

    id: int
    ts: float
    run_id: str
    specialist: str
    case_id: str
    passed: bool
    path: str | None = None
    detail: str = ""
    duration_ms: float | None = None

    @classmethod
    def from_row(cls, row: RowLike) -> GoldenRunRecord:
        """A golden outcome from a row of ``golden_runs``."""
        return cls(
            id=int(row["id"]),
            ts=float(row["ts"]),
            run_id=row["run_id"],
            specialist=row["specialist"],
            case_id=row["case_id"],
            passed=bool(row["passed"]),
            path=row["path"],
            detail=row["detail"] or "",
            duration_ms=row["duration_ms"],
        )


@dataclass(frozen=True, kw_only=True)
class DatasetSources:
    """The stored evidence a specialist's curated examples are drawn from.

    ``tasks``: its newest finished tasks (without files); ``feedback``: each feedback on a task
    of the specialist or naming it as the right one, oldest first, with that task; ``golden``:
    the latest outcome of each of its golden cases.
    """

    tasks: tuple[TaskRecord, ...] = ()
    feedback: tuple[tuple[FeedbackRecord, TaskRecord], ...] = ()
    golden: tuple[GoldenRunRecord, ...] = ()


def _json_or_none(raw: str | None) -> Any:
    return json.loads(raw) if raw else None


@dataclass(frozen=True, kw_only=True)
class ExampleRecord:
    """One curated example of a specialist (``dataset_examples``), ``plan``/``expected`` decoded.

    ``removed`` is the tombstone the user set; such an example is never curated back.
    """

    specialist: str
    example_id: str
    source: str  # feedback | override | golden | outcome | schema_violation
    label: str  # good | bad | routing
    text: str
    ts: float
    created_at: float
    answer: str = ""
    plan: Any = None
    expected: Any = None
    task_id: str | None = None
    case_id: str | None = None
    latency_ms: float | None = None
    removed: bool = False
    removed_at: float | None = None

    @classmethod
    def from_row(cls, row: RowLike) -> ExampleRecord:
        """An example from a row of ``dataset_examples``."""
        return cls(
            specialist=row["specialist"],
            example_id=row["example_id"],
            source=row["source"],
            label=row["label"],
            text=row["text"],
            ts=float(row["ts"]),
            created_at=float(row["created_at"]),
            answer=row["answer"] or "",
            plan=_json_or_none(row["plan_json"]),
            expected=_json_or_none(row["expected_json"]),
            task_id=row["task_id"],
            case_id=row["case_id"],
            latency_ms=row["latency_ms"],
            removed=bool(row["removed"]),
            removed_at=row["removed_at"],
        )


@dataclass(frozen=True, kw_only=True)
class ProposalRecord:
    """A proposed new specialist (``proposals``), its cluster's JSON columns decoded.

    ``terms`` is the cluster's centroid (term -> weight), ``examples`` task texts newest first,
    ``members`` task ids newest last, ``origins`` why its tasks were unserved -> count.
    """

    id: str
    name: str
    title: str
    description: str
    state: str  # open | accepted | dismissed
    size: int
    created_at: float
    updated_at: float
    growth: int = 0
    windows: int = 1
    last_window: int = 0
    terms: dict[str, float] = field(default_factory=dict)
    examples: tuple[str, ...] = ()
    members: tuple[str, ...] = ()
    origins: dict[str, int] = field(default_factory=dict)
    scaffold_dir: str = ""
    specialist: str | None = None
    reason: str = ""

    @classmethod
    def from_row(cls, row: RowLike) -> ProposalRecord:
        """A proposal from a row of ``proposals``."""
        terms = json.loads(row["terms_json"] or "{}")
        origins = json.loads(row["origins_json"] or "{}")
        return cls(
            id=row["id"],
            name=row["name"],
            title=row["title"],
            description=row["description"],
            state=row["state"],
            size=int(row["size"]),
            created_at=float(row["created_at"]),
            updated_at=float(row["updated_at"]),
            growth=int(row["growth"]),
            windows=int(row["windows"]),
            last_window=int(row["last_window"]),
            terms={str(k): float(v) for k, v in terms.items()},
            examples=tuple(str(e) for e in json.loads(row["examples_json"] or "[]")),
            members=tuple(str(m) for m in json.loads(row["members_json"] or "[]")),
            origins={str(k): int(v) for k, v in origins.items()},
            scaffold_dir=row["scaffold_dir"] or "",
            specialist=row["specialist"],
            reason=row["reason"] or "",
        )
