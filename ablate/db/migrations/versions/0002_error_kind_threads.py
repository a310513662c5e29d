"""Trials record what kind of error ended them and the torch threads they trained with.

``error_kind`` lets retries decide on the kind (an out-of-memory error is retried with the
batch halved, a usage error in the study is never retried) instead of matching message text.
``threads`` is part of what a CPU run's low bits depend on: a resume under another thread
count is warned about. Additive: an older ablate on the same database keeps working.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ablate_trial") as batch:
        batch.add_column(sa.Column("error_kind", sa.String(16), nullable=False, server_default=""))
        batch.add_column(sa.Column("threads", sa.Integer(), nullable=True))
    # rows written before the kind existed: their message said what it was
    op.execute(
        "UPDATE ablate_trial SET error_kind = 'oom' "
        "WHERE state = 'failed' AND error LIKE 'CUDA out of memory%'"
    )
    op.execute(
        "UPDATE ablate_trial SET error_kind = 'exception' "
        "WHERE state = 'failed' AND error_kind = ''"
    )


def downgrade() -> None:
    with op.batch_alter_table("ablate_trial") as batch:
        batch.drop_column("threads")
        batch.drop_column("error_kind")
