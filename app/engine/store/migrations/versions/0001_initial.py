"""Initial schema: tasks, their files, blobs, decisions, samples, feedback, routing, golden, metrics.

Written by hand to match ``app/engine/store/models.py``; a unit test checks that upgrading an
empty database to head gives exactly the models' schema.

Revision ID: 0001_initial
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), autoincrement=True, nullable=False)


def _file_table(name: str) -> None:
    """``task_inputs`` and ``artifacts`` share one shape."""
    op.create_table(
        name,
        _id(),
        sa.Column("task_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(512), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("mime", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{name}"),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], name=f"fk_{name}_task_id_tasks", ondelete="CASCADE"),
    )
    op.create_index(f"ix_{name}_task_id", name, ["task_id"])


def upgrade() -> None:
    """Create every table and index."""
    op.create_table(
        "tasks",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("requested_specialist", sa.String(64), nullable=True),
        sa.Column("specialist", sa.String(64), nullable=True),
        sa.Column("router", sa.String(32), nullable=True),
        sa.Column("route_confidence", sa.Float(), nullable=True),
        sa.Column("container", sa.String(128), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=True),
        sa.Column("finished_at", sa.Float(), nullable=True),
        sa.Column("duration_ms", sa.Float(), nullable=True),
        sa.Column("path", sa.String(32), nullable=True),
        sa.Column("error_kind", sa.String(32), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("result_json", sa.Text(), nullable=True),
        sa.Column("cost", sa.Float(), nullable=False),
        sa.Column("timeout_s", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_tasks"),
    )
    op.create_index("ix_tasks_state", "tasks", ["state"])
    op.create_index("ix_tasks_created_at", "tasks", ["created_at"])
    op.create_index("ix_tasks_specialist", "tasks", ["specialist"])
    op.create_index("ix_tasks_finished_at", "tasks", ["finished_at"])

    _file_table("task_inputs")
    _file_table("artifacts")

    op.create_table(
        "blobs",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("refcount", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name="pk_blobs"),
    )

    op.create_table(
        "decisions",
        _id(),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("data_json", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_decisions"),
    )
    op.create_index("ix_decisions_ts", "decisions", ["ts"])

    op.create_table(
        "samples",
        _id(),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("container", sa.String(128), nullable=False),
        sa.Column("specialist", sa.String(64), nullable=False),
        sa.Column("cpu_percent", sa.Float(), nullable=False),
        sa.Column("memory_bytes", sa.BigInteger(), nullable=False),
        sa.Column("pids", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_samples"),
    )
    op.create_index("ix_samples_ts", "samples", ["ts"])
    op.create_index("ix_samples_specialist_ts", "samples", ["specialist", "ts"])

    op.create_table(
        "feedback",
        _id(),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("task_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("specialist", sa.String(64), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_feedback"),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], name="fk_feedback_task_id_tasks", ondelete="CASCADE"),
    )
    op.create_index("ix_feedback_ts", "feedback", ["ts"])
    op.create_index("ix_feedback_task_id", "feedback", ["task_id"])

    op.create_table(
        "routing_decisions",
        _id(),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("task_id", sa.String(32), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("chosen", sa.String(64), nullable=False),
        sa.Column("router", sa.String(32), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("scores_json", sa.Text(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("schema_violation", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_routing_decisions"),
    )
    op.create_index("ix_routing_decisions_ts", "routing_decisions", ["ts"])
    op.create_index("ix_routing_decisions_task_id", "routing_decisions", ["task_id"])

    op.create_table(
        "golden_runs",
        _id(),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("specialist", sa.String(64), nullable=False),
        sa.Column("case_id", sa.String(128), nullable=False),
        sa.Column("path", sa.String(32), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_golden_runs"),
    )
    op.create_index("ix_golden_runs_run_id", "golden_runs", ["run_id"])
    op.create_index("ix_golden_runs_specialist_ts", "golden_runs", ["specialist", "ts"])

    op.create_table(
        "metric_points",
        _id(),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_metric_points"),
    )
    op.create_index("ix_metric_points_name_ts", "metric_points", ["name", "ts"])


def downgrade() -> None:
    """Drop everything this revision created (children before parents)."""
    for name in (
        "metric_points",
        "golden_runs",
        "routing_decisions",
        "feedback",
        "samples",
        "decisions",
        "blobs",
        "artifacts",
        "task_inputs",
        "tasks",
    ):
        op.drop_table(name)
