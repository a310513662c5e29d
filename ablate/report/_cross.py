"""One table across studies (the paper's main table): a section per study, one baseline cell
that every row is compared with over the seeds both completed, the references once, and the
parameters and FLOPs of every row."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from ablate.db._read import TrialCost, trial_costs
from ablate.errors import UsageError
from ablate.report._ablation import (
    COST_COLUMNS,
    DEFAULT_METRICS,
    Values,
    bold_best,
    check_budget,
    check_choices,
    cost_cells,
    legend,
    reference_section,
    values_of,
)
from ablate.report._accounting import accounting_notes
from ablate.report._collect import StudyData, cell_label, load_study_data, match_cells
from ablate.report._compare import Budget, Compared, comparison_cells, comparison_columns
from ablate.report._compare import significance_notes as comparison_notes
from ablate.report._model import Cell, Column, Section, Table
from ablate.report._numbers import METRIC_TITLES, mean_std
from ablate.report._stats import Paired, holm, paired, spread
from ablate.spec import Reference, cell_key


@dataclass(frozen=True)
class StudyPart:
    """One section: a grid study and the title its section gets (default: its description)."""

    study: str
    label: str = ""


@dataclass(frozen=True)
class BaselineChoice:
    """The one cell every row is compared with: a study and 'FACTOR=VALUE' filters."""

    study: str
    cell: tuple[str, ...] = ()


def parse_baseline(text: str) -> BaselineChoice:
    """'modality:modality=fused' or 'loss_variants:deep_supervision=0,distillation=0'."""
    study, sep, cell = text.partition(":")
    filters = tuple(item.strip() for item in cell.split(",") if item.strip())
    if not sep or not study or not filters:
        raise UsageError(
            f"Bad --baseline '{text}': expected STUDY:FACTOR=VALUE (several factors joined "
            "by commas), e.g. --baseline modality:modality=fused."
        )
    return BaselineChoice(study.strip(), filters)


def _baseline_cell(data: StudyData, choice: BaselineChoice | None) -> dict[str, Any] | None:
    """The chosen cell, or without a choice the study's own baseline cell (None: none)."""
    if choice is None:
        if data.spec.baseline is None:
            return None
        cells = [
            c for c in data.cells if all(c.get(k) == v for k, v in data.spec.baseline.items())
        ]
        where = f"study '{data.record.name}' (its baseline)"
    else:
        cells = match_cells(data, choice.cell, option="--baseline")
        where = f"--baseline {choice.study}:{','.join(choice.cell)}"
    if len(cells) != 1:
        labels = "; ".join(cell_label(c, factors=data.factors) for c in cells)
        raise UsageError(
            f"{where} matches {len(cells)} cells ({labels}); name one cell with every "
            f"factor, e.g. --baseline {data.record.name}:"
            f"{cell_label(cells[0], factors=data.factors).replace(', ', ',')}."
        )
    return cells[0]


def _load(engine: Engine, parts: list[StudyPart]) -> list[StudyData]:
    names = [p.study for p in parts]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise UsageError(f"Study '{repeated[0]}' is named twice; give each study once.")
    studies = [load_study_data(engine, name) for name in names]
    for data in studies:
        if data.spec.kind == "search":
            raise UsageError(
                f"Study '{data.record.name}' is a search study: a cross-study table needs grid "
                f"studies (run 'ablate table --study {data.record.name}' for its best trials)."
            )
    return studies


def _references(studies: list[StudyData], given: list[Reference] | None) -> list[Reference]:
    """The given references, or the studies' own, each label once (the first kept)."""
    found = given if given is not None else [r for d in studies for r in d.spec.references]
    unique: dict[str, Reference] = {}
    for ref in found:
        unique.setdefault(ref.label, ref)
    return list(unique.values())


def _seed_note(studies: list[StudyData], baseline: StudyData) -> list[str]:
    """Say so when the studies were run with different seeds (rows pair on the shared ones)."""
    seeds = {d.record.name: tuple(sorted(d.spec.seeds)) for d in studies}
    if len(set(seeds.values())) < 2:
        return []
    listed = "; ".join(f"{name}: {_seed_list(s)}" for name, s in seeds.items())
    base = set(seeds[baseline.record.name])
    shared = "; ".join(
        f"{name} at most on seeds {_seed_list(tuple(sorted(base & set(s))))}"
        for name, s in seeds.items()
        if name != baseline.record.name and set(s) != base
    )
    return [
        f"The studies use different seeds ({listed}): each row is compared with the baseline "
        f"over the seeds both completed ({shared})."
    ]


def _seed_list(seeds: tuple[int, ...]) -> str:
    if len(seeds) > 2 and seeds == tuple(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}–{seeds[-1]}"
    return ", ".join(str(s) for s in seeds) or "none"


def _columns(metrics: tuple[str, ...], compare: bool, budget: Budget | None) -> list[Column]:
    columns = [Column("cell", "Cell", ("cell",), numeric=False), Column("n", "n", ("n",))]
    for metric in metrics:
        title = METRIC_TITLES[metric]
        columns.append(Column(metric, f"{title} (%)", (f"{metric}_mean", f"{metric}_std")))
        if compare:
            columns.extend(comparison_columns(metric, budget))
    return columns + COST_COLUMNS


Row = tuple[StudyData, dict[str, Any]]  # a study and one of its cells


