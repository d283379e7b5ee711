"""Database schema of Switchboard (SQLAlchemy 2 declarative models).

Timestamps are Unix seconds stored as floats so the same schema works unchanged on SQLite and
PostgreSQL and compares cheaply. JSON payloads are stored as text (``*_json``) because both
databases handle text alike and the engine only ever reads them whole.

The hand-written migrations ``migrations/versions/0001_initial.py`` (the original tables),
``0002_improvement.py`` (variants, their outcomes, curated dataset examples) and
``0003_proposals.py`` (proposed new specialists) must together stay
identical to these models; ``tests/unit/test_store_migrations.py`` compares them with Alembic's
autogenerate.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "Artifact",
    "Base",
    "Blob",
    "DatasetExample",
    "DecisionRow",
    "Feedback",
    "GoldenRun",
    "MetricPoint",
    "Proposal",
    "RoutingDecision",
    "Sample",
    "Task",
    "TaskInput",
    "Variant",
    "VariantOutcome",
    "table",
]

# Deterministic constraint names: the migration and the models must agree on them, and
# PostgreSQL needs names to drop constraints in later migrations.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base carrying the shared metadata and naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Task(Base):
    """One user task from submission to its final state."""

    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_state", "state"),
        Index("ix_tasks_created_at", "created_at"),
        Index("ix_tasks_specialist", "specialist"),
        Index("ix_tasks_finished_at", "finished_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    requested_specialist: Mapped[str | None] = mapped_column(String(64))
    specialist: Mapped[str | None] = mapped_column(String(64))
    router: Mapped[str | None] = mapped_column(String(32))
    route_confidence: Mapped[float | None] = mapped_column(Float)
    container: Mapped[str | None] = mapped_column(String(128))
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[float | None] = mapped_column(Float)
    finished_at: Mapped[float | None] = mapped_column(Float)
    duration_ms: Mapped[float | None] = mapped_column(Float)
    path: Mapped[str | None] = mapped_column(String(32))
    error_kind: Mapped[str | None] = mapped_column(String(32))
    error_message: Mapped[str | None] = mapped_column(Text)
    answer: Mapped[str | None] = mapped_column(Text)
    result_json: Mapped[str | None] = mapped_column(Text)
    cost: Mapped[float] = mapped_column(Float, default=0.0)
    timeout_s: Mapped[float | None] = mapped_column(Float)


class TaskInput(Base):
    """A file handed to a task (content lives in the blob store)."""

    __tablename__ = "task_inputs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(String(32), ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(512))
    sha256: Mapped[str] = mapped_column(String(64))
    bytes: Mapped[int] = mapped_column(BigInteger)
    mime: Mapped[str] = mapped_column(String(128), default="application/octet-stream")


class Artifact(Base):
    """A file a task produced (content lives in the blob store)."""

    __tablename__ = "artifacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(String(32), ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(512))
    sha256: Mapped[str] = mapped_column(String(64))
    bytes: Mapped[int] = mapped_column(BigInteger)
    mime: Mapped[str] = mapped_column(String(128), default="application/octet-stream")


class Blob(Base):
    """Bookkeeping for one content-addressed file, so unreferenced blobs can be collected."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    bytes: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[float] = mapped_column(Float)
    refcount: Mapped[int] = mapped_column(Integer, default=0)


