"""From the results database to the group-meeting slides: tables, figures, decks, exports.

Importing this package is cheap (no matplotlib, pptx or scipy until a function needs them), so
that ``ablate table`` answers quickly; it never imports torch.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from ablate.report._ablation import DEFAULT_METRICS, SPLITS, ablation_table, check_split
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

# Heavier names (matplotlib, seaborn, python-pptx, optuna) load on first use.
_LAZY = {
    "PLOT_KINDS": "ablate.report._plots",
    "plot": "ablate.report._plots",
    "plot_confusion": "ablate.report._plots",
    "plot_confusion_overview": "ablate.report._plots",
    "plot_curves": "ablate.report._plots",
    "plot_importance": "ablate.report._plots",
    "plot_weights": "ablate.report._plots",
    "unknown_plot": "ablate.report._plots",
    "FIGURE_FORMATS": "ablate.report._figures",
    "write_deck": "ablate.report._deck",
    "write_markdown_report": "ablate.report._markdown_report",
    "EXPORT_FORMATS": "ablate.report._export",
    "export_study": "ablate.report._export",
    "importance_table": "ablate.report._importance",
    "param_importances": "ablate.report._importance",
    "provenance_lines": "ablate.report._provenance",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ablate.report' has no attribute '{name}'")


__all__ = [
    "DEFAULT_METRICS",
    "FORMATS",
    "MARK",
    "METRICS",
    "MIN_WILCOXON_PAIRS",
    "SPLITS",
    "Cell",
    "Column",
    "Paired",
    "Section",
    "Spread",
    "Table",
    "ablation_table",
    "check_split",
    "latex_escape",
    "paired",
    "per_class_table",
    "render",
    "search_table",
    "spread",
    "to_csv",
    "to_html",
    "to_latex",
    "to_markdown",
    "to_rich",
    *_LAZY,
]
