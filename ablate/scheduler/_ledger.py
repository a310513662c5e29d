"""The scheduler's view of a study's runs (which are done, live, failed and how), and the
recovery of attempts whose owner is gone.

A RUNNING attempt whose owner is gone (same host, dead pid) or whose heartbeat is stale is
marked interrupted and its run becomes pending again; interruptions never count as failures.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import TrialState as OptunaState
from sqlalchemy import Engine

from ablate._files import pid_alive
from ablate.db import ErrorKind, TrialState, writer
from ablate.db import ledger as rows
from ablate.db.ledger import Attempt
from ablate.spec import Scored, cell_text

INTERRUPTED_MESSAGE = (
    "interrupted: its scheduler ({host}, pid {pid}) stopped without finishing it "
    "(power cut, kill, crash or Ctrl-C); the run resumes from its last epoch checkpoint"
)


@dataclass
class Ledger:
    """Every attempt of the study's runs, by run key (plain data: the planner's input)."""

    complete: set[str] = field(default_factory=set)
    live: set[str] = field(default_factory=set)  # running somewhere, owner alive
    pruned: set[str] = field(default_factory=set)
    failures: Counter[str] = field(default_factory=Counter)  # failed attempts (not interrupted)
    ooms: Counter[str] = field(default_factory=Counter)
    usage: dict[str, str] = field(default_factory=dict)  # run key -> its usage error
    attempts: Counter[str] = field(default_factory=Counter)
    last_params: dict[str, dict[str, Any]] = field(default_factory=dict)  # cell + params + seed
    objective: dict[str, float] = field(default_factory=dict)  # complete run -> its objective
    # a search's confirmation runs (phase 'confirm'), apart from its own trials
    confirm: set[str] = field(default_factory=set)
    scores: dict[str, Scored] = field(default_factory=dict)  # complete search trials


def build_ledger(attempts: Iterable[Attempt], *, keep: set[str] | None = None) -> Ledger:
    """The ledger of these attempts (only of the runs in ``keep``, when given)."""
    ledger = Ledger()
    for attempt in attempts:
        key = attempt.run_key
        if keep is not None and key not in keep:
            continue
        ledger.attempts[key] += 1
        if attempt.phase:
            ledger.confirm.add(key)
        else:
            ledger.last_params[key] = {**attempt.cell, **attempt.params, "seed": attempt.seed}
        match attempt.state:
            case TrialState.COMPLETE:
                ledger.complete.add(key)
                if attempt.objective is not None:
                    ledger.objective[key] = attempt.objective
                if not attempt.phase and attempt.objective is not None:
                    values = {**attempt.cell, **attempt.params}
                    ledger.scores[key] = Scored(attempt.number, attempt.objective, values)
            case TrialState.RUNNING:
                ledger.live.add(key)
            case TrialState.PRUNED:
                ledger.pruned.add(key)
            case TrialState.FAILED:
                ledger.failures[key] += 1
                if attempt.error_kind == ErrorKind.OOM:
                    ledger.ooms[key] += 1
                elif attempt.error_kind == ErrorKind.USAGE:
                    ledger.usage[key] = attempt.error_head
    return ledger


def read_ledger(engine: Engine, study_id: int, *, keep: set[str] | None = None) -> Ledger:
    return build_ledger(rows.study_attempts(engine, study_id), keep=keep)


def recover(
    engine: Engine,
    study: optuna.Study,
    study_id: int,
    *,
    host: str,
    own_rows: set[int],
    stale_after_s: float,
) -> list[str]:
    """Mark RUNNING attempts of dead owners interrupted and fail their Optuna trials."""
    now = writer.utcnow()
    notes: list[str] = []
    attempts = rows.study_attempts(engine, study_id)
    for attempt in attempts:
        if attempt.state != TrialState.RUNNING or attempt.id in own_rows:
            continue
        stale = now - attempt.heartbeat_at > timedelta(seconds=stale_after_s)
        mine = attempt.host == host
        gone = mine and (attempt.pid == os.getpid() or not pid_alive(attempt.pid))
        if not (stale or gone):
            continue
        error = INTERRUPTED_MESSAGE.format(host=attempt.host, pid=attempt.pid)
        if not rows.mark_interrupted(engine, attempt.id, error):
            continue  # another scheduler got there first
        notes.append(
            f"trial {attempt.number} [{cell_text({**attempt.cell, **attempt.params})}, seed "
            f"{attempt.seed}] was interrupted; it resumes from its last checkpoint"
        )
        if attempt.optuna_trial_id is not None:
            _fail_optuna(study, attempt.optuna_trial_id)
    _settle_orphans(engine, study, study_id, stale_after_s=stale_after_s)
    return notes


def _fail_optuna(study: optuna.Study, trial_id: int) -> None:
    with contextlib.suppress(UpdateFinishedTrialError, KeyError):  # already finished
        study._storage.set_trial_state_values(trial_id, OptunaState.FAIL)


def _settle_orphans(
    engine: Engine, study: optuna.Study, study_id: int, *, stale_after_s: float
) -> None:
    """Optuna trials left RUNNING by a crash between our write and Optuna's tell."""
    by_optuna_id = {
        a.optuna_trial_id: a
        for a in rows.study_attempts(engine, study_id)
        if a.optuna_trial_id is not None
    }
    now = datetime.now()  # Optuna stores local naive times
    for trial in study.get_trials(deepcopy=False, states=(OptunaState.RUNNING,)):
        attempt = by_optuna_id.get(trial._trial_id)
        if attempt is not None and attempt.state == TrialState.RUNNING:
            continue
        if (
            attempt is not None
            and attempt.state == TrialState.COMPLETE
            and attempt.objective is not None
        ):
            # its owner may tell Optuna at this very moment: whoever is second does nothing
            with contextlib.suppress(UpdateFinishedTrialError, KeyError):
                study._storage.set_trial_state_values(
                    trial._trial_id, OptunaState.COMPLETE, values=[attempt.objective]
                )
        elif attempt is not None or (
            trial.datetime_start is not None
            and (now - trial.datetime_start).total_seconds() > stale_after_s
        ):
            _fail_optuna(study, trial._trial_id)
