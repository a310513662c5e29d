"""Read-only queries returning frozen records. Safe on a copy of the database on a laptop."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ablate.db._records import StudyRecord, StudySummary, TrialRecord
from ablate.db._schema import (
    ClassMetricRow,
    ConfusionRow,
    EpochMetricRow,
    EpochRow,
    ResultRow,
    StudyRow,
    TrialRow,
)
from ablate.errors import NotFoundError
from ablate.spec._names import suggest


def study_row(session: Session, name: str) -> StudyRow:
    row = session.scalar(select(StudyRow).where(StudyRow.name == name))
    if row is None:
        names = list(session.scalars(select(StudyRow.name)))
        hint = suggest(name, names) or (
            f"; the database holds: {', '.join(sorted(names))}."
            if names
            else "; the database holds no studies yet: run 'ablate run STUDY.yaml' first."
        )
        raise NotFoundError(f"No study named '{name}' in the results database{hint}")
    return row


def get_study(engine: Engine, name: str) -> StudyRecord:
    with Session(engine) as session:
        row = study_row(session, name)
        return StudyRecord(
            id=row.id,
            name=row.name,
            description=row.description,
            kind=row.kind,
            spec=row.spec_json,
            spec_path=row.spec_path,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


def list_studies(engine: Engine) -> list[StudySummary]:
    """Every study with its trials counted by state (all states, interrupted included);
    ``updated_at`` is the last trial activity (a start, heartbeat or end), or the time the
    study was written when it has no trial yet."""
    t = TrialRow
    with Session(engine) as session:
        counts: dict[int, Counter[str]] = {}
        for study_id, state, n in session.execute(
            select(t.study_id, t.state, func.count()).group_by(t.study_id, t.state)
        ):
            counts.setdefault(study_id, Counter())[state] = n
        last: dict[int, datetime] = {}
        activity = (func.max(t.started_at), func.max(t.heartbeat_at), func.max(t.finished_at))
        for study_id, *times in session.execute(
            select(t.study_id, *activity).group_by(t.study_id)
        ):
            known = [time for time in times if time is not None]
            if known:
                last[study_id] = max(known)
        return [
            StudySummary(
                name=row.name,
                kind=row.kind,
                description=row.description,
                counts=dict(counts.get(row.id, Counter())),
                updated_at=last.get(row.id, row.updated_at),
            )
            for row in session.scalars(select(StudyRow).order_by(StudyRow.name))
        ]


def _trial_record(row: TrialRow) -> TrialRecord:
    return TrialRecord(
        id=row.id,
        number=row.number,
        run_key=row.run_key,
        cell_key=row.cell_key,
        cell=row.cell,
        params=row.params,
        seed=row.seed,
        state=row.state,
        attempt=row.attempt,
        started_at=row.started_at,
        finished_at=row.finished_at,
        heartbeat_at=row.heartbeat_at,
        host=row.host,
        pid=row.pid,
        device=row.device,
        git_commit=row.git_commit,
        best_epoch=row.best_epoch,
        objective=row.objective,
        n_params=row.n_params,
        flops=row.flops,
        error=row.error,
        resumed_from_epoch=row.resumed_from_epoch,
        config=row.config,
        versions=row.versions,
        log_path=row.log_path,
        batch_size=row.batch_size,
        data_path=row.data_path,
        peak_memory_bytes=row.peak_memory_bytes,
    )


def study_trials(engine: Engine, name: str, *, states: tuple[str, ...] = ()) -> list[TrialRecord]:
    with Session(engine) as session:
        study = study_row(session, name)
        query = select(TrialRow).where(TrialRow.study_id == study.id)
        if states:
            query = query.where(TrialRow.state.in_(states))
        return [_trial_record(r) for r in session.scalars(query.order_by(TrialRow.id))]


# --- Whole-study reads for tables, figures and exports: one query each, no N+1. ---------


@dataclass(frozen=True)
class TrialOutcome:
    """What a table needs about one attempt (no resolved config: it is large and unused)."""

    id: int
    number: int
    run_key: str
    cell_key: str
    seed: int
    state: str
    attempt: int
    params: dict[str, Any]
    objective: float | None
    best_epoch: int | None
    error: str
    started_at: datetime
    finished_at: datetime | None
    host: str
    git_commit: str
    device: str
    phase: str = ""  # '' for the study's own runs, 'confirm' for a search's confirmation


def trial_outcomes(engine: Engine, name: str) -> list[TrialOutcome]:
    """Every attempt of a study (all states), oldest first."""
    t = TrialRow
    columns = (
        t.id, t.number, t.run_key, t.cell_key, t.seed, t.state, t.attempt, t.params,
        t.objective, t.best_epoch, t.error, t.started_at, t.finished_at, t.host,
        t.git_commit, t.device, t.phase,
    )  # fmt: skip
    with Session(engine) as session:
        study = study_row(session, name)
        rows = session.execute(select(*columns).where(t.study_id == study.id).order_by(t.id))
        return [TrialOutcome(*row) for row in rows]


@dataclass(frozen=True)
class TrialCost:
    """Size and compute of one complete trial's model (None where it was not counted)."""

    trial_id: int
    n_params: int | None
    flops: float | None  # forward FLOPs per sample (a multiply-add counts 2)


def trial_costs(engine: Engine, name: str) -> dict[int, TrialCost]:
    """Parameter count and FLOPs of every complete trial of a study, by trial id."""
    t = TrialRow
    with Session(engine) as session:
        study = study_row(session, name)
        rows = session.execute(
            select(t.id, t.n_params, t.flops).where(t.study_id == study.id, t.state == "complete")
        )
        return {row[0]: TrialCost(*row) for row in rows}


_EXPORT_TABLES = {
    "trials": TrialRow,
    "results": ResultRow,
    "class_metrics": ClassMetricRow,
    "confusion": ConfusionRow,
    "epochs": EpochRow,
    "epoch_metrics": EpochMetricRow,
}
EXPORT_TABLES = tuple(_EXPORT_TABLES)


def export_rows(engine: Engine, name: str, table: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and rows of one of ``EXPORT_TABLES``, restricted to one study."""
    model = _EXPORT_TABLES[table]
    columns = [c for c in model.__table__.columns if c.name != "study_id"]
    with Session(engine) as session:
        study = study_row(session, name)
        query = select(*columns)
        if model is TrialRow:
            query = query.where(TrialRow.study_id == study.id)
        else:
            query = query.join(TrialRow, TrialRow.id == model.trial_id).where(
                TrialRow.study_id == study.id
            )
        order = [model.__table__.c[k.name] for k in model.__table__.primary_key.columns]
        rows = [tuple(r) for r in session.execute(query.order_by(*order))]
    return [c.name for c in columns], rows
