"""Every write a running study makes about one trial, in one place: ablate's rows and the
matching Optuna tells.

Each write is safe against another scheduler having acted on the same trial first. A
machine whose heartbeat was late (overloaded, suspended) can find its running trial marked
interrupted by another machine's recovery, and that trial's Optuna twin already failed; a
recovery can also settle an Optuna trial between our row write and our tell. Neither may
crash the study: the row decides, Optuna's tell is skipped when its trial is already
finished, and a result whose run another attempt now holds is dropped, with a reason.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import TrialState
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from ablate.db import EpochValues, ErrorKind, SplitMetrics, session_scope, writer


@dataclass(frozen=True)
class Outcome:
    """What a complete result became: stored, or dropped because another attempt holds it."""

    stored: bool
    reason: str = ""


class Recorder:
    def __init__(self, engine: Engine, study: optuna.Study) -> None:
        self.engine, self.study = engine, study

    def epoch(self, row_id: int, values: EpochValues) -> None:
        with session_scope(self.engine) as session:
            writer.record_epoch(session, row_id, values)

    def complete(
        self,
        row_id: int,
        trial: optuna.Trial,
        *,
        best_epoch: int,
        objective: float,
        splits: list[SplitMetrics],
        n_params: int | None,
        flops: float | None,
        batch_size: int | None,
        device: str,
        resumed_from_epoch: int,
    ) -> Outcome:
        def write() -> bool:
            with session_scope(self.engine) as session:
                done = writer.complete_trial(
                    session, row_id, best_epoch=best_epoch, objective=objective, splits=splits,
                    n_params=n_params, flops=flops, batch_size=batch_size,
                )  # fmt: skip
                if done:
                    writer.set_trial_fields(
                        session, row_id, device=device, resumed_from_epoch=resumed_from_epoch
                    )
                return done

        if not write():
            try:  # our row was marked interrupted while we trained: take it back if we can
                with session_scope(self.engine) as session:
                    writer.reclaim_trial(session, row_id)
            except IntegrityError:
                return Outcome(
                    False,
                    "another machine took this run over while its heartbeat was late; "
                    "that attempt's result stands and this one is dropped",
                )
            if not write():
                return Outcome(False, "the trial row was changed by another process")
        self.tell(trial, values=objective)
        return Outcome(True)

    def end(
        self,
        row_id: int,
        trial: optuna.Trial | None,
        *,
        state: str,
        error: str,
        error_kind: ErrorKind = ErrorKind.NONE,
    ) -> None:
        """A trial that failed, was pruned or interrupted."""
        with session_scope(self.engine) as session:
            writer.end_trial(session, row_id, state=state, error=error, error_kind=error_kind)
        if trial is not None:
            optuna_state = TrialState.PRUNED if state == "pruned" else TrialState.FAIL
            self.tell(trial, state=optuna_state)

    def tell(
        self, trial: optuna.Trial, *, values: float | None = None, state: TrialState | None = None
    ) -> None:
        """Optuna's tell, a no-op when another process already finished the trial."""
        with contextlib.suppress(UpdateFinishedTrialError):
            self.study.tell(trial, values, state=state, skip_if_finished=True)
