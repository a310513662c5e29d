"""The ablation table: one row per grid cell, mean ± std over seeds, Δ and paired tests
against the baseline cell, references shown apart, every missing run accounted for."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from ablate.db import result_values
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
    mean_std,
    p_value,
    pct,
    signed,
)
from ablate.report._stats import MARK, MIN_WILCOXON_PAIRS, Paired, paired, spread
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


def _columns(data: StudyData, metrics: tuple[str, ...], compare: bool) -> list[Column]:
    names = short_names(data.factors)
    columns = [Column(f, names[f], (f,), numeric=False) for f in data.factors]
    if not columns:
        columns = [Column("cell", "Cell", ("cell",), numeric=False)]
    columns.append(Column("n", "n", ("n",)))
    for metric in metrics:
        title = METRIC_TITLES[metric]
        columns.append(Column(metric, f"{title} (%)", (f"{metric}_mean", f"{metric}_std")))
        if compare:
            columns.append(Column(f"{metric}_delta", f"Δ {title}", (f"{metric}_delta",)))
            columns.append(
                Column(
                    f"{metric}_p",
                    f"p {title} (t / W)",
                    (f"{metric}_p_t", f"{metric}_p_wilcoxon"),
                )
            )
    return columns


def _comparison_cells(test: Paired | None, is_baseline: bool) -> list[Cell]:
    if is_baseline:
        return [Cell("baseline", (0.0,)), Cell("", (None, None))]
    if test is None or test.delta is None:
        return [Cell(DASH, (None,)), Cell(DASH, (None, None))]
    delta = 100.0 * test.delta
    mark = MARK if test.significant else ""
    p_text = f"{p_value(test.p_t)} / {p_value(test.p_wilcoxon)}"
    return [Cell(signed(delta) + mark, (delta,)), Cell(p_text, (test.p_t, test.p_wilcoxon))]


def ablation_table(
    engine: Engine,
    study: str,
    *,
    split: str = "test",
    metrics: tuple[str, ...] = DEFAULT_METRICS,
) -> Table:
    """The table for the slides; values in percent, tests over the seeds shared with baseline."""
    check_choices(split, metrics)
    data = load_study_data(engine, study)
    results = result_values(engine, study, split=split)
    complete = data.complete()
    # cell_key → metric → seed → value (fraction)
    values: dict[str, dict[str, dict[int, float]]] = {}
    for key, by_seed in complete.items():
        for seed, trial in by_seed.items():
            if trial.id in results:
                for metric in metrics:
                    metric_value = getattr(results[trial.id], metric)
                    values.setdefault(key, {}).setdefault(metric, {})[seed] = metric_value
    compare = data.spec.baseline is not None
    rows: list[list[Cell]] = []
    too_few: set[int] = set()
    for cell in data.cells:
        key = cell_key(cell)
        row = [Cell(format_value(cell.get(f)), (cell.get(f),)) for f in data.factors] or [
            Cell.plain(cell_label(cell))
        ]
        n = len(values.get(key, {}).get(metrics[0], {}))
        row.append(Cell(str(n), (n,)))
        base = baseline_cell(data, cell)
        base_key = cell_key(base) if base is not None else None
        for metric in metrics:
            by_seed = values.get(key, {}).get(metric, {})
            s = spread([100.0 * v for v in by_seed.values()])
            row.append(Cell(mean_std(s.mean, s.std), (s.mean, s.std)))
            if not compare:
                continue
            test = None
            if base_key != key and base_key in values:
                test = paired(by_seed, values[base_key].get(metric, {}))
                if test.too_few:
                    too_few.add(test.n)
            row.extend(_comparison_cells(test, base_key == key))
        rows.append(row)
    columns = _columns(data, metrics, compare)
    rows = _bold_best(rows, columns, metrics)
    sections = [Section(tuple(tuple(r) for r in rows))]
    if data.spec.references:
        sections.append(_reference_section(data.spec.references, columns, metrics))
    footnotes = _footnotes(data, split, too_few, bool(data.spec.references))
    return Table(
        title=f"{study}: {split} split, mean ± std over seeds (%)",
        columns=tuple(columns),
        sections=tuple(sections),
        footnotes=tuple(footnotes),
        legend=tuple(_legend(data, compare)),
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


def _legend(data: StudyData, compare: bool) -> list[str]:
    lines = [
        "Mean ± sample standard deviation (ddof=1) over seeds, in percent; n = seeds with a "
        "complete trial; the best mean of each column is in bold."
    ]
    if compare:
        base = cell_label(dict(data.spec.baseline or {}), factors=data.factors)
        lines.append(
            f"Δ: mean paired difference to the baseline ({base}) over the seeds both completed; "
            "p: paired t-test / exact Wilcoxon signed-rank test (two-sided); "
            f"{MARK} marks a row where both give p < 0.05 "
            f"(possible only with ≥ {MIN_WILCOXON_PAIRS} paired seeds)."
        )
    return lines


def _footnotes(data: StudyData, split: str, too_few: set[int], references: bool) -> list[str]:
    notes = [
        f"n={n} paired seeds: too few for the Wilcoxon signed-rank test to reach p < 0.05; "
        "no significance claimed."
        for n in sorted(too_few)
    ]
    notes.extend(accounting_notes(data))
    if references and split != "test":
        notes.append(
            f"Reported values are test-split numbers from their papers; the measured rows "
            f"are on the {split} split."
        )
    return notes
