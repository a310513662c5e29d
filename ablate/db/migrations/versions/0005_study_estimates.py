"""Time estimates: what each ``ablate run`` expected the rest of its study to take, and what
it took (``ablate_estimate``, one row per invocation that had runs to train). Additive: a new
table, which an older ablate on the same database never reads.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ablate_estimate",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "study_id",
            sa.Integer(),
            sa.ForeignKey("ablate_study.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("made_at", sa.DateTime(), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("slots", sa.Integer(), nullable=False),
        sa.Column("estimated_s", sa.Float(), nullable=True),
        sa.Column("unknown_runs", sa.Integer(), nullable=False),
        sa.Column("sources", sa.Text(), nullable=False),
        sa.Column("took_s", sa.Float(), nullable=True),
    )
    op.create_index("ix_ablate_estimate_study_id", "ablate_estimate", ["study_id"])


def downgrade() -> None:
    op.drop_index("ix_ablate_estimate_study_id", "ablate_estimate")
    op.drop_table("ablate_estimate")
