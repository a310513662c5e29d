"""Writes. Only the scheduler calls these, each inside one ``session_scope`` transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from ablate.db._schema import (
    ClassMetricRow,
    ConfusionRow,
    EpochMetricRow,
    EpochRow,
    ResultRow,
    StudyRow,
    TrialRow,
)
from ablate.results import METRICS, EpochResult, ErrorKind, SplitScores


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def upsert_study(
    session: Session,
    *,
    name: str,
    description: str,
    kind: str,
    spec_json: dict[str, Any],
    spec_text: str,
    spec_path: str,
) -> int:
    """Create the study row, or refresh its stored spec (trials are kept). Returns its id."""
    row = session.scalar(select(StudyRow).where(StudyRow.name == name))
    now = utcnow()
    if row is None:
        row = StudyRow(name=name, created_at=now, kind=kind, spec_text=spec_text)
        session.add(row)
    row.description, row.kind, row.spec_json = description, kind, spec_json
    row.spec_text, row.spec_path, row.updated_at = spec_text, spec_path, now
    session.flush()
    return row.id


def start_trial(session: Session, **fields: Any) -> int:
    """Insert a RUNNING trial row; ``fields`` are TrialRow columns. Returns the row id."""
    now = utcnow()
    row = TrialRow(state="running", started_at=now, heartbeat_at=now, **fields)
    session.add(row)
    session.flush()
    return row.id


def touch_trials(session: Session, trial_ids: list[int]) -> None:
    """Heartbeat: the owning scheduler is alive and these trials are still training."""
    if trial_ids:
        session.execute(
            update(TrialRow).where(TrialRow.id.in_(trial_ids)).values(heartbeat_at=utcnow())
        )


def record_epoch(session: Session, trial_id: int, result: EpochResult) -> None:
    """Store one epoch (replacing a row of the same epoch, so replays are idempotent)."""
    session.execute(
        delete(EpochMetricRow).where(
            EpochMetricRow.trial_id == trial_id, EpochMetricRow.epoch == result.epoch
        )
    )
    session.merge(
        EpochRow(
            trial_id=trial_id,
            epoch=result.epoch,
            train_loss=result.train_loss,
            val_loss=result.val_loss,
            val_accuracy=result.val_accuracy,
            lr=result.lr,
            seconds=result.seconds,
        )
    )
    session.add_all(
        EpochMetricRow(trial_id=trial_id, epoch=result.epoch, name=name, value=float(value))
        for name, value in sorted(result.extras.items())
    )
    session.execute(update(TrialRow).where(TrialRow.id == trial_id).values(heartbeat_at=utcnow()))


def _add_split(session: Session, trial_id: int, scores: SplitScores) -> None:
    if scores.classes is None:
        raise ValueError(f"the {scores.split} scores to store have no per-class part")
    session.add(
        ResultRow(
            trial_id=trial_id,
            split=scores.split,
            epoch=scores.epoch,
            n_samples=scores.n_samples,
            **{metric.name: getattr(scores, metric.name) for metric in METRICS},
        )
    )
    classes = scores.classes
    session.add_all(
        ClassMetricRow(
            trial_id=trial_id,
            split=scores.split,
            class_index=index,
            class_name=name,
            accuracy=accuracy,
            support=support,
        )
        for index, (name, accuracy, support) in enumerate(
            zip(classes.names, classes.accuracy, classes.support, strict=True)
        )
    )
    session.add_all(
        ConfusionRow(
            trial_id=trial_id,
            split=scores.split,
            true_class=true_class,
            pred_class=pred_class,
            count=count,
        )
        for true_class, row in enumerate(classes.confusion)
        for pred_class, count in enumerate(row)
    )


def complete_trial(
    session: Session,
    trial_id: int,
    *,
    best_epoch: int,
    objective: float,
    splits: tuple[SplitScores, ...],
    n_params: int | None,
    flops: float | None,
    batch_size: int | None,
) -> bool:
    """Mark a RUNNING trial complete with its final metrics; False (nothing written) when the
    row is no longer running, i.e. another scheduler took it over (see ``reclaim_trial``)."""
    updated = session.execute(
        update(TrialRow)
        .where(TrialRow.id == trial_id, TrialRow.state == "running")
        .values(
            state="complete",
            finished_at=utcnow(),
            best_epoch=best_epoch,
            objective=objective,
            n_params=n_params,
            flops=flops,
            batch_size=batch_size,
        )
    ).rowcount
    if not updated:
        return False
    for metrics in splits:
        _add_split(session, trial_id, metrics)
    return True


def reclaim_trial(session: Session, trial_id: int) -> None:
    """Make an attempt that another scheduler marked interrupted (its heartbeat was late, its
    owner alive) running again. Raises IntegrityError when another attempt of the same run is
    running or complete by now: then that one stands."""
    session.execute(
        update(TrialRow)
        .where(TrialRow.id == trial_id, TrialRow.state == "interrupted")
        .values(state="running", finished_at=None, heartbeat_at=utcnow(), error="")
    )
    session.flush()


def end_trial(
    session: Session,
    trial_id: int,
    *,
    state: str,
    error: str = "",
    error_kind: ErrorKind = ErrorKind.NONE,
) -> None:
    """Mark a trial failed, pruned or interrupted (with its traceback or reason)."""
    session.execute(
        update(TrialRow)
        .where(TrialRow.id == trial_id, TrialRow.state != "complete")
        .values(state=state, finished_at=utcnow(), error=error, error_kind=str(error_kind))
    )


def delete_trial(session: Session, trial_id: int) -> None:
    """Remove an attempt that never started (its claim was taken back)."""
    session.execute(delete(TrialRow).where(TrialRow.id == trial_id))


def set_trial_fields(session: Session, trial_id: int, **fields: Any) -> None:
    session.execute(update(TrialRow).where(TrialRow.id == trial_id).values(**fields))
