"""Proposed new specialists: clusters of unserved tasks with their scaffolds.

Only adds a table, so every row written under 0001/0002 stays as it was. Written by hand to
match ``app/engine/store/models.py`` (``Proposal``).

Revision ID: 0003_proposals
Revises: 0002_improvement
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_proposals"
down_revision: str | Sequence[str] | None = "0002_improvement"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the proposals table."""
    op.create_table(
        "proposals",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("title", sa.String(120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("growth", sa.Integer(), nullable=False),
        sa.Column("windows", sa.Integer(), nullable=False),
        sa.Column("last_window", sa.BigInteger(), nullable=False),
        sa.Column("terms_json", sa.Text(), nullable=False),
        sa.Column("examples_json", sa.Text(), nullable=False),
        sa.Column("members_json", sa.Text(), nullable=False),
        sa.Column("origins_json", sa.Text(), nullable=False),
        sa.Column("scaffold_dir", sa.Text(), nullable=False),
        sa.Column("specialist", sa.String(64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_proposals"),
    )
    op.create_index("ix_proposals_state", "proposals", ["state"])


def downgrade() -> None:
    """Drop the proposals table; the earlier tables are untouched."""
    op.drop_table("proposals")
