"""ablate's own tables, next to Optuna's in the same database.

Every number a table or slide shows is a row here, traceable to its trial, resolved config,
seed, code version and machine. Confusion matrices are rows (one per cell of the matrix) so
that plain SQL can query them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SCHEMA_VERSION = 1


class Base(DeclarativeBase):
    pass


class MetaRow(Base):
    __tablename__ = "ablate_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class StudyRow(Base):
    __tablename__ = "ablate_study"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16))  # grid | search
    spec_text: Mapped[str] = mapped_column(Text)  # the YAML as written
    spec_json: Mapped[dict] = mapped_column(JSON)  # the validated spec, defaults filled in
    spec_path: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class EstimateRow(Base):
    """What one ``ablate run`` expected the rest of its study to take when it started, and
    the wall time it then took (NULL until the study finished in that invocation)."""

    __tablename__ = "ablate_estimate"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(
        ForeignKey("ablate_study.id", ondelete="CASCADE"), index=True
    )
    made_at: Mapped[datetime] = mapped_column(DateTime)
    host: Mapped[str] = mapped_column(String(255))
    runs: Mapped[int] = mapped_column(Integer)  # runs left to finish when it was made
    slots: Mapped[int] = mapped_column(Integer)
    estimated_s: Mapped[float | None] = mapped_column(Float, nullable=True)  # NULL: no basis
    unknown_runs: Mapped[int] = mapped_column(Integer)  # runs left out of estimated_s
    sources: Mapped[str] = mapped_column(Text)  # "timed 12 epochs; probe 5 steps"
    took_s: Mapped[float | None] = mapped_column(Float, nullable=True)


class TrialRow(Base):
    """One attempt at one run (a cell at a seed). A retried run gets a new row, same run_key."""

    __tablename__ = "ablate_trial"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("ablate_study.id", ondelete="CASCADE"))
    optuna_trial_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    number: Mapped[int] = mapped_column(Integer)  # the Optuna trial number
    run_key: Mapped[str] = mapped_column(String(40))
    cell_key: Mapped[str] = mapped_column(Text)
    cell: Mapped[dict] = mapped_column(JSON)
    params: Mapped[dict] = mapped_column(JSON)
    seed: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))  # running|complete|failed|pruned|interrupted
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    config: Mapped[dict] = mapped_column(JSON)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    device: Mapped[str] = mapped_column(String(64), default="")
    versions: Mapped[dict] = mapped_column(JSON, default=dict)
    git_commit: Mapped[str] = mapped_column(String(64), default="")
    # `git diff HEAD` behind a '-dirty' git_commit ('' clean or outside git; NULL: not recorded)
    git_diff: Mapped[str | None] = mapped_column(Text, nullable=True)
    resumed_from_epoch: Mapped[int] = mapped_column(Integer, default=0)
    best_epoch: Mapped[int | None] = mapped_column(Integer, nullable=True)
    objective: Mapped[float | None] = mapped_column(Float, nullable=True)
    n_params: Mapped[int | None] = mapped_column(Integer, nullable=True)
    flops: Mapped[float | None] = mapped_column(Float, nullable=True)
    batch_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str] = mapped_column(Text, default="")
    # exception | oom | usage | died | '' (not failed); decides retries, see ErrorKind
    error_kind: Mapped[str] = mapped_column(String(16), default="", server_default="")
    threads: Mapped[int | None] = mapped_column(Integer, nullable=True)  # torch threads
    log_path: Mapped[str] = mapped_column(Text, default="")
    # '' (the study's own runs) | confirm (a search's best configurations over every seed)
    phase: Mapped[str] = mapped_column(String(16), default="", server_default="")
    data_path: Mapped[str] = mapped_column(
        String(16), default="", server_default=""
    )  # resident|stream
    peak_memory_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    __table_args__ = (
        Index("ix_ablate_trial_study_state", "study_id", "state"),
        Index("ix_ablate_trial_run_key", "run_key"),
        # The claim: at most one live (running) or complete attempt per run. Inserting a
        # running row is how a scheduler claims a run; losing the race is an IntegrityError.
        Index(
            "uq_ablate_trial_live_run",
            "study_id",
            "run_key",
            unique=True,
            sqlite_where=text("state IN ('running', 'complete')"),
            postgresql_where=text("state IN ('running', 'complete')"),
        ),
    )


class EpochRow(Base):
    __tablename__ = "ablate_epoch"
    trial_id: Mapped[int] = mapped_column(
        ForeignKey("ablate_trial.id", ondelete="CASCADE"), primary_key=True
    )
    epoch: Mapped[int] = mapped_column(Integer, primary_key=True)  # 1-based
    train_loss: Mapped[float] = mapped_column(Float)
    val_loss: Mapped[float] = mapped_column(Float)
    val_accuracy: Mapped[float] = mapped_column(Float)
    lr: Mapped[float] = mapped_column(Float)
    seconds: Mapped[float] = mapped_column(Float)


class EpochMetricRow(Base):
    """Loss terms and extras per epoch (e.g. loss.deep_supervision, cen.exchanged_fraction)."""

    __tablename__ = "ablate_epoch_metric"
    trial_id: Mapped[int] = mapped_column(
        ForeignKey("ablate_trial.id", ondelete="CASCADE"), primary_key=True
    )
    epoch: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[float] = mapped_column(Float)


class ResultRow(Base):
    """Final metrics of a complete trial on one split, taken at the best-validation epoch."""

    __tablename__ = "ablate_result"
    trial_id: Mapped[int] = mapped_column(
        ForeignKey("ablate_trial.id", ondelete="CASCADE"), primary_key=True
    )
    split: Mapped[str] = mapped_column(String(8), primary_key=True)  # val | test
    epoch: Mapped[int] = mapped_column(Integer)
    accuracy: Mapped[float] = mapped_column(Float)
    kappa: Mapped[float] = mapped_column(Float)
    macro_f1: Mapped[float] = mapped_column(Float)
    loss: Mapped[float] = mapped_column(Float)
    n_samples: Mapped[int] = mapped_column(Integer)


class ClassMetricRow(Base):
    __tablename__ = "ablate_class_metric"
    trial_id: Mapped[int] = mapped_column(
        ForeignKey("ablate_trial.id", ondelete="CASCADE"), primary_key=True
    )
    split: Mapped[str] = mapped_column(String(8), primary_key=True)
    class_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    class_name: Mapped[str] = mapped_column(String(64))
    accuracy: Mapped[float] = mapped_column(Float)  # recall of the class
    support: Mapped[int] = mapped_column(Integer)


class ConfusionRow(Base):
    __tablename__ = "ablate_confusion"
    trial_id: Mapped[int] = mapped_column(
        ForeignKey("ablate_trial.id", ondelete="CASCADE"), primary_key=True
    )
    split: Mapped[str] = mapped_column(String(8), primary_key=True)
    true_class: Mapped[int] = mapped_column(Integer, primary_key=True)
    pred_class: Mapped[int] = mapped_column(Integer, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


__all__ = [
    "SCHEMA_VERSION",
    "Base",
    "ClassMetricRow",
    "ConfusionRow",
    "EpochMetricRow",
    "EpochRow",
    "EstimateRow",
    "MetaRow",
    "ResultRow",
    "StudyRow",
    "TrialRow",
]
