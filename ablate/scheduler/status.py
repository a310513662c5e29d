"""``ablate status``: the picture of a study from the database, from any terminal (the
queries live in ``ablate.db``), and how long the rest of it should take."""

from __future__ import annotations

from sqlalchemy import Engine

from ablate.db import StudyStatus, TrialStatus, get_study, stored_study, study_status
from ablate.db.ledger import epoch_seconds_by_cell
from ablate.scheduler._estimate import StudyEstimate, estimate_study, eta_line
from ablate.spec import grid_trials

__all__ = [
    "StudyStatus",
    "TrialStatus",
    "eta_line",
    "stored_study",
    "study_eta",
    "study_status",
]


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
