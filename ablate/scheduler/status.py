"""``ablate status``: the picture of a study from the database, from any terminal (the
queries live in ``ablate.db``), and how long the rest of it should take."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass

from sqlalchemy import Engine

from ablate.db import (
    PeakMemory,
    StudyStatus,
    TrialStatus,
    get_study,
    peak_memory_by_cell,
    stored_study,
    study_status,
)
from ablate.db.estimates import last_estimate
from ablate.db.ledger import epoch_seconds_by_cell, study_attempts
from ablate.errors import NotFoundError
from ablate.scheduler._estimate import (
    StudyEstimate,
    error_line,
    estimate_search,
    estimate_study,
    eta_line,
)
from ablate.scheduler._progress import phases_text
from ablate.spec import Scored, StudySpec, TrialConfig, cell_text, chosen, grid_trials

__all__ = [
    "ConfirmPlan",
    "StudyStatus",
    "TrialStatus",
    "adaptive_lines",
    "confirm_plan",
    "eta_line",
    "finished_line",
    "memory_lines",
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


def memory_lines(engine: Engine, name: str) -> list[str]:
    """What the study's complete trials held at their peak, one line per cell, batch size,
    data path and device kind (what the device pool sizes the next trials of the cell by)."""
    peaks = peak_memory_by_cell(engine, get_study(engine, name).id)
    return [_peak_line(p) for p in peaks]


def _peak_line(peak: PeakMemory) -> str:
    gib = 1024**3
    where = "GPU" if peak.on_gpu else "CPU"
    path = f", {peak.data_path}" if peak.data_path else ""
    trials = f"{peak.trials} trial{'s' * (peak.trials != 1)}"
    spread = f", median {peak.median_bytes / gib:.2f} GiB" if peak.trials > 1 else ""
    return (
        f"{cell_text(json.loads(peak.cell_key))}, batch {peak.batch_size}: peak "
        f"{peak.max_bytes / gib:.2f} GiB on {where}{path} (max of {trials}{spread})"
    )


def adaptive_lines(engine: Engine, name: str) -> list[str]:
    """A study with adaptive seeds: its extra runs so far, at most how many more, and each
    comparison's state at its looks ([] for any other study)."""
    stored = stored_study(engine, name)
    if stored is None or stored[0] is None or stored[0].adaptive_seeds is None:
        return []
    # here, not at the top: the ledger module imports optuna, which `ablate status` skips
    from ablate.scheduler._ledger import build_ledger
    from ablate.scheduler._planner import Planner

    spec = stored[0]
    planner = Planner(spec, grid_trials(spec))
    assert planner.adaptive is not None
    ledger = build_ledger(
        study_attempts(engine, get_study(engine, name).id), keep=planner.reachable_keys
    )
    declared = set(spec.seeds)
    extra = [c for c in planner.runs(ledger) if c.seed not in declared]
    done = sum(1 for c in extra if c.run_key in ledger.complete)
    most = planner.adaptive.most_runs() - len(planner.planned)
    comparisons = planner.adaptive.comparisons(
        ledger, given_up=lambda key: planner.exhausted(key, ledger)
    )
    head = (
        f"adaptive seeds: {len(extra)} extra run(s) beyond the {len(declared)} declared "
        f"seeds so far ({done} complete), of at most {most}; "
        f"{planner.adaptive.design.describe()}, on {spec.objective.metric}"
    )
    return [head, *(c.text for c in comparisons)]
