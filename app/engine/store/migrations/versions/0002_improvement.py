"""Self-improvement: specialist variants, their outcomes, curated dataset examples.

Only adds tables, so every row written under 0001 stays as it was (a unit test migrates a
populated 0001 database and compares). Written by hand to match ``app/engine/store/models.py``.

Revision ID: 0002_improvement
Revises: 0001_initial
Create Date: 2026-02-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_improvement"
down_revision: str | Sequence[str] | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the variants, variant_outcomes and dataset_examples tables."""
    op.create_table(
        "variants",
        sa.Column("id", sa.String(80), nullable=False),
        sa.Column("specialist", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("image", sa.String(255), nullable=False),
        sa.Column("base_model", sa.String(255), nullable=False),
        sa.Column("system_prompt", sa.Text(), nullable=False),
        sa.Column("parameters_json", sa.Text(), nullable=False),
        sa.Column("example_ids_json", sa.Text(), nullable=False),
        sa.Column("parent", sa.String(80), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("live_since", sa.Float(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("replay_json", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_variants"),
        sa.UniqueConstraint("specialist", "version", name="uq_variants_specialist_version"),
    )
    op.create_index("ix_variants_specialist", "variants", ["specialist"])

    op.create_table(
        "variant_outcomes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("variant_id", sa.String(80), nullable=False),
        sa.Column("specialist", sa.String(64), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("task_id", sa.String(64), nullable=True),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_variant_outcomes"),
        sa.ForeignKeyConstraint(
            ["variant_id"],
            ["variants.id"],
            name="fk_variant_outcomes_variant_id_variants",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_variant_outcomes_variant_id_ts", "variant_outcomes", ["variant_id", "ts"])

    op.create_table(
        "dataset_examples",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("specialist", sa.String(64), nullable=False),
        sa.Column("example_id", sa.String(160), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("label", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("plan_json", sa.Text(), nullable=True),
        sa.Column("expected_json", sa.Text(), nullable=True),
        sa.Column("task_id", sa.String(32), nullable=True),
        sa.Column("case_id", sa.String(128), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("removed", sa.Boolean(), nullable=False),
        sa.Column("removed_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_dataset_examples"),
        sa.UniqueConstraint("specialist", "example_id", name="uq_dataset_examples_specialist_example_id"),
    )
    op.create_index("ix_dataset_examples_specialist", "dataset_examples", ["specialist"])


def downgrade() -> None:
    """Drop the three tables (children before parents); 0001's tables are untouched."""
    for name in ("dataset_examples", "variant_outcomes", "variants"):
        op.drop_table(name)
