"""The ablation table: one row per grid cell, mean ± std over seeds, Δ and paired tests
against the baseline cell, references shown apart, every missing run accounted for."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import Engine

from ablate.db import study_scores
from ablate.db._read import TrialCost, trial_costs
from ablate.errors import UsageError
from ablate.report._accounting import accounting_notes
from ablate.report._adaptive import design_note, sequential_tests
from ablate.report._collect import (
    StudyData,
    cell_label,
    format_value,
    load_study_data,
    short_names,
)
from ablate.report._compare import (
    Budget,
    Compared,
    comparison_cells,
    comparison_columns,
    comparison_legend,
    significance_notes,
)
from ablate.report._model import Cell, Column, Section, Table
from ablate.report._numbers import METRIC_TITLES, METRICS, mean_std, pct
from ablate.report._stats import Paired, holm, paired, spread
from ablate.spec import Reference, cell_key

SPLITS = ("val", "test")
DEFAULT_METRICS = ("accuracy", "kappa")


def check_split(split: str) -> None:
    if split not in SPLITS:
        raise UsageError(f"Unknown split '{split}'; use one of: {', '.join(SPLITS)}.")


def check_choices(split: str, metrics: tuple[str, ...]) -> None:
    check_split(split)
    for metric in metrics:
        if metric not in METRICS:
            raise UsageError(f"Unknown metric '{metric}'; use one of: {', '.join(METRICS)}.")


def check_budget(seed_budget: bool, target_delta: float | None) -> Budget | None:
    """The seed-budget option (``target_delta`` alone asks for it too)."""
    if target_delta is not None and not (math.isfinite(target_delta) and target_delta > 0):
        raise UsageError(
            f"Bad --target-delta {target_delta}: give the difference to plan for in percentage "
            "points, a number above 0 (e.g. --target-delta 1.0)."
        )
    if not seed_budget and target_delta is None:
        return None
    return Budget(target_delta)


def baseline_cell(data: StudyData, cell: dict[str, Any]) -> dict[str, Any] | None:
    """The cell this row is compared with: itself with the baseline's factor values."""
    if data.spec.baseline is None:
        return None
    return {**cell, **data.spec.baseline}


def _columns(
    data: StudyData, metrics: tuple[str, ...], compare: bool, costs: bool, budget: Budget | None
) -> list[Column]:
    names = short_names(data.factors)
    columns = [Column(f, names[f], (f,), numeric=False) for f in data.factors]
    if not columns:
        columns = [Column("cell", "Cell", ("cell",), numeric=False)]
    columns.append(Column("n", "n", ("n",)))
    for metric in metrics:
        title = METRIC_TITLES[metric]
        columns.append(Column(metric, f"{title} (%)", (f"{metric}_mean", f"{metric}_std")))
        if compare:
            columns.extend(comparison_columns(metric, budget))
    return columns + (COST_COLUMNS if costs else [])


Values = dict[str, dict[str, dict[int, float]]]  # cell_key → metric → seed → value (fraction)


def values_of(engine: Engine, data: StudyData, split: str, metrics: tuple[str, ...]) -> Values:
    results = study_scores(engine, data.record.name, split=split)
    values: Values = {}
    for key, by_seed in data.complete().items():
        for seed, trial in by_seed.items():
            if trial.id in results:
                for metric in metrics:
                    metric_value = getattr(results[trial.id], metric)
                    values.setdefault(key, {}).setdefault(metric, {})[seed] = metric_value
    return values


def _tests(data: StudyData, values: Values, metric: str) -> list[Paired | None]:
    """Per cell (grid order): its paired test against its baseline cell, Holm-adjusted
    across the column; None for a baseline row or a row without a baseline to compare."""
    if data.spec.adaptive_seeds is not None:
        by_cell = {key: found.get(metric, {}) for key, found in values.items()}
        return holm(sequential_tests(data.spec, data.cells, by_cell))
    tests: list[Paired | None] = []
    for cell in data.cells:
        key, base = cell_key(cell), baseline_cell(data, cell)
        base_key = cell_key(base) if base is not None else None
        if base_key == key or base_key not in values:
            tests.append(None)
        else:
            by_seed = values.get(key, {}).get(metric, {})
            tests.append(paired(by_seed, values[base_key].get(metric, {})))
    return holm(tests)


COST_COLUMNS = [
    Column("params", "Params (M)", ("params_m",)),
    Column("gflops", "GFLOPs", ("gflops",)),
]


def cost_cells(data: StudyData, costs: dict[int, TrialCost], key: str) -> list[Cell]:
    trials = data.complete().get(key, {}).values()
    found = [costs[t.id] for t in trials if t.id in costs]
    params = [c.n_params / 1e6 for c in found if c.n_params is not None]
    flops = [c.flops / 1e9 for c in found if c.flops is not None]
    out = []
    for numbers in (params, flops):
        value = sum(numbers) / len(numbers) if numbers else None
        out.append(Cell(pct(value), (value,)))
    return out