@dataclass(frozen=True)
class _Baseline:
    data: StudyData
    cell: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{self.data.record.name}: {cell_label(self.cell, factors=self.data.factors)}"

    def holds(self, data: StudyData, cell: dict[str, Any]) -> bool:
        return data is self.data and cell_key(cell) == cell_key(self.cell)


def cross_study_table(
    engine: Engine,
    parts: list[StudyPart],
    *,
    baseline: BaselineChoice | None = None,
    split: str = "test",
    metrics: tuple[str, ...] = DEFAULT_METRICS,
    references: list[Reference] | None = None,
    title: str = "",
    seed_budget: bool = False,
    target_delta: float | None = None,
) -> Table:
    """A section per study (in order), every row compared with one baseline cell: the cell
    ``baseline`` names, by default the first study's baseline cell (no comparison if it has
    none). ``references`` replace the studies' own (default: theirs, each label once)."""
    check_choices(split, metrics)
    budget = check_budget(seed_budget, target_delta)
    studies = _load(engine, parts)
    base = _choose_baseline(studies, baseline)
    values = {d.record.name: values_of(engine, d, split, metrics) for d in studies}
    rows: list[Row] = [(d, cell) for d in studies for cell in d.cells]
    tests = {m: _tests(rows, values, base, m) for m in metrics}
    costs = {d.record.name: trial_costs(engine, d.record.name) for d in studies}
    columns = _columns(metrics, base is not None, budget)
    body = []
    for index, (data, cell) in enumerate(rows):
        by_metric = values[data.record.name].get(cell_key(cell), {})
        row_tests = {m: tests[m][index] for m in metrics}
        is_baseline = base is not None and base.holds(data, cell)
        body.append(
            _row(
                data,
                cell,
                by_metric,
                row_tests,
                is_baseline,
                compare=base is not None,
                budget=budget,
                costs=costs[data.record.name],
            )
        )
    body = bold_best(body, columns, metrics)
    sections, start = [], 0
    for data, part in zip(studies, parts, strict=True):
        count = len(data.cells)
        heading = part.label or data.record.description
        section_title = f"{data.record.name}: {heading}" if heading else data.record.name
        sections.append(Section(tuple(tuple(r) for r in body[start : start + count]),
                                title=section_title))  # fmt: skip
        start += count
    refs = _references(studies, references)
    if refs:
        sections.append(reference_section(refs, columns, metrics))
    compared = [
        Compared(f"{data.record.name}: {cell_label(cell, factors=data.factors)}", m, tests[m][i])
        for m in metrics
        for i, (data, cell) in enumerate(rows)
    ]
    footnotes = [*comparison_notes(compared, budget)]
    if base is not None:
        footnotes += _seed_note(studies, base.data)
    for data in studies:
        footnotes += [f"{data.record.name}: {note}" for note in accounting_notes(data)]
    if refs and split != "test":
        footnotes.append(
            f"Reported values are test-split numbers from their papers; the measured rows "
            f"are on the {split} split."
        )
    names = ", ".join(d.record.name for d in studies)
    return Table(
        title=title or f"{names}: {split} split, mean ± std over seeds (%)",
        columns=tuple(columns),
        sections=tuple(sections),
        footnotes=tuple(footnotes),
        legend=tuple(legend(base.label if base else None, True, budget if base else None)),
    )


def _choose_baseline(studies: list[StudyData], choice: BaselineChoice | None) -> _Baseline | None:
    by_name = {d.record.name: d for d in studies}
    if choice is not None and choice.study not in by_name:
        raise UsageError(
            f"--baseline names study '{choice.study}', which is not in the table; add "
            f"--study {choice.study} or choose one of: {', '.join(by_name)}."
        )
    data = by_name[choice.study] if choice is not None else studies[0]
    cell = _baseline_cell(data, choice)
    return None if cell is None else _Baseline(data, cell)


def _tests(
    rows: list[Row], values: dict[str, Values], base: _Baseline | None, metric: str
) -> list[Paired | None]:
    """Per row: its paired test against the one baseline, Holm-adjusted across the column."""
    if base is None:
        return [None] * len(rows)
    base_values = values[base.data.record.name].get(cell_key(base.cell), {}).get(metric, {})
    out: list[Paired | None] = []
    for data, cell in rows:
        if base.holds(data, cell):
            out.append(None)
        else:
            by_seed = values[data.record.name].get(cell_key(cell), {}).get(metric, {})
            out.append(paired(by_seed, base_values))
    return holm(out)


def _row(
    data: StudyData,
    cell: dict[str, Any],
    by_metric: dict[str, dict[int, float]],
    tests: dict[str, Paired | None],
    is_baseline: bool,
    *,
    compare: bool,
    budget: Budget | None,
    costs: dict[int, TrialCost],
) -> list[Cell]:
    n = len(next(iter(by_metric.values()), {}))
    out = [Cell.plain(cell_label(cell, factors=data.factors)), Cell(str(n), (n,))]
    for metric, test in tests.items():
        s = spread([100.0 * v for v in by_metric.get(metric, {}).values()])
        out.append(Cell(mean_std(s.mean, s.std), (s.mean, s.std)))
        if compare:
            out.extend(comparison_cells(test, is_baseline, budget))
    return out + cost_cells(data, costs, cell_key(cell))
