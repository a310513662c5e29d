"""Every write a running study makes, in one place: ablate's rows and the matching Optuna calls.

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
from typing import Any

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import TrialState as OptunaState
from sqlalchemy import Engine

from ablate.db import (
    ErrorKind,
    TrialState,
    database_lock,
    delete_study,
    optuna_engine_policy,
    study_trials,
)
from ablate.db import ledger as rows
from ablate.errors import AblateError
from ablate.results import EpochResult, TrialResult
from ablate.scheduler._optuna import all_distributions, fixed_trial, open_study


@dataclass(frozen=True)
class Outcome:
    """What a complete result became: stored, or dropped because another attempt holds it."""

    stored: bool
    reason: str = ""


class Recorder:
    def __init__(self, url: str, engine: Engine, study: optuna.Study, study_id: int) -> None:
        self.url, self.engine, self.study, self.study_id = url, engine, study, study_id

    @classmethod
    def open(
        cls, spec: Any, *, url: str, engine: Engine, spec_text: str, spec_path: str
    ) -> Recorder:
        """Create or refresh the study row and its Optuna study (once across processes and
        hosts: two schedulers starting together would both try)."""
        with database_lock(engine):
            study_id = rows.upsert_study(
                engine,
                name=spec.name,
                description=spec.description,
                kind=spec.kind,
                spec_json=spec.model_dump(mode="json"),
                spec_text=spec_text,
                spec_path=spec_path,
            )
            storage = optuna.storages.RDBStorage(url, engine_kwargs={"pool_pre_ping": True})
            optuna_engine_policy(storage.engine)  # WAL, synchronous=FULL, busy timeout
            study = open_study(spec, storage)
        return cls(url, engine, study, study_id)

    def forget_if_unstarted(self, name: str) -> None:
        """Delete a study this invocation created that never got a trial (a typo found by
        the preflight, Ctrl-C during data preparation): no empty row is left behind."""
        with contextlib.suppress(AblateError):
            if not study_trials(self.engine, name):
                delete_study(self.url, name)

    # ----------------------------------------------------------------- claims
    def claim(self, **fields: Any) -> int | None:
        """Insert the RUNNING row of a run; None if another attempt holds it."""
        return rows.claim(self.engine, study_id=self.study_id, number=-1, **fields)

    def started(self, row_id: int, trial: optuna.Trial) -> None:
        rows.set_fields(self.engine, row_id, number=trial.number, optuna_trial_id=trial._trial_id)

    def trial_for(self, spec: Any, planned: Any) -> optuna.Trial:
        """The Optuna twin of a grid run, or of a retried searched run.

        A grid run's cell and seed are user attributes, not Optuna parameters: Optuna fixes a
        categorical parameter's choices for good, so a study could never grow by a seed or a
        grid value. A search's confirmation run is one too (with its searched values and
        phase): it never enters the sampler's or fANOVA's view of the search space. A
        retried searched run repeats its sampled parameters exactly."""
        if spec.search is None or planned.phase:
            attrs = {"cell": planned.cell, "seed": planned.seed, "run_key": planned.run_key}
            if planned.phase:
                attrs.update(phase=planned.phase, params=planned.params)
            return fixed_trial(self.study, {}, {}, user_attrs=attrs)
        params = {**planned.cell, "seed": planned.seed, **planned.params}
        distributions = all_distributions(spec)
        return fixed_trial(self.study, params, {k: distributions[k] for k in params})

    def end_sampled(self, trial: optuna.Trial) -> None:
        """A sampled trial whose run another process claimed first: it never ran."""
        self.tell(trial, state=OptunaState.FAIL)

    def unclaim(self, row_id: int) -> None:
        rows.unclaim(self.engine, row_id)

    def heartbeat(self, row_ids: list[int]) -> None:
        if row_ids:
            rows.heartbeat(self.engine, row_ids)

    def log_path(self, row_id: int) -> str:
        return rows.log_path(self.engine, row_id)

    # ---------------------------------------------------------------- results
    def epoch(self, row_id: int, result: EpochResult) -> None:
        rows.record_epoch(self.engine, row_id, result)

    def complete(
        self, row_id: int, trial: optuna.Trial, result: TrialResult, *, device: str
    ) -> Outcome:
        stored = rows.complete(self.engine, row_id, result, device=device)
        if not stored:  # our row was marked interrupted while we trained: take it back?
            if not rows.reclaim(self.engine, row_id):
                return Outcome(
                    False,
                    "another machine took this run over while its heartbeat was late; "
                    "that attempt's result stands and this one is dropped",
                )
            if not rows.complete(self.engine, row_id, result, device=device):
                return Outcome(False, "the trial row was changed by another process")
        self.tell(trial, values=result.objective)
        return Outcome(True)

    def end(
        self,
        row_id: int,
        trial: optuna.Trial | None,
        *,
        state: TrialState,
        error: str,
        error_kind: ErrorKind = ErrorKind.NONE,
    ) -> None:
        """A trial that failed, was pruned or interrupted."""
        rows.end(self.engine, row_id, state=state, error=error, error_kind=error_kind)
        if trial is not None:
            pruned = state == TrialState.PRUNED
            self.tell(trial, state=OptunaState.PRUNED if pruned else OptunaState.FAIL)

    def tell(
        self, trial: optuna.Trial, *, values: float | None = None, state: OptunaState | None = None
    ) -> None:
        """Optuna's tell, a no-op when another process already finished the trial."""
        with contextlib.suppress(UpdateFinishedTrialError):
            self.study.tell(trial, values, state=state, skip_if_finished=True)
