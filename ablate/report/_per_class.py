"""Per-class accuracy by cell: where a fusion helps (e.g. Railway station vs Airport)."""

from __future__ import annotations

from sqlalchemy import Engine

from ablate.db import study_class_scores
from ablate.report._ablation import check_choices
from ablate.report._accounting import accounting_notes
from ablate.report._collect import (
    cell_label,
    format_value,
    load_study_data,
    short_names,
    shown_cells,
    trial_text,
)
from ablate.report._model import Cell, Column, Section, Table
from ablate.report._numbers import mean_std, pct
from ablate.report._stats import spread
from ablate.spec import cell_key


def per_class_table(engine: Engine, study: str, *, split: str = "test") -> Table:
    """Mean ± std over seeds of each class's accuracy (recall), one row per cell."""
    check_choices(split, ())
    data = load_study_data(engine, study)
    by_trial = study_class_scores(engine, study, split=split)
    class_names = next((c.names for c in by_trial.values()), ())  # as the data names them
    names = short_names(data.factors)
    columns = [Column(f, names[f], (f,), numeric=False) for f in data.factors] or [
        Column("cell", "Cell", ("cell",), numeric=False)
    ]
    columns.append(Column("n", "n", ("n",)))
    slugs = [name.lower().replace(" ", "_") for name in class_names]
    columns += [
        Column(slug, name, (f"{slug}_mean", f"{slug}_std"))
        for slug, name in zip(slugs, class_names, strict=True)
    ]
    search = data.spec.search is not None
    if search and not data.factors:
        title = f"Best trial by {data.spec.objective.metric}"
        columns[0] = Column("cell", title, ("cell",), numeric=False)
    shown = {cell_key(s.cell): s for s in shown_cells(data)}
    rows: list[list[Cell]] = []
    for cell in data.cells:
        found = shown.get(cell_key(cell))
        trials = [t for t in (found.trials if found else ()) if t.id in by_trial]
        row = [Cell(format_value(cell.get(f)), (cell.get(f),)) for f in data.factors] or [
            Cell.plain(trial_text(data, found.trials[0]) if search and found else cell_label(cell))
        ]
        row.append(Cell(str(len(trials)), (len(trials),)))
        for index in range(len(class_names)):
            values = [
                100.0 * by_trial[t.id].accuracy[index]
                for t in trials
                if index < len(by_trial[t.id].accuracy)
            ]
            s = spread(values)
            row.append(Cell(mean_std(s.mean, s.std), (s.mean, s.std)))
        rows.append(row)
    first = len(columns) - len(class_names)
    for index in range(first, len(columns)):
        means = [r[index].numbers[0] for r in rows if r[index].numbers[0] is not None]
        if len(means) >= 2:
            best = pct(max(means))
            for r in rows:
                if r[index].numbers[0] is not None and pct(r[index].numbers[0]) == best:
                    r[index] = Cell(r[index].text, r[index].numbers, bold=True)
    how = (
        f"of the best trial by {data.spec.objective.metric}" if search else "mean ± std over seeds"
    )
    legend = "Per-class accuracy is the recall of each class; best mean per class in bold."
    if search:
        legend += f" A search study shows its best trial by {data.spec.objective.metric}."
    return Table(
        title=f"{study}: per-class accuracy on the {split} split, {how} (%)",
        columns=tuple(columns),
        sections=(Section(tuple(tuple(r) for r in rows)),),
        footnotes=tuple(accounting_notes(data)),
        legend=(legend,),
    )
