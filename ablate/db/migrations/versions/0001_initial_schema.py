"""The first schema: studies, trials, epochs, epoch metrics, results, class metrics, confusions.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_LIVE = "state IN ('running', 'complete')"


def _trial_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["trial_id"], ["ablate_trial.id"], ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "ablate_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )
    op.create_table(
        "ablate_study",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("spec_text", sa.Text(), nullable=False),
        sa.Column("spec_json", sa.JSON(), nullable=False),
        sa.Column("spec_path", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "ablate_trial",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "study_id",
            sa.Integer(),
            sa.ForeignKey("ablate_study.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("optuna_trial_id", sa.Integer(), nullable=True),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("run_key", sa.String(40), nullable=False),
        sa.Column("cell_key", sa.Text(), nullable=False),
        sa.Column("cell", sa.JSON(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("device", sa.String(64), nullable=False),
        sa.Column("versions", sa.JSON(), nullable=False),
        sa.Column("git_commit", sa.String(64), nullable=False),
        sa.Column("resumed_from_epoch", sa.Integer(), nullable=False),
        sa.Column("best_epoch", sa.Integer(), nullable=True),
        sa.Column("objective", sa.Float(), nullable=True),
        sa.Column("n_params", sa.Integer(), nullable=True),
        sa.Column("flops", sa.Float(), nullable=True),
        sa.Column("batch_size", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("log_path", sa.Text(), nullable=False),
    )
    op.create_index("ix_ablate_trial_study_state", "ablate_trial", ["study_id", "state"])
    op.create_index("ix_ablate_trial_run_key", "ablate_trial", ["run_key"])
    # At most one live (running) or complete attempt per run: inserting is the claim.
    op.create_index(
        "uq_ablate_trial_live_run",
        "ablate_trial",
        ["study_id", "run_key"],
        unique=True,
        sqlite_where=sa.text(_LIVE),
        postgresql_where=sa.text(_LIVE),
    )
    op.create_table(
        "ablate_epoch",
        sa.Column("trial_id", sa.Integer(), primary_key=True),
        sa.Column("epoch", sa.Integer(), primary_key=True),
        sa.Column("train_loss", sa.Float(), nullable=False),
        sa.Column("val_loss", sa.Float(), nullable=False),
        sa.Column("val_accuracy", sa.Float(), nullable=False),
        sa.Column("lr", sa.Float(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        _trial_fk(),
    )
    op.create_table(
        "ablate_epoch_metric",
        sa.Column("trial_id", sa.Integer(), primary_key=True),
        sa.Column("epoch", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Float(), nullable=False),
        _trial_fk(),
    )
    op.create_table(
        "ablate_result",
        sa.Column("trial_id", sa.Integer(), primary_key=True),
        sa.Column("split", sa.String(8), primary_key=True),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("accuracy", sa.Float(), nullable=False),
        sa.Column("kappa", sa.Float(), nullable=False),
        sa.Column("macro_f1", sa.Float(), nullable=False),
        sa.Column("loss", sa.Float(), nullable=False),
        sa.Column("n_samples", sa.Integer(), nullable=False),
        _trial_fk(),
    )
    op.create_table(
        "ablate_class_metric",
        sa.Column("trial_id", sa.Integer(), primary_key=True),
        sa.Column("split", sa.String(8), primary_key=True),
        sa.Column("class_index", sa.Integer(), primary_key=True),
        sa.Column("class_name", sa.String(64), nullable=False),
        sa.Column("accuracy", sa.Float(), nullable=False),
        sa.Column("support", sa.Integer(), nullable=False),
        _trial_fk(),
    )
    op.create_table(
        "ablate_confusion",
        sa.Column("trial_id", sa.Integer(), primary_key=True),
        sa.Column("split", sa.String(8), primary_key=True),
        sa.Column("true_class", sa.Integer(), primary_key=True),
        sa.Column("pred_class", sa.Integer(), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
        _trial_fk(),
    )


def downgrade() -> None:
    for table in (
        "ablate_confusion",
        "ablate_class_metric",
        "ablate_result",
        "ablate_epoch_metric",
        "ablate_epoch",
        "ablate_trial",
        "ablate_study",
        "ablate_meta",
    ):
        op.drop_table(table)
