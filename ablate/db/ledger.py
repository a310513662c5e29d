"""The scheduler's reads and writes of trial rows: claims, heartbeats, recovery, attempts.

Everything returns plain frozen records; no ORM row leaves this module. A run is claimed by
inserting its RUNNING row; a partial unique index (one running or complete attempt per run)
makes that atomic across processes and machines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import IntegrityError

from ablate.db import writer
from ablate.db._engine import session_scope
from ablate.db._schema import EpochRow, TrialRow
from ablate.results import EpochResult, ErrorKind, TrialResult, TrialState


@dataclass(frozen=True)
class Attempt:
    """What the scheduler needs to know about one attempt at one run."""

    id: int
    run_key: str
    state: TrialState
    error_kind: ErrorKind
    error_head: str  # the first line of its error
    cell: dict[str, Any]
    params: dict[str, Any]
    seed: int
    number: int
    host: str
    pid: int
    heartbeat_at: datetime
    optuna_trial_id: int | None
    objective: float | None
    phase: str = ""  # '' for the study's own runs, 'confirm' for a search's confirmation


def study_attempts(engine: Engine, study_id: int) -> list[Attempt]:
    """Every attempt of a study, oldest first."""
    t = TrialRow
    columns = (
        t.id, t.run_key, t.state, t.error_kind, t.error, t.cell, t.params, t.seed, t.number,
        t.host, t.pid, t.heartbeat_at, t.optuna_trial_id, t.objective, t.phase,
    )  # fmt: skip
    with session_scope(engine) as session:
        rows = session.execute(select(*columns).where(t.study_id == study_id).order_by(t.id))
        return [_attempt(row._mapping) for row in rows]


def _attempt(row: Any) -> Attempt:
    return Attempt(
        id=row["id"],
        run_key=row["run_key"],
        state=TrialState(row["state"]),
        error_kind=ErrorKind(row["error_kind"] or ""),
        error_head=row["error"].splitlines()[0] if row["error"] else "",
        cell=row["cell"],
        params=row["params"],
        seed=row["seed"],
        number=row["number"],
        host=row["host"],
        pid=row["pid"],
        heartbeat_at=row["heartbeat_at"],
        optuna_trial_id=row["optuna_trial_id"],
        objective=row["objective"],
        phase=row["phase"] or "",
    )


def epoch_seconds_by_cell(engine: Engine, study_id: int) -> dict[str, tuple[float, int]]:
    """(sum of epoch seconds, epochs) per cell key over the study's recorded epochs."""
    with session_scope(engine) as session:
        rows = session.execute(
            select(TrialRow.cell_key, func.sum(EpochRow.seconds), func.count())
            .join(EpochRow, EpochRow.trial_id == TrialRow.id)
            .where(TrialRow.study_id == study_id)
            .group_by(TrialRow.cell_key)
        )
        return {key: (float(total), int(count)) for key, total, count in rows}


def claim(engine: Engine, **fields: Any) -> int | None:
    """Insert the RUNNING row of a run; None if another attempt is running or complete."""
    try:
        with session_scope(engine) as session:
            return writer.start_trial(session, **fields)
    except IntegrityError:
        return None


def unclaim(engine: Engine, row_id: int) -> None:
    """Take back a claim whose start failed (as if it had never been made)."""
    with session_scope(engine) as session:
        writer.delete_trial(session, row_id)


def set_fields(engine: Engine, row_id: int, **fields: Any) -> None:
    with session_scope(engine) as session:
        writer.set_trial_fields(session, row_id, **fields)


def heartbeat(engine: Engine, row_ids: list[int]) -> None:
    """The owning scheduler is alive and these trials are still training."""
    with session_scope(engine) as session:
        writer.touch_trials(session, row_ids)


def mark_interrupted(engine: Engine, row_id: int, error: str) -> bool:
    """A RUNNING attempt whose owner is gone becomes interrupted; False if it was not running
    any more (another process got there first)."""
    with session_scope(engine) as session:
        changed = session.execute(
            update(TrialRow)
            .where(TrialRow.id == row_id, TrialRow.state == TrialState.RUNNING)
            .values(state=TrialState.INTERRUPTED, finished_at=writer.utcnow(), error=error)
        ).rowcount
    return bool(changed)


def log_path(engine: Engine, row_id: int) -> str:
    with session_scope(engine) as session:
        return str(session.scalar(select(TrialRow.log_path).where(TrialRow.id == row_id)) or "")


def upsert_study(
    engine: Engine, *, name: str, description: str, kind: str, spec_json: dict[str, Any],
    spec_text: str, spec_path: str,
) -> int:  # fmt: skip
    """Create the study row, or refresh its stored spec (trials are kept). Returns its id."""
    with session_scope(engine) as session:
        return writer.upsert_study(
            session, name=name, description=description, kind=kind, spec_json=spec_json,
            spec_text=spec_text, spec_path=spec_path,
        )  # fmt: skip


def record_epoch(engine: Engine, row_id: int, result: EpochResult) -> None:
    with session_scope(engine) as session:
        writer.record_epoch(session, row_id, result)


def complete(engine: Engine, row_id: int, result: TrialResult, *, device: str) -> bool:
    """Store a complete trial's final metrics; False (nothing written) when its row is no
    longer running (another scheduler marked it interrupted: see ``reclaim``)."""
    assert result.objective is not None
    with session_scope(engine) as session:
        done = writer.complete_trial(
            session, row_id, best_epoch=result.best_epoch, objective=result.objective,
            splits=result.splits, n_params=result.n_params, flops=result.flops,
            batch_size=result.batch_size,
        )  # fmt: skip
        if done:
            writer.set_trial_fields(
                session, row_id, device=device, resumed_from_epoch=result.resumed_from_epoch,
                data_path=result.data_path, peak_memory_bytes=result.peak_memory_bytes,
            )  # fmt: skip
        return done


def reclaim(engine: Engine, row_id: int) -> bool:
    """Make an attempt another scheduler marked interrupted running again; False when another
    attempt of the same run is running or complete by now (then that one stands)."""
    try:
        with session_scope(engine) as session:
            writer.reclaim_trial(session, row_id)
    except IntegrityError:
        return False
    return True


def end(
    engine: Engine, row_id: int, *, state: TrialState, error: str, error_kind: ErrorKind
) -> None:
    with session_scope(engine) as session:
        writer.end_trial(session, row_id, state=state, error=error, error_kind=error_kind)
