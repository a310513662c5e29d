"""Reading one study into what tables and figures need: its spec, its cells in grid order,
the complete result of each (cell, seed), and an honest account of every run that is not.

A grid study shows only its current version: the runs of the stored spec (by run_key). Runs
of earlier versions (another ``train.lr``, another ``train.epochs``…) stay in the database but
are set apart in ``StudyData.earlier``, so that no table averages two versions in one row.
Search studies keep every run (the runner refuses a changed search)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from ablate.db import StudyRecord, TrialOutcome, get_study, trial_outcomes
from ablate.errors import StorageError, UsageError
from ablate.spec import StudySpec, cell_key, grid_cells, reachable_trials


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
    runs: tuple[Run, ...]  # of the current version only (a search: its own trials)
    trials: tuple[TrialOutcome, ...]  # attempts of those runs (and of ``confirm``)
    earlier: tuple[Run, ...] = ()  # runs of earlier versions of a grid study, not shown
    confirm: tuple[Run, ...] = ()  # a search's confirmation runs (phase 'confirm')
    row_factors: tuple[str, ...] | None = None  # what a row is told by (default: the grid)

    @property
    def factors(self) -> tuple[str, ...]:
        return self.row_factors if self.row_factors is not None else tuple(self.spec.grid)

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
    earlier: tuple[Run, ...] = ()
    confirm = tuple(r for r in runs if r.final.phase)
    runs = tuple(r for r in runs if not r.final.phase)
    if spec.search is None:
        current = {config.run_key for config in reachable_trials(spec)}  # adaptive seeds too
        earlier = tuple(r for r in runs if r.final.run_key not in current)
        runs = tuple(r for r in runs if r.final.run_key in current)
        trials = [t for t in trials if t.run_key in current]
    cells = list(grid_cells(spec))
    known = {cell_key(c) for c in cells}
    for run in runs:
        if run.cell_key not in known:
            known.add(run.cell_key)
            cells.append(json.loads(run.cell_key))
    return StudyData(record, spec, tuple(cells), runs, tuple(trials), earlier, confirm)


@dataclass(frozen=True)
class Shown:
    """What a figure or per-class row shows for one cell: every complete seed of a grid cell,
    or the best trial by the objective of a search study (ranking, not averaging)."""

    cell: dict[str, Any]
    label: str  # 'fusion=sum (n=3)' or 'best trial by val_accuracy: trial 17 (a=0.31)'
    trials: tuple[TrialOutcome, ...]


def best_trials(
    data: StudyData, *, cell: dict[str, Any] | None = None, top: int | None = None
) -> list[TrialOutcome]:
    """Complete trials (of ``cell``, if given) best first by the study's validation objective
    (ties: the lower trial number)."""
    key = None if cell is None else cell_key(cell)
    complete = [
        r.final
        for r in data.runs
        if r.state == "complete"
        and r.final.objective is not None
        and (key is None or r.cell_key == key)
    ]
    sign = -1.0 if data.spec.objective.direction == "maximize" else 1.0
    ranked = sorted(complete, key=lambda t: (sign * t.objective, t.number))  # type: ignore[operator]
    return ranked if top is None else ranked[:top]


def best_label(data: StudyData, trial: TrialOutcome, cell: dict[str, Any]) -> str:
    """'best trial by val_accuracy: trial 17 (deep_supervision=0.31, distillation=0.12)'."""
    where = f"{cell_label(cell, factors=data.factors)}: " if data.factors else ""
    return f"{where}best trial by {data.spec.objective.metric}: {trial_text(data, trial)}"


def trial_text(data: StudyData, trial: TrialOutcome) -> str:
    """'trial 17 (deep_supervision=0.31, distillation=0.12)'."""
    params = data.spec.search.params if data.spec.search else {}
    names = short_names(tuple(params))
    values = ", ".join(f"{names[p]}={format_value(trial.params.get(p))}" for p in params)
    return f"trial {trial.number}" + (f" ({values})" if values else "")


def shown_cells(data: StudyData, cells: list[dict[str, Any]] | None = None) -> list[Shown]:
    """Per cell (grid order, or ``cells``): the trials its figure or per-class row shows;
    cells with nothing complete are left out."""
    complete = data.complete()
    out = []
    for cell in data.cells if cells is None else cells:
        if data.spec.search is None:
            trials = tuple(complete.get(cell_key(cell), {}).values())
            label = f"{cell_label(cell, factors=data.factors)} (n={len(trials)})"
        else:
            trials = tuple(best_trials(data, cell=cell, top=1))
            label = best_label(data, trials[0], cell) if trials else ""
        if trials:
            out.append(Shown(cell, label, trials))
    return out


def match_cells(data: StudyData, filters: tuple[str, ...], *, option: str) -> list[dict[str, Any]]:
    """Cells matching every 'factor=value' filter ('fusion=sum' or 'model.fusion=sum');
    ``option`` names the flag in messages."""
    from ablate.spec._names import suggest

    names = short_names(data.factors)
    by_name = {**{v: k for k, v in names.items()}, **{f: f for f in data.factors}}
    wanted: dict[str, str] = {}
    for item in filters:
        key, sep, value = item.partition("=")
        if not sep or key not in by_name:
            hint = suggest(key, list(by_name)) or f"; the factors are: {', '.join(by_name)}."
            raise UsageError(
                f"Bad {option} '{item}': expected FACTOR=VALUE with a grid factor{hint}"
            )
        wanted[by_name[key]] = value
    cells = [c for c in data.cells if all(format_value(c.get(k)) == v for k, v in wanted.items())]
    if not cells:
        labels = "; ".join(cell_label(c, factors=data.factors) for c in data.cells)
        raise UsageError(f"No cell matches {', '.join(filters)}; the cells are: {labels}.")
    return cells


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
