"""Footnotes that account for every run not averaged in: failed, pruned, running, not
started, and runs that completed only after a retry (counted once, named as retried)."""

from __future__ import annotations

import json

from ablate.db import TrialOutcome
from ablate.report._collect import Run, StudyData, cell_label
from ablate.spec import cell_key

_REASON_CHARS = 80
_STATE_TITLES = {
    "failed": "Failed, not averaged in",
    "pruned": "Pruned, not averaged in",
    "running": "Still running, not averaged in",
    "interrupted": "Interrupted (resumes on the next run), not averaged in",
}


def short_reason(trial: TrialOutcome) -> str:
    """The last non-empty line of the stored error (the exception line of a traceback)."""
    lines = [line.strip() for line in trial.error.splitlines() if line.strip()]
    if not lines:
        return "no reason recorded"
    reason = lines[-1]
    return reason if len(reason) <= _REASON_CHARS else reason[: _REASON_CHARS - 1] + "…"


def _where(data: StudyData, run: Run) -> str:
    label = cell_label(json.loads(run.cell_key), factors=data.factors)
    if data.spec.kind == "search":
        return f"trial {run.final.number} (seed {run.seed})"
    return f"{label} seed {run.seed}"


def _run_note(data: StudyData, run: Run) -> str:
    note = f"{_where(data, run)} ({short_reason(run.final)}"
    if len(run.attempts) > 1:
        note += f"; {len(run.attempts)} attempts"
    return note + ")"


def accounting_notes(data: StudyData) -> list[str]:
    """One sentence per kind of incomplete run, naming each (cell + seed + short reason)."""
    notes: list[str] = []
    by_state: dict[str, list[Run]] = {}
    for run in data.runs:
        by_state.setdefault(run.state, []).append(run)
    states = [*_STATE_TITLES, *sorted(set(by_state) - set(_STATE_TITLES) - {"complete"})]
    for state in states:
        title = _STATE_TITLES.get(state, f"In state '{state}', not averaged in")
        if data.spec.kind == "search":  # search trials are ranked, not averaged
            title = title.replace("not averaged in", "not ranked")
        runs = by_state.get(state, [])
        if runs:
            named = "; ".join(_run_note(data, run) for run in runs)
            notes.append(f"{title} ({len(runs)} run{'s' * (len(runs) > 1)}): {named}.")
    retried = [r for r in by_state.get("complete", []) if r.failed_attempts]
    if retried:
        named = "; ".join(
            f"{_where(data, r)} ({len(r.failed_attempts)} failed attempt"
            f"{'s' * (len(r.failed_attempts) > 1)}: {short_reason(r.failed_attempts[-1])})"
            for r in retried
        )
        notes.append(f"Retried, then complete (counted once): {named}.")
    if data.spec.kind == "grid":
        notes.extend(_not_started(data))
    notes.extend(_earlier_versions(data))
    return notes


def _earlier_versions(data: StudyData) -> list[str]:
    """Runs of earlier versions of the study (other fixed settings): kept, never mixed in."""
    if not data.earlier:
        return []
    finished = sum(r.state == "complete" for r in data.earlier)
    other = len(data.earlier) - finished
    verb = "is" if finished + other == 1 else "are"
    if other:
        counted = f"{finished} finished and {other} unfinished run{'s' * (other > 1)}"
    else:
        counted = f"{finished} finished run{'s' * (finished > 1)}"
    return [
        f"{counted} from earlier versions of this study (other settings) {verb} kept in the "
        "database and not shown."
    ]


def _not_started(data: StudyData) -> list[str]:
    started = {(r.cell_key, r.seed) for r in data.runs}
    missing = [
        f"{cell_label(cell, factors=data.factors)} seed {seed}"
        for cell in data.cells
        for seed in data.spec.seeds
        if (cell_key(cell), seed) not in started
    ]
    if not missing:
        return []
    return [f"Not started ({len(missing)} run{'s' * (len(missing) > 1)}): {'; '.join(missing)}."]
