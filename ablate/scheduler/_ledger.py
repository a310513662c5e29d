"""The scheduler's view of the database: which runs are done, live, failed; claims; recovery.

A run is claimed by inserting its RUNNING trial row; a partial unique index makes that atomic
across processes and machines. A RUNNING row whose owner is gone (same host, dead pid) or whose
heartbeat is stale is marked 'interrupted' and its run becomes pending again.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import TrialState
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError

from ablate.db import ErrorKind, session_scope, writer
from ablate.db._schema import EpochRow, TrialRow
from ablate.spec import cell_text

INTERRUPTED_MESSAGE = (
    "interrupted: its scheduler ({host}, pid {pid}) stopped without finishing it "
    "(power cut, kill, crash or Ctrl-C); the run resumes from its last epoch checkpoint"
)


@dataclass
class Ledger:
    complete: set[str] = field(default_factory=set)
    live: set[str] = field(default_factory=set)  # running somewhere, owner alive
    failures: Counter[str] = field(default_factory=Counter)  # failed attempts (not interrupted)
    ooms: Counter[str] = field(default_factory=Counter)
    usage: dict[str, str] = field(default_factory=dict)  # run key -> its usage error
    attempts: Counter[str] = field(default_factory=Counter)
    pruned: set[str] = field(default_factory=set)
    last_params: dict[str, dict[str, Any]] = field(default_factory=dict)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_ledger(engine: Engine, study_id: int, *, keep: set[str] | None = None) -> Ledger:
    """Every attempt of the study's runs (only those in ``keep``, when given)."""
    ledger = Ledger()
    with session_scope(engine) as session:
        rows = session.execute(
            select(
                TrialRow.run_key,
                TrialRow.state,
                TrialRow.error,
                TrialRow.error_kind,
                TrialRow.cell,
                TrialRow.params,
            )
            .where(TrialRow.study_id == study_id)
            .order_by(TrialRow.id)
        )
        for run_key, state, error, error_kind, cell, params in rows:
            if keep is not None and run_key not in keep:
                continue
            ledger.attempts[run_key] += 1
            ledger.last_params[run_key] = {**cell, **params}
            if state == "complete":
                ledger.complete.add(run_key)
            elif state == "running":
                ledger.live.add(run_key)
            elif state == "pruned":
                ledger.pruned.add(run_key)
            elif state == "failed":
                ledger.failures[run_key] += 1
                if error_kind == ErrorKind.OOM:
                    ledger.ooms[run_key] += 1
                elif error_kind == ErrorKind.USAGE:
                    ledger.usage[run_key] = error.splitlines()[0] if error else ""
    return ledger


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
    """Insert the RUNNING row for a run; None if another attempt is live or complete."""
    try:
        with session_scope(engine) as session:
            return writer.start_trial(session, **fields)
    except IntegrityError:
        return None


def unclaim(engine: Engine, row_id: int) -> None:
    """Take back a claim whose start failed (as if it had never been made)."""
    with session_scope(engine) as session:
        writer.delete_trial(session, row_id)


def recover(
    engine: Engine,
    study: optuna.Study,
    study_id: int,
    *,
    host: str,
    own_rows: set[int],
    stale_after_s: float,
) -> list[str]:
    """Mark RUNNING rows of dead owners interrupted and fail their Optuna trials."""
    now = writer.utcnow()
    notes: list[str] = []
    with session_scope(engine) as session:
        rows = session.scalars(
            select(TrialRow).where(TrialRow.study_id == study_id, TrialRow.state == "running")
        ).all()
        for row in rows:
            if row.id in own_rows:
                continue
            stale = now - row.heartbeat_at > timedelta(seconds=stale_after_s)
            gone = row.host == host and (row.pid == os.getpid() or not pid_alive(row.pid))
            if not (stale or gone):
                continue
            row.state, row.finished_at = "interrupted", now
            row.error = INTERRUPTED_MESSAGE.format(host=row.host, pid=row.pid)
            notes.append(
                f"trial {row.number} [{cell_text({**row.cell, **row.params})}, seed {row.seed}] "
                "was interrupted; it resumes from its last checkpoint"
            )
            if row.optuna_trial_id is not None:
                _fail_optuna(study, row.optuna_trial_id)
    _settle_orphans(engine, study, study_id, stale_after_s=stale_after_s)
    return notes


def _fail_optuna(study: optuna.Study, trial_id: int) -> None:
    with contextlib.suppress(UpdateFinishedTrialError, KeyError):  # already finished
        study._storage.set_trial_state_values(trial_id, TrialState.FAIL)


def _settle_orphans(
    engine: Engine, study: optuna.Study, study_id: int, *, stale_after_s: float
) -> None:
    """Optuna trials left RUNNING by a crash between our write and Optuna's tell."""
    with session_scope(engine) as session:
        by_optuna_id = {
            row.optuna_trial_id: row
            for row in session.scalars(select(TrialRow).where(TrialRow.study_id == study_id))
            if row.optuna_trial_id is not None
        }
    now = datetime.now()  # Optuna stores local naive times
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        row = by_optuna_id.get(trial._trial_id)
        if row is not None and row.state == "running":
            continue
        if row is not None and row.state == "complete" and row.objective is not None:
            # its owner may tell Optuna at this very moment: whoever is second does nothing
            with contextlib.suppress(UpdateFinishedTrialError, KeyError):
                study._storage.set_trial_state_values(
                    trial._trial_id, TrialState.COMPLETE, values=[row.objective]
                )
        elif row is not None or (
            trial.datetime_start is not None
            and (now - trial.datetime_start).total_seconds() > stale_after_s
        ):
            _fail_optuna(study, trial._trial_id)
