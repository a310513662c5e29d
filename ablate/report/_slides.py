"""What one study contributes to a deck or a markdown report (tables, figures, provenance)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from ablate.db import get_study
from ablate.errors import UsageError
from ablate.report._ablation import ablation_table
from ablate.report._collect import load_study_data
from ablate.report._confirm import confirm_table
from ablate.report._cross import BaselineChoice, StudyPart, cross_study_table
from ablate.report._model import Table
from ablate.report._per_class import per_class_table
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
    """Tables (results with parameters and FLOPs, per-class accuracy) and figures (confusion
    matrices, a few per slide; curves; for a search the landscape and importances)."""
    data = load_study_data(engine, study)
    if data.spec.kind == "search":
        tables = [("best trials", search_table(engine, study, split=split))]
        if (confirmed := confirm_table(engine, study, split=split)) is not None:
            tables.insert(0, ("confirmed over seeds", confirmed))
    else:
        tables = [("results", ablation_table(engine, study, split=split, costs=True))]
    tables.append((f"per-class accuracy ({split})", per_class_table(engine, study, split=split)))
    confusion = plot_confusion_overview(engine, study, out_dir=out_dir, split=split)
    title = f"confusion matrices ({split})"
    figures: list[tuple[str, Path | None]] = [
        (title if len(confusion) < 2 else f"{title} ({i}/{len(confusion)})", path)
        for i, path in enumerate(confusion, start=1)
    ] or [(title, None)]
    figures.append(("validation curves", _first(plot_curves(engine, study, out_dir=out_dir))))
    if data.spec.search is not None:
        numeric = [p for p, s in data.spec.search.params.items() if s.choices is None]
        if len(numeric) >= 2:
            figures.append(
                ("loss-weight landscape", _first(plot_weights(engine, study, out_dir=out_dir)))
            )
        # the figure only: the same numbers as a table would say it twice
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


CROSS_TITLE = "all studies: results"


def cross_table(
    engine: Engine, studies: list[str], *, split: str, baseline: BaselineChoice | None
) -> Table | None:
    """One table across the grid studies (None for fewer than two), all compared with one
    baseline, with parameters and FLOPs."""
    grid = [name for name in studies if get_study(engine, name).kind == "grid"]
    if len(grid) < 2:
        if baseline is not None:
            raise UsageError(
                "--baseline chooses the cell of the table across studies, which needs two or "
                "more grid studies; give more --study or leave --baseline out."
            )
        return None
    parts = [StudyPart(n) for n in grid]
    if baseline is not None:
        return cross_study_table(engine, parts, baseline=baseline, split=split)
    try:  # a deck of several studies must not fail for want of a single baseline cell
        return cross_study_table(engine, parts, baseline=None, split=split)
    except UsageError:
        return None  # the first study's baseline is not one cell: each study's own slides
