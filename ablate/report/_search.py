"""Search studies: the best trials by objective, and which searched parameter mattered."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import Engine

from ablate.db import study_scores
from ablate.report._ablation import DEFAULT_METRICS, check_choices
from ablate.report._accounting import accounting_notes
from ablate.report._collect import (
    StudyData,
    best_trials,
    format_value,
    load_study_data,
    short_names,
)
from ablate.report._confirm import search_finished
from ablate.report._model import Cell, Column, Section, Table
from ablate.report._numbers import DASH, METRIC_TITLES, pct

DEFAULT_TOP = 10


def _objective_text(metric: str, value: float | None) -> Cell:
    if value is None:
        return Cell(DASH, (None,))
    if metric.endswith("loss"):
        return Cell(f"{value:.4f}", (value,))
    return Cell(pct(100.0 * value), (100.0 * value,))


def search_table(
    engine: Engine,
    study: str,
    *,
    split: str = "test",
    metrics: tuple[str, ...] = DEFAULT_METRICS,
    top: int = DEFAULT_TOP,
) -> Table:
    """The top-``top`` trials by objective with their searched values and final metrics."""
    check_choices(split, metrics)
    data = load_study_data(engine, study)
    results = study_scores(engine, study, split=split)
    params = list(data.spec.search.params) if data.spec.search else []
    names = short_names(tuple(params))
    objective = data.spec.objective.metric
    suffix = " (%)" if not objective.endswith("loss") else ""
    columns = [
        Column("rank", "#", ("rank",)),
        Column("trial", "Trial", ("trial",)),
        *[Column(p, names[p], (p,)) for p in params],
        Column("seed", "Seed", ("seed",)),
        Column("objective", f"{objective}{suffix}", ("objective",)),
        *[Column(m, f"{METRIC_TITLES[m]} {split} (%)", (m,)) for m in metrics],
    ]
    rows = []
    for rank, trial in enumerate(best_trials(data, top=top), start=1):
        row = [Cell(str(rank), (rank,)), Cell(str(trial.number), (trial.number,))]
        row += [_param_cell(trial.params.get(p)) for p in params]
        row += [Cell(str(trial.seed), (trial.seed,)), _objective_text(objective, trial.objective)]
        result = results.get(trial.id)
        for metric in metrics:
            value = None if result is None else 100.0 * getattr(result, metric)
            row.append(Cell(pct(value), (value,)))
        rows.append(tuple(row))
    counts = Counter(r.state for r in data.runs)
    states = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    direction = data.spec.objective.direction
    return Table(
        title=f"{study}: top {len(rows)} of {len(data.runs)} trials by {objective} ({direction})",
        columns=tuple(columns),
        sections=(Section(tuple(rows)),),
        footnotes=tuple(accounting_notes(data)),
        legend=(
            f"Trials by state: {states or 'none'}. Chosen by {objective} on the validation "
            f"split; {split}-split metrics shown for the chosen trials.",
            *_confirm_note(data),
        ),
    )


def _confirm_note(data: StudyData) -> list[str]:
    """What the confirmation will do, while the search has not finished its trials."""
    search = data.spec.search
    if search is None or search.confirm is None or search_finished(data):
        return []
    finished = sum(r.state in ("complete", "pruned") for r in data.runs)
    return [
        f"Confirmation: when the search's {search.n_trials} trials have finished ({finished} "
        f"so far), its top {search.confirm.top_k} and the baseline are trained at every seed, "
        "and this command shows them with the paired tests."
    ]


def _param_cell(value: Any) -> Cell:
    return Cell(format_value(value) if value is not None else DASH, (value,))