def ablation_table(
    engine: Engine,
    study: str,
    *,
    split: str = "test",
    metrics: tuple[str, ...] = DEFAULT_METRICS,
    costs: bool = False,
    seed_budget: bool = False,
    target_delta: float | None = None,
) -> Table:
    """The table for the slides; values in percent, tests over the seeds shared with baseline.
    ``costs`` adds each cell's parameter count and FLOPs; ``seed_budget`` each compared row's
    minimum detectable difference and the seeds that ``target_delta`` (pp; default: the
    row's observed |Δ|) would need."""
    check_choices(split, metrics)
    check_budget(seed_budget, target_delta)
    return data_table(
        engine, load_study_data(engine, study), split=split, metrics=metrics, costs=costs,
        seed_budget=seed_budget, target_delta=target_delta,
    )  # fmt: skip


def data_table(
    engine: Engine,
    data: StudyData,
    *,
    split: str,
    metrics: tuple[str, ...],
    costs: bool = False,
    seed_budget: bool = False,
    target_delta: float | None = None,
) -> Table:
    """``ablation_table`` of study data already read (or a view of it: a search's
    confirmation runs, one row per confirmed configuration)."""
    budget = check_budget(seed_budget, target_delta)
    study = data.record.name
    values = values_of(engine, data, split, metrics)
    compare = data.spec.baseline is not None
    tests = {m: _tests(data, values, m) for m in metrics} if compare else {}
    stored_costs = trial_costs(engine, study) if costs else {}
    rows: list[list[Cell]] = []
    for index, cell in enumerate(data.cells):
        key = cell_key(cell)
        row = [Cell(format_value(cell.get(f)), (cell.get(f),)) for f in data.factors] or [
            Cell.plain(cell_label(cell))
        ]
        n = len(values.get(key, {}).get(metrics[0], {}))
        row.append(Cell(str(n), (n,)))
        base = baseline_cell(data, cell)
        for metric in metrics:
            s = spread([100.0 * v for v in values.get(key, {}).get(metric, {}).values()])
            row.append(Cell(mean_std(s.mean, s.std), (s.mean, s.std)))
            if compare:
                is_baseline = base is not None and cell_key(base) == key
                row.extend(comparison_cells(tests[metric][index], is_baseline, budget))
        if costs:
            row.extend(cost_cells(data, stored_costs, key))
        rows.append(row)
    columns = _columns(data, metrics, compare, costs, budget)
    rows = bold_best(rows, columns, metrics)
    sections = [Section(tuple(tuple(r) for r in rows))]
    if data.spec.references:
        sections.append(reference_section(data.spec.references, columns, metrics))
    compared = [
        Compared(cell_label(cell, factors=data.factors), metric, test)
        for metric, column in tests.items()
        for cell, test in zip(data.cells, column, strict=True)
    ]
    footnotes = [*significance_notes(compared, budget), *accounting_notes(data)]
    if compare and data.spec.adaptive_seeds is not None:
        footnotes.insert(0, design_note(data.spec))
    if data.spec.references and split != "test":
        footnotes.append(
            f"Reported values are test-split numbers from their papers; the measured rows "
            f"are on the {split} split."
        )
    base_text = None
    if compare:
        base_text = cell_label(dict(data.spec.baseline or {}), factors=data.factors)
    return Table(
        title=f"{study}: {split} split, mean ± std over seeds (%)",
        columns=tuple(columns),
        sections=tuple(sections),
        footnotes=tuple(footnotes),
        legend=tuple(
            legend(
                base_text,
                costs,
                budget if compare else None,
                sequential=data.spec.adaptive_seeds is not None,
            )
        ),
    )


def bold_best(
    rows: list[list[Cell]], columns: list[Column], metrics: tuple[str, ...]
) -> list[list[Cell]]:
    """Bold the highest mean of each metric column (ties by the printed value all bold)."""
    for metric in metrics:
        index = next(i for i, c in enumerate(columns) if c.key == metric)
        means = [r[index].numbers[0] for r in rows if r[index].numbers[0] is not None]
        if len(means) < 2:
            continue
        best = pct(max(means))
        for r in rows:
            mean = r[index].numbers[0]
            if mean is not None and pct(mean) == best:
                r[index] = Cell(r[index].text, r[index].numbers, bold=True)
    return rows


def reference_section(
    references: list[Reference], columns: list[Column], metrics: tuple[str, ...]
) -> Section:
    rows = []
    for ref in references:
        row = []
        for i, column in enumerate(columns):
            if i == 0:
                row.append(Cell(ref.label, (ref.label,)))
            elif column.key in metrics:
                value = getattr(ref, f"test_{column.key}")
                row.append(Cell(pct(value), (value, None)))
            else:
                row.append(Cell("", (None,) * len(column.csv_fields)))
        rows.append(tuple(row))
    return Section(tuple(rows), title="Reported (not measured here)")


def legend(
    baseline: str | None, costs: bool, budget: Budget | None, *, sequential: bool = False
) -> list[str]:
    """How to read a table: the cells, the comparison with ``baseline`` (if any), the costs."""
    lines = [
        "Mean ± sample standard deviation (ddof=1) over seeds, in percent; n = seeds with a "
        "complete trial; the best mean of each column is in bold."
    ]
    if baseline is not None:
        lines.extend(comparison_legend(baseline, budget, sequential=sequential))
    if costs:
        lines.append(
            "Params (M): model parameters in millions; GFLOPs: forward FLOPs per sample in "
            "billions (a multiply-add counts 2)."
        )
    return lines
