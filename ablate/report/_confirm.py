"""The confirmation table of a search: its chosen configurations and the baseline over every
seed, as rows of an ablation table (mean ± std, Δ and the paired tests of grid tables).

The choice is made again from the complete search trials with the function the scheduler
uses (``ablate.spec.chosen``), so the table shows exactly the configurations that were
confirmed; only confirmation runs (``phase='confirm'``) give its numbers, never the search
trials that chose them.
"""

from __future__ import annotations

import dataclasses
import json

from sqlalchemy import Engine

from ablate.report._ablation import DEFAULT_METRICS, check_budget, check_choices, data_table
from ablate.report._collect import Run, StudyData, format_value, load_study_data, short_names
from ablate.report._model import Table
from ablate.report._numbers import pct
from ablate.spec import Scored, cell_key, chosen, confirm_rows, confirm_trials


def search_scores(data: StudyData) -> list[Scored]:
    """The complete search trials with their validation objective (what the choice ranks)."""
    return [
        Scored(r.final.number, r.final.objective, {**json.loads(r.cell_key), **r.final.params})
        for r in data.runs
        if r.state == "complete" and r.final.objective is not None
    ]


def search_finished(data: StudyData) -> bool:
    """All of the search's trials are finished (and none still runs): the choice is made."""
    search = data.spec.search
    if search is None:
        return False
    finished = sum(r.state in ("complete", "pruned") for r in data.runs)
    return finished >= search.n_trials and not any(r.state == "running" for r in data.runs)


def confirm_view(data: StudyData) -> tuple[StudyData, list[Scored]] | None:
    """The confirmation runs as a grid-like study (one cell per confirmed configuration, then
    the baseline), and the search trials that chose them; None without ``search.confirm``
    or before the search has finished."""
    search = data.spec.search
    if search is None or search.confirm is None or not search_finished(data):
        return None
    picked = chosen(data.spec, search_scores(data))
    current = {config.run_key for config in confirm_trials(data.spec, picked)}
    factors = (*data.spec.grid, *search.params)
    cells = tuple({f: row[f] for f in factors} for row in confirm_rows(data.spec, picked))
    runs = tuple(
        Run(cell_key({**json.loads(r.cell_key), **r.final.params}), r.seed, r.attempts)
        for r in data.confirm
        if r.final.run_key in current
    )
    view = StudyData(
        record=data.record,
        spec=data.spec.model_copy(update={"search": None}),  # its rows are averaged, not ranked
        cells=cells,
        runs=runs,
        trials=tuple(a for r in runs for a in r.attempts),
        row_factors=factors,
    )
    return view, picked


def chosen_text(data: StudyData, picked: list[Scored], factors: tuple[str, ...]) -> str:
    """'trial 17 (deep_supervision=0.31, distillation=0.12; val_accuracy 71.20 %), …'."""
    names = short_names(factors)
    metric = data.spec.objective.metric
    parts = []
    for trial in picked:
        values = ", ".join(f"{names[f]}={format_value(trial.values.get(f))}" for f in factors)
        loss = metric.endswith("loss")
        score = f"{trial.objective:.4f}" if loss else f"{pct(100 * trial.objective)} %"
        parts.append(f"trial {trial.number} ({values}; {metric} {score})")
    return ", ".join(parts)


def confirm_table(
    engine: Engine,
    study: str,
    *,
    split: str = "test",
    metrics: tuple[str, ...] = DEFAULT_METRICS,
    seed_budget: bool = False,
    target_delta: float | None = None,
) -> Table | None:
    """The confirmed configurations and the baseline: mean ± std over seeds, Δ and paired
    tests; None for a search without confirmation or whose trials have not all finished."""
    check_choices(split, metrics)
    check_budget(seed_budget, target_delta)
    data = load_study_data(engine, study)
    found = confirm_view(data)
    if found is None:
        return None
    view, picked = found
    table = data_table(
        engine, view, split=split, metrics=metrics, seed_budget=seed_budget,
        target_delta=target_delta,
    )  # fmt: skip
    assert data.spec.search is not None and data.spec.search.confirm is not None
    objective = data.spec.objective
    search_seed = data.spec.seeds[0]
    choosers = chosen_text(data, picked, view.factors)
    legend = (
        *table.legend,
        f"Confirmed: the top {data.spec.search.confirm.top_k} of the search's "
        f"{len(data.runs)} trials by {objective.metric} ({objective.direction}) on the "
        f"validation split at seed {search_seed}: {choosers or 'none complete'}"
        f". Each row, the baseline too, is trained again at every seed as runs of their own; "
        "the search trials' numbers are not in this table.",
    )
    footnotes = (
        *table.footnotes,
        *_not_chosen(data, view),
        f"Seed {search_seed} is the seed the search trained at: on a deterministic device its "
        "confirmation runs repeat the chosen search trials exactly, so that seed's numbers are "
        "the ones the choice saw (the other seeds are fresh).",
    )
    title = (
        f"{study}: confirmation of the search's top {len(picked)}, {split} split, "
        "mean ± std over seeds (%)"
    )
    return dataclasses.replace(table, title=title, legend=legend, footnotes=footnotes)


def _not_chosen(data: StudyData, view: StudyData) -> list[str]:
    """Confirmation runs of configurations the search no longer chooses (its trials or top_k
    changed since they ran): kept, never mixed in."""
    shown = {trial.run_key for trial in view.trials}
    others = sum(run.final.run_key not in shown for run in data.confirm)
    if not others:
        return []
    return [
        f"{others} confirmation run{'s' * (others > 1)} of configurations no longer chosen "
        "(the search or its top_k changed since) are kept in the database and not shown."
    ]
