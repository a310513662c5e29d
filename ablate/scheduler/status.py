"""``ablate status``: the picture of a study from the database, from any terminal (the
queries live in ``ablate.db``), and how long the rest of it should take."""

from __future__ import annotations

from sqlalchemy import Engine

from ablate.db import StudyStatus, TrialStatus, get_study, stored_study, study_status
from ablate.db.estimates import last_estimate
from ablate.db.ledger import epoch_seconds_by_cell
from ablate.scheduler._estimate import (
    StudyEstimate,
    error_line,
    estimate_search,
    estimate_study,
    eta_line,
)
from ablate.spec import grid_trials

__all__ = [
    "StudyStatus",
    "TrialStatus",
    "eta_line",
    "finished_line",
    "stored_study",
    "study_eta",
    "study_status",
]


def study_eta(engine: Engine, info: StudyStatus) -> StudyEstimate | None:
    """The rest of a study with running trials, on as many slots as run now (a search: its
    trials still to finish at its mean epoch time, pruning not assumed); None for a study
    with nothing running, or one whose stored spec no longer validates."""
    running = {t.run_key: t.epoch for t in info.trials if t.state == "running"}
    stored = stored_study(engine, info.name)
    if not running or stored is None or stored[0] is None:
        return None
    spec, complete = stored
    seconds = epoch_seconds_by_cell(engine, get_study(engine, info.name).id)
    if spec.search is not None:
        finished = info.counts.get("complete", 0) + info.counts.get("pruned", 0)
        return estimate_search(
            spec.search.n_trials, spec.train.epochs, seconds, finished=finished,
            epochs_done=running, slots=len(running),
        )  # fmt: skip
    return estimate_study(
        grid_trials(spec), seconds, complete=complete, epochs_done=running, slots=len(running)
    )


def finished_line(engine: Engine, info: StudyStatus) -> str | None:
    """'estimated 12m 30s, took 14m 02s (+12 %)' of the last run that finished the study;
    None while it runs, or if no run of it finished with an estimate."""
    if any(t.state == "running" for t in info.trials):
        return None
    record = last_estimate(engine, get_study(engine, info.name).id)
    if record is None or record.took_s is None or not record.estimated_s:
        return None
    return (
        f"last run ({record.runs} run(s) on {record.slots} slot(s), {record.sources}): "
        f"{error_line(record.estimated_s, record.took_s)}"
    )
