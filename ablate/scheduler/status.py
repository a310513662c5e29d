"""``ablate status``: the picture of a study from the database, from any terminal (the
queries live in ``ablate.db``), and how long the rest of it should take."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from sqlalchemy import Engine

from ablate.db import StudyStatus, TrialStatus, get_study, stored_study, study_status
from ablate.db.ledger import epoch_seconds_by_cell
from ablate.errors import NotFoundError
from ablate.scheduler._estimate import StudyEstimate, estimate_study, eta_line
from ablate.scheduler._progress import phases_text
from ablate.spec import Scored, StudySpec, TrialConfig, chosen, grid_trials

__all__ = [
    "ConfirmPlan",
    "StudyStatus",
    "TrialStatus",
    "confirm_plan",
    "eta_line",
    "stored_study",
    "study_eta",
    "study_phases",
    "study_status",
]


@dataclass(frozen=True)
class ConfirmPlan:
    """Where a search with confirmation stands, as the scheduler would plan it now."""

    phases: tuple[tuple[str, int, int], ...]  # ('search', 60, 60), ('confirm', 4, 9)
    chosen: tuple[Scored, ...]  # the search trials that chose, once the search is done
    runs: tuple[TrialConfig, ...]  # the confirmation runs, once chosen
    complete: frozenset[str]  # run keys of the study's complete runs


def confirm_plan(engine: Engine | None, spec: StudySpec) -> ConfirmPlan | None:
    """The confirmation of ``spec`` from the runs ``engine`` holds (none: a new study); None
    for a study without ``search.confirm``."""
    if spec.search is None or spec.search.confirm is None:
        return None
    from ablate.scheduler._ledger import Ledger, read_ledger  # Optuna: only for these studies
    from ablate.scheduler._planner import Planner

    ledger = Ledger()
    if engine is not None:
        with contextlib.suppress(NotFoundError):  # a study not run yet
            ledger = read_ledger(engine, get_study(engine, spec.name).id)
    planner = Planner(spec, [])
    runs = planner.confirm_runs(ledger)
    picked = chosen(spec, ledger.scores.values()) if runs else []
    return ConfirmPlan(
        planner.phases(ledger), tuple(picked), tuple(runs), frozenset(ledger.complete)
    )


def study_phases(engine: Engine, name: str) -> str:
    """'search 60/60, confirm 4/9' for a search with confirmation; '' for any other study
    (or one whose stored spec no longer validates)."""
    stored = stored_study(engine, name)
    if stored is None or stored[0] is None:
        return ""
    plan = confirm_plan(engine, stored[0])
    return phases_text(plan.phases) if plan is not None else ""


def study_eta(engine: Engine, info: StudyStatus) -> StudyEstimate | None:
    """The rest of a grid study with running trials, on as many slots as run now; None for a
    search, a study with nothing running, or one whose stored spec no longer validates."""
    running = {t.run_key: t.epoch for t in info.trials if t.state == "running"}
    stored = stored_study(engine, info.name)
    if not running or stored is None or stored[0] is None or stored[0].search is not None:
        return None
    spec, complete = stored
    return estimate_study(
        grid_trials(spec),
        epoch_seconds_by_cell(engine, get_study(engine, info.name).id),
        complete=complete,
        epochs_done=running,
        slots=len(running),
    )
