"""Trials say which phase of a study they belong to, how their data was placed, and the
memory they peaked at.

``phase``: '' for the study's own runs, 'confirm' for a search's confirmation runs (the best
configurations re-run over the full seed list). ``data_path``: 'resident' (the splits copied
onto the device once) or 'stream' (batches gathered from the memory-mapped cache, prefetched);
'' before it was recorded. ``peak_memory_bytes``: the trial's peak device memory (CUDA) or
resident set (CPU) while it trained, the measured need the device pool packs by. Additive:
defaults for trials recorded before it, and an older ablate on the same database keeps working.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ablate_trial") as batch:
        batch.add_column(sa.Column("phase", sa.String(16), nullable=False, server_default=""))
        batch.add_column(sa.Column("data_path", sa.String(16), nullable=False, server_default=""))
        batch.add_column(sa.Column("peak_memory_bytes", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ablate_trial") as batch:
        batch.drop_column("peak_memory_bytes")
        batch.drop_column("data_path")
        batch.drop_column("phase")
