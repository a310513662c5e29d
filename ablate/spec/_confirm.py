"""Confirmation of a search: which configurations it chose, and the runs that confirm them.

Pure functions of the study and its finished search trials, so that the scheduler (what to
train), ``ablate table`` (what to show) and ``--dry-run`` (what would train) make the same
choice from the same database, and a rerun after a power cut makes it again: nothing about
the choice is stored. The best ``search.confirm.top_k`` complete trials by the validation
objective (ties: the lower trial number) and the baseline are each trained at every seed of
the study, as runs of their own (``phase='confirm'``: another run key than the search trial
with the same configuration and seed, whose numbers chose it and so never count as a test).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from ablate.spec._resolve import TrialConfig, cell_key, resolve
from ablate.spec._study import Scalar, StudySpec


@dataclass(frozen=True)
class Scored:
    """A complete search trial: its number, validation objective, grid cell and searched
    values (``values``: cell first, then the searched parameters)."""

    number: int
    objective: float
    values: dict[str, Scalar]


def confirm_size(spec: StudySpec) -> int:
    """The configurations confirmation trains when the search is done: top_k and the
    baseline (one per grid cell among them when the baseline leaves a grid factor open;
    assumed one here), before the choice is known."""
    if spec.search is None or spec.search.confirm is None:
        return 0
    return spec.search.confirm.top_k + 1


def chosen(spec: StudySpec, trials: Iterable[Scored]) -> list[Scored]:
    """The best ``top_k`` distinct configurations by the validation objective, best first;
    ties go to the lower trial number (so the choice never depends on read order)."""
    if spec.search is None or spec.search.confirm is None:
        return []
    sign = -1.0 if spec.objective.direction == "maximize" else 1.0
    ranked = sorted(
        (t for t in trials if math.isfinite(t.objective)),
        key=lambda t: (sign * t.objective, t.number),
    )
    picked: dict[str, Scored] = {}
    for trial in ranked:
        picked.setdefault(cell_key(trial.values), trial)
        if len(picked) == spec.search.confirm.top_k:
            break
    return list(picked.values())


def confirm_rows(spec: StudySpec, picked: list[Scored]) -> list[dict[str, Scalar]]:
    """The configurations confirmation trains: the chosen ones, best first, then the
    baseline configurations they are compared with (each once, unless chosen itself)."""
    rows = [dict(t.values) for t in picked]
    known = {cell_key(row) for row in rows}
    for row in list(rows):
        base = {**row, **(spec.baseline or {})}
        if cell_key(base) not in known:
            known.add(cell_key(base))
            rows.append(base)
    return rows


def confirm_trials(spec: StudySpec, picked: list[Scored]) -> list[TrialConfig]:
    """Every confirmation run, seed-major (a first complete comparison comes early)."""
    if spec.search is None or not picked:
        return []
    searched = spec.search.params
    return [
        resolve(
            spec,
            seed=seed,
            cell={k: v for k, v in row.items() if k not in searched},
            params={k: v for k, v in row.items() if k in searched},
            phase="confirm",
        )
        for seed in spec.seeds
        for row in confirm_rows(spec, picked)
    ]
