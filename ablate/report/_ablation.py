"""The ablation table: one row per grid cell, mean ± std over seeds, Δ and paired tests
against the baseline cell, references shown apart, every missing run accounted for."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from ablate.db import study_scores
from ablate.db._read import TrialCost, trial_costs
from ablate.errors import UsageError
from ablate.report._accounting import accounting_notes
from ablate.report._collect import (
    StudyData,
    cell_label,
    format_value,
    load_study_data,
    short_names,
)
from ablate.report._model import Cell, Column, Section, Table
from ablate.report._numbers import (
    DASH,
    METRIC_TITLES,
    METRICS,
    UNDEFINED,
    mean_std,
    p_value,
    pct,
    signed,
)
from ablate.report._stats import (
    ALPHA,
    MARK,
    MIN_PAIRS,
    MIN_WILCOXON_PAIRS,
    Paired,
    holm,
    paired,
    spread,
)
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


def baseline_cell(data: StudyData, cell: dict[str, Any]) -> dict[str, Any] | None:
    """The cell this row is compared with: itself with the baseline's factor values."""
    if data.spec.baseline is None:
        return None
    return {**cell, **data.spec.baseline}


def _columns(
    data: StudyData, metrics: tuple[str, ...], compare: bool, costs: bool
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
            columns.append(Column(f"{metric}_delta", f"Δ {title} (pp)", (f"{metric}_delta",)))
            columns.append(
                Column(
                    f"{metric}_p",
                    f"p {title} (t / W)",
                    (f"{metric}_p_t", f"{metric}_p_wilcoxon", f"{metric}_p_t_holm"),
                )
            )
    if costs:
        columns.append(Column("params", "Params (M)", ("params_m",)))
        columns.append(Column("gflops", "GFLOPs", ("gflops",)))
    return columns


def _comparison_cells(test: Paired | None, is_baseline: bool) -> list[Cell]:
    if is_baseline:
        return [Cell("baseline", (0.0,)), Cell("", (None, None, None))]
    if test is None or test.delta is None:
        return [Cell(DASH, (None,)), Cell(DASH, (None, None, None))]
    delta = 100.0 * test.delta
    mark = MARK if test.significant else ""
    t_text = UNDEFINED if test.t_undefined else p_value(test.p_t)
    w_text = UNDEFINED if test.wilcoxon_undefined else p_value(test.p_wilcoxon)
    return [
        Cell(signed(delta) + mark, (delta,)),
        Cell(f"{t_text} / {w_text}", (test.p_t, test.p_wilcoxon, test.p_holm)),
    ]


Values = dict[str, dict[str, dict[int, float]]]  # cell_key → metric → seed → value (fraction)


def _values(engine: Engine, data: StudyData, split: str, metrics: tuple[str, ...]) -> Values:
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


def _cost_cells(data: StudyData, costs: dict[int, TrialCost], key: str) -> list[Cell]:
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
) -> Table:
    """The table for the slides; values in percent, tests over the seeds shared with baseline.
    ``costs`` adds each cell's parameter count and FLOPs."""
    check_choices(split, metrics)
    data = load_study_data(engine, study)
    values = _values(engine, data, split, metrics)
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
                row.extend(_comparison_cells(tests[metric][index], is_baseline))
        if costs:
            row.extend(_cost_cells(data, stored_costs, key))
        rows.append(row)
    columns = _columns(data, metrics, compare, costs)
    rows = _bold_best(rows, columns, metrics)
    sections = [Section(tuple(tuple(r) for r in rows))]
    if data.spec.references:
        sections.append(_reference_section(data.spec.references, columns, metrics))
    footnotes = [*significance_notes(data, tests), *accounting_notes(data)]
    if data.spec.references and split != "test":
        footnotes.append(
            f"Reported values are test-split numbers from their papers; the measured rows "
            f"are on the {split} split."
        )
    return Table(
        title=f"{study}: {split} split, mean ± std over seeds (%)",
        columns=tuple(columns),
        sections=tuple(sections),
        footnotes=tuple(footnotes),
        legend=tuple(_legend(data, compare, costs)),
    )


def _bold_best(
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


def _reference_section(
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


def _legend(data: StudyData, compare: bool, costs: bool) -> list[str]:
    lines = [
        "Mean ± sample standard deviation (ddof=1) over seeds, in percent; n = seeds with a "
        "complete trial; the best mean of each column is in bold."
    ]
    if compare:
        base = cell_label(dict(data.spec.baseline or {}), factors=data.factors)
        lines.append(
            f"Δ (pp): mean paired difference to the baseline ({base}) in percentage points, "
            "over the seeds both completed; p: two-sided paired t-test / exact Wilcoxon "
            f"signed-rank test; {MARK} marks a row whose t-test gives p < {ALPHA} after Holm "
            f"correction across the rows of that column, with ≥ {MIN_PAIRS} paired seeds."
        )
    if costs:
        lines.append(
            "Params (M): model parameters in millions; GFLOPs: forward FLOPs per sample in "
            "billions (a multiply-add counts 2)."
        )
    return lines


def significance_notes(data: StudyData, tests: dict[str, list[Paired | None]]) -> list[str]:
    """Why a row carries no mark: too few paired seeds, a test that is undefined, and the
    floor of the exact Wilcoxon p-value."""
    few: dict[int, list[str]] = {}
    undefined_t: list[str] = []
    undefined_w: list[str] = []
    small: set[int] = set()
    for metric, column in tests.items():
        for cell, test in zip(data.cells, column, strict=True):
            if test is None or test.n == 0:
                continue
            label = cell_label(cell, factors=data.factors)
            if test.too_few and label not in few.setdefault(test.n, []):
                few[test.n].append(label)
            if test.t_undefined:
                undefined_t.append(f"{label}, {METRIC_TITLES[metric]}")
            if test.wilcoxon_undefined:
                undefined_w.append(f"{label}, {METRIC_TITLES[metric]}")
            if test.n < MIN_WILCOXON_PAIRS:
                small.add(test.n)
    notes = [
        f"n={n} paired seed{'s' * (n > 1)} ({'; '.join(labels)}): at least {MIN_PAIRS} are "
        f"needed for the {MARK} mark; no significance claimed."
        for n, labels in sorted(few.items())
    ]
    if undefined_t:
        notes.append(
            f"t-test {UNDEFINED} ({'; '.join(undefined_t)}): the paired differences to the "
            "baseline are identical on every seed (zero variance), so the t statistic has no "
            "finite value; no significance claimed."
        )
    if undefined_w:
        notes.append(
            f"Wilcoxon {UNDEFINED} ({'; '.join(undefined_w)}): every paired difference is "
            "zero, so there is nothing to rank."
        )
    if small:
        ns = ", ".join(str(n) for n in sorted(small))
        notes.append(
            f"The exact Wilcoxon p cannot go below 2/2^n, so with fewer than "
            f"{MIN_WILCOXON_PAIRS} paired seeds (here n={ns}) it cannot reach 0.05; it is "
            f"shown for information, the {MARK} mark rests on the t-test."
        )
    return notes
