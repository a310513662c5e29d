"""What ``ablate status`` shows and what ``ablate run`` compares with: a study as the database
holds it, readable from any terminal while a run writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ablate.db._read import get_study, study_trials
from ablate.db._schema import EpochRow, StudyRow, TrialRow
from ablate.db.writer import utcnow
from ablate.errors import NotFoundError
from ablate.spec import StudySpec


@dataclass(frozen=True)
class TrialStatus:
    number: int
    run_key: str
    cell: dict
    seed: int
    state: str
    attempt: int
    epoch: int
    epochs: int
    host: str
    device: str
    heartbeat_age_s: float
    error: str
    log_path: str
    phase: str = ""  # 'confirm' for a search's confirmation run


@dataclass(frozen=True)
class StudyStatus:
    name: str
    kind: str
    counts: dict[str, int]
    trials: tuple[TrialStatus, ...]
    updated_at: datetime


def study_status(engine: Engine, name: str) -> StudyStatus:
    """Counts by state, plus every running, failed or interrupted trial with its last epoch."""
    record = get_study(engine, name)
    now = utcnow()
    with Session(engine) as session:
        counts = dict(
            session.execute(
                select(TrialRow.state, func.count())
                .where(TrialRow.study_id == record.id)
                .group_by(TrialRow.state)
            ).all()
        )
        last_epoch = (
            select(EpochRow.trial_id, func.max(EpochRow.epoch).label("epoch"))
            .group_by(EpochRow.trial_id)
            .subquery()
        )
        rows = session.execute(
            select(TrialRow, last_epoch.c.epoch)
            .outerjoin(last_epoch, last_epoch.c.trial_id == TrialRow.id)
            .where(
                TrialRow.study_id == record.id,
                TrialRow.state.in_(("running", "failed", "interrupted")),
            )
            .order_by(TrialRow.id)
        ).all()
        trials = tuple(
            TrialStatus(
                number=row.number,
                run_key=row.run_key,
                cell={**row.cell, **row.params},
                seed=row.seed,
                state=row.state,
                attempt=row.attempt,
                epoch=epoch or 0,
                epochs=int(row.config.get("train", {}).get("epochs", 0)),
                host=row.host,
                device=row.device,
                heartbeat_age_s=(now - row.heartbeat_at).total_seconds(),
                error=row.error,
                log_path=row.log_path,
                phase=row.phase or "",
            )
            for row, epoch in rows
        )
        updated = session.scalar(select(StudyRow.updated_at).where(StudyRow.id == record.id))
    return StudyStatus(
        name=record.name, kind=record.kind, counts=counts, trials=trials, updated_at=updated
    )


def stored_study(engine: Engine, name: str) -> tuple[StudySpec | None, set[str]] | None:
    """The study as it last ran (None if its stored spec no longer validates) and the run keys
    of its finished runs; None for a study the database does not hold."""
    try:
        record = get_study(engine, name)
    except NotFoundError:
        return None
    try:
        spec: StudySpec | None = StudySpec.model_validate(record.spec)
    except ValueError:
        spec = None
    states = ("complete",) if record.kind == "grid" else ("complete", "pruned")
    return spec, {t.run_key for t in study_trials(engine, name, states=states)}
