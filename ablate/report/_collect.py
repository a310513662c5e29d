"""Reading one study into what tables and figures need: its spec, its cells in grid order,
the complete result of each (cell, seed), and an honest account of every run that is not."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from ablate.db import StudyRecord, TrialOutcome, get_study, trial_outcomes
from ablate.errors import StorageError
from ablate.spec import StudySpec, cell_key, grid_cells


@dataclass(frozen=True)
class Run:
    """All attempts of one run (same run_key); ``final`` is the complete one if any."""

    cell_key: str
    seed: int
    attempts: tuple[TrialOutcome, ...]

    @property
    def final(self) -> TrialOutcome:
        complete = [a for a in self.attempts if a.state == "complete"]
        return complete[-1] if complete else self.attempts[-1]

    @property
    def state(self) -> str:
        return self.final.state

    @property
    def failed_attempts(self) -> tuple[TrialOutcome, ...]:
        return tuple(a for a in self.attempts if a.state == "failed")


@dataclass(frozen=True)
class StudyData:
    record: StudyRecord
    spec: StudySpec
    cells: tuple[dict[str, Any], ...]  # grid order, then cells found only in the database
    runs: tuple[Run, ...]
    trials: tuple[TrialOutcome, ...]

    @property
    def factors(self) -> tuple[str, ...]:
        return tuple(self.spec.grid)

    def complete(self) -> dict[str, dict[int, TrialOutcome]]:
        """cell_key → seed → the complete trial of that run."""
        out: dict[str, dict[int, TrialOutcome]] = {}
        for run in self.runs:
            if run.state == "complete":
                out.setdefault(run.cell_key, {})[run.seed] = run.final
        return out

    def state_counts(self) -> Counter[str]:
        return Counter(t.state for t in self.trials)


def load_spec(record: StudyRecord) -> StudySpec:
    try:
        return StudySpec.model_validate(record.spec)
    except ValueError as exc:
        first = str(exc).splitlines()[0]
        raise StorageError(
            f"The spec stored for study '{record.name}' no longer validates ({first}); "
            "rerun 'ablate run' with the current study file to refresh it."
        ) from None


def load_study_data(engine: Engine, name: str) -> StudyData:
    record = get_study(engine, name)
    spec = load_spec(record)
    trials = trial_outcomes(engine, name)
    attempts: dict[str, list[TrialOutcome]] = {}
    for trial in trials:
        attempts.setdefault(trial.run_key, []).append(trial)
    runs = tuple(
        Run(cell_key=group[0].cell_key, seed=group[0].seed, attempts=tuple(group))
        for group in attempts.values()
    )
    cells = list(grid_cells(spec))
    known = {cell_key(c) for c in cells}
    for run in runs:
        if run.cell_key not in known:
            known.add(run.cell_key)
            cells.append(json.loads(run.cell_key))
    return StudyData(record, spec, tuple(cells), runs, tuple(trials))


def short_names(factors: tuple[str, ...]) -> dict[str, str]:
    """'model.fusion' → 'fusion', unless two factors would then share a name."""
    last = Counter(f.rsplit(".", 1)[-1] for f in factors)
    return {f: f.rsplit(".", 1)[-1] if last[f.rsplit(".", 1)[-1]] == 1 else f for f in factors}


def cell_label(cell: dict[str, Any], *, factors: tuple[str, ...] = ()) -> str:
    """'fusion=concat, modality=fused' (or 'all' for the single cell of a grid-less study)."""
    names = short_names(tuple(factors or cell))
    return ", ".join(f"{names.get(k, k)}={format_value(v)}" for k, v in cell.items()) or "all"


def format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "null" if value is None else str(value)