class DecisionRow(Base):
    """Something the engine decided on its own (scale, reap, retry...), with its reason."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts: Mapped[float] = mapped_column(Float, index=True)
    kind: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(Text)
    data_json: Mapped[str | None] = mapped_column(Text)


class Sample(Base):
    """One resource sample of one container."""

    __tablename__ = "samples"
    __table_args__ = (Index("ix_samples_specialist_ts", "specialist", "ts"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts: Mapped[float] = mapped_column(Float, index=True)
    container: Mapped[str] = mapped_column(String(128))
    specialist: Mapped[str] = mapped_column(String(64))
    cpu_percent: Mapped[float] = mapped_column(Float)
    memory_bytes: Mapped[int] = mapped_column(BigInteger)
    pids: Mapped[int] = mapped_column(Integer)


class Feedback(Base):
    """A user's verdict on a task: correct, wrong_specialist or bad_answer."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts: Mapped[float] = mapped_column(Float, index=True)
    task_id: Mapped[str] = mapped_column(String(32), ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    specialist: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")


class RoutingDecision(Base):
    """One routing decision with its scores, for the routing evaluation and the bandit."""

    __tablename__ = "routing_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts: Mapped[float] = mapped_column(Float, index=True)
    task_id: Mapped[str | None] = mapped_column(String(32), index=True)
    text: Mapped[str] = mapped_column(Text)
    chosen: Mapped[str] = mapped_column(String(64))
    router: Mapped[str] = mapped_column(String(32))
    confidence: Mapped[float] = mapped_column(Float)
    scores_json: Mapped[str] = mapped_column(Text)
    latency_ms: Mapped[float] = mapped_column(Float)
    rationale: Mapped[str] = mapped_column(Text, default="")
    schema_violation: Mapped[bool] = mapped_column(Boolean, default=False)


class GoldenRun(Base):
    """One golden case's outcome in one golden-suite run."""

    __tablename__ = "golden_runs"
    __table_args__ = (Index("ix_golden_runs_specialist_ts", "specialist", "ts"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts: Mapped[float] = mapped_column(Float)
    run_id: Mapped[str] = mapped_column(String(64), index=True)
    specialist: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[str] = mapped_column(String(128))
    path: Mapped[str | None] = mapped_column(String(32))
    passed: Mapped[bool] = mapped_column(Boolean)
    detail: Mapped[str] = mapped_column(Text, default="")
    duration_ms: Mapped[float | None] = mapped_column(Float)


class MetricPoint(Base):
    """Any other chartable figure (schema violations, routing accuracy, queue depth...)."""

    __tablename__ = "metric_points"
    __table_args__ = (Index("ix_metric_points_name_ts", "name", "ts"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts: Mapped[float] = mapped_column(Float)
    name: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(255), default="")
    value: Mapped[float] = mapped_column(Float)


class Variant(Base):
    """A specialist variant: image version + model configuration, with its place in a trial."""

    __tablename__ = "variants"
    __table_args__ = (UniqueConstraint("specialist", "version"),)

    id: Mapped[str] = mapped_column(String(80), primary_key=True)  # "<specialist>-v<version>"
    specialist: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))  # pending | candidate | incumbent | retired
    image: Mapped[str] = mapped_column(String(255), default="")
    base_model: Mapped[str] = mapped_column(String(255))
    system_prompt: Mapped[str] = mapped_column(Text, default="")
    parameters_json: Mapped[str] = mapped_column(Text, default="{}")
    example_ids_json: Mapped[str] = mapped_column(Text, default="[]")
    parent: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    live_since: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text, default="")
    replay_json: Mapped[str | None] = mapped_column(Text)


class VariantOutcome(Base):
    """One task a variant ran, live or in a replay: success and latency."""

    __tablename__ = "variant_outcomes"
    __table_args__ = (Index("ix_variant_outcomes_variant_id_ts", "variant_id", "ts"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts: Mapped[float] = mapped_column(Float)
    variant_id: Mapped[str] = mapped_column(String(80), ForeignKey("variants.id", ondelete="CASCADE"))
    specialist: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))  # live | replay
    task_id: Mapped[str | None] = mapped_column(String(64))  # a task id, or an example id in a replay
    success: Mapped[bool] = mapped_column(Boolean)
    latency_ms: Mapped[float | None] = mapped_column(Float)


class DatasetExample(Base):
    """One curated example of a specialist, drawn from feedback, overrides, golden runs or outcomes.

    ``removed`` is a tombstone: the user took the example out, and re-curating never brings it
    back.
    """

    __tablename__ = "dataset_examples"
    __table_args__ = (UniqueConstraint("specialist", "example_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    specialist: Mapped[str] = mapped_column(String(64), index=True)
    example_id: Mapped[str] = mapped_column(String(160))
    source: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(16))  # good | bad | routing
    text: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text, default="")
    plan_json: Mapped[str | None] = mapped_column(Text)
    expected_json: Mapped[str | None] = mapped_column(Text)
    task_id: Mapped[str | None] = mapped_column(String(32))
    case_id: Mapped[str | None] = mapped_column(String(128))
    latency_ms: Mapped[float | None] = mapped_column(Float)
    ts: Mapped[float] = mapped_column(Float)
    created_at: Mapped[float] = mapped_column(Float)
    removed: Mapped[bool] = mapped_column(Boolean, default=False)
    removed_at: Mapped[float | None] = mapped_column(Float)


class Proposal(Base):
    """A proposed new specialist: a cluster of unserved tasks and its scaffold (migration 0003).

    ``terms_json`` is the cluster's centroid (term -> weight, at most 64 terms), so a restart
    keeps matching tasks to it; a dismissed proposal keeps absorbing its kind of task and is
    never proposed again.
    """

    __tablename__ = "proposals"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # "p-<10 hex>"
    name: Mapped[str] = mapped_column(String(64))  # suggested specialist id
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), index=True)  # open | accepted | dismissed
    size: Mapped[int] = mapped_column(Integer)
    growth: Mapped[int] = mapped_column(Integer, default=0)
    windows: Mapped[int] = mapped_column(Integer, default=1)
    last_window: Mapped[int] = mapped_column(BigInteger, default=0)
    terms_json: Mapped[str] = mapped_column(Text, default="{}")
    examples_json: Mapped[str] = mapped_column(Text, default="[]")
    members_json: Mapped[str] = mapped_column(Text, default="[]")
    origins_json: Mapped[str] = mapped_column(Text, default="{}")
    scaffold_dir: Mapped[str] = mapped_column(Text, default="")
    specialist: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


def table(name: str) -> Table:
    """The Core table called ``name``, for fast ``insert()``/``update()`` statements."""
    return Base.metadata.tables[name]
