"""Trials keep the uncommitted diff of the user's git checkout they ran from.

``git_commit`` says '-dirty' when the checkout holding the study file had changes; ``git_diff``
holds those changes (``git diff HEAD``, cut at 1 MB), so that the code behind a dirty commit
can be recovered. Additive: NULL for trials recorded before it, and an older ablate on the
same database keeps working.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ablate_trial") as batch:
        batch.add_column(sa.Column("git_diff", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ablate_trial") as batch:
        batch.drop_column("git_diff")
