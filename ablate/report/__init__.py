"""From the results database to the group-meeting slides: tables, figures, decks, exports.

Importing this package is cheap (no matplotlib, pptx or scipy until a function needs them), so
that ``ablate table`` answers quickly; it never imports torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ablate._lazy import lazy_exports
from ablate.report._ablation import DEFAULT_METRICS, SPLITS, ablation_table, check_split
from ablate.report._confirm import confirm_table
from ablate.report._cross import BaselineChoice, StudyPart, cross_study_table, parse_baseline
from ablate.report._model import Cell, Column, Section, Table
from ablate.report._numbers import METRICS
from ablate.report._per_class import per_class_table
from ablate.report._render import (
    FORMATS,
    latex_escape,
    render,
    to_csv,
    to_html,
    to_latex,
    to_markdown,
    to_rich,
)
from ablate.report._search import search_table
from ablate.report._stats import MARK, MIN_WILCOXON_PAIRS, Paired, Spread, paired, spread
from ablate.report._table_file import TableFile, file_table, load_table_file

# Heavier names (matplotlib, seaborn, python-pptx, optuna) load on first use.
_HOMES = {
    "PLOT_KINDS": "_plots",
    "plot": "_plots",
    "plot_confusion": "_plots",
    "plot_confusion_overview": "_plots",
    "plot_curves": "_plots",
    "plot_importance": "_plots",
    "plot_weights": "_plots",
    "unknown_plot": "_plots",
    "FIGURE_FORMATS": "_figures",
    "write_deck": "_deck",
    "write_markdown_report": "_markdown_report",
    "EXPORT_FORMATS": "_export",
    "export_study": "_export",
    "importance_table": "_importance",
    "param_importances": "_importance",
    "provenance_lines": "_provenance",
}

if TYPE_CHECKING:
    from ablate.report._deck import write_deck
    from ablate.report._export import EXPORT_FORMATS, export_study
    from ablate.report._figures import FIGURE_FORMATS
    from ablate.report._importance import importance_table, param_importances
    from ablate.report._markdown_report import write_markdown_report
    from ablate.report._plots import (
        PLOT_KINDS,
        plot,
        plot_confusion,
        plot_confusion_overview,
        plot_curves,
        plot_importance,
        plot_weights,
        unknown_plot,
    )
    from ablate.report._provenance import provenance_lines

__getattr__ = lazy_exports(__name__, _HOMES)

__all__ = [
    "DEFAULT_METRICS",
    "EXPORT_FORMATS",
    "FIGURE_FORMATS",
    "FORMATS",
    "MARK",
    "METRICS",
    "MIN_WILCOXON_PAIRS",
    "PLOT_KINDS",
    "SPLITS",
    "BaselineChoice",
    "Cell",
    "Column",
    "Paired",
    "Section",
    "Spread",
    "StudyPart",
    "Table",
    "TableFile",
    "ablation_table",
    "check_split",
    "confirm_table",
    "cross_study_table",
    "export_study",
    "file_table",
    "importance_table",
    "latex_escape",
    "load_table_file",
    "paired",
    "param_importances",
    "parse_baseline",
    "per_class_table",
    "plot",
    "plot_confusion",
    "plot_confusion_overview",
    "plot_curves",
    "plot_importance",
    "plot_weights",
    "provenance_lines",
    "render",
    "search_table",
    "spread",
    "to_csv",
    "to_html",
    "to_latex",
    "to_markdown",
    "to_rich",
    "unknown_plot",
    "write_deck",
    "write_markdown_report",
]
