"""What one study contributes to a deck or a markdown report (tables, figures, provenance)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from ablate.report._ablation import ablation_table
from ablate.report._collect import load_study_data
from ablate.report._importance import importance_table
from ablate.report._model import Table
from ablate.report._plots import (
    plot_confusion_overview,
    plot_curves,
    plot_importance,
    plot_weights,
)
from ablate.report._provenance import provenance_lines
from ablate.report._search import search_table


@dataclass(frozen=True)
class StudySlides:
    name: str
    description: str
    tables: list[tuple[str, Table]]
    figures: list[tuple[str, Path | None]]
    provenance: list[str]


def _first(paths: list[Path]) -> Path | None:
    return paths[0] if paths else None


def study_slides(engine: Engine, study: str, out_dir: Path, *, split: str = "test") -> StudySlides:
    data = load_study_data(engine, study)
    if data.spec.kind == "search":
        tables = [("best trials", search_table(engine, study, split=split))]
        importance = importance_table(engine, study)
        if importance.sections[0].rows:
            tables.append(("parameter importances", importance))
    else:
        tables = [("results", ablation_table(engine, study, split=split))]
    figures: list[tuple[str, Path | None]] = [
        (f"confusion matrices ({split})",
         _first(plot_confusion_overview(engine, study, out_dir=out_dir, split=split))),
        ("validation curves", _first(plot_curves(engine, study, out_dir=out_dir))),
    ]  # fmt: skip
    if data.spec.search is not None:
        numeric = [p for p, s in data.spec.search.params.items() if s.choices is None]
        if len(numeric) >= 2:
            figures.append(
                ("loss-weight landscape", _first(plot_weights(engine, study, out_dir=out_dir)))
            )
        figures.append(
            ("parameter importances", _first(plot_importance(engine, study, out_dir=out_dir)))
        )
    return StudySlides(
        name=study,
        description=data.record.description,
        tables=tables,
        figures=figures,
        provenance=provenance_lines(engine, data),
    )
