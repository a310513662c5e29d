"""Figures at slide resolution, rendered by matplotlib's Agg canvas (no display, no pyplot
state), one seaborn style for all."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ablate.errors import UsageError
from ablate.report._collect import StudyData, cell_label, format_value, short_names
from ablate.spec import CLASS_NAMES, cell_key

FIGURE_FORMATS = ("png", "pdf")
DPI = 150  # 10 in wide → 1500 px: sharp on a 16:9 slide
SLIDE_SIZE = (10.0, 5.6)


@contextmanager
def slide_style() -> Iterator[None]:
    import seaborn as sns

    with sns.axes_style("whitegrid"), sns.plotting_context("notebook", font_scale=1.0):
        yield


def new_figure(size: tuple[float, float] = SLIDE_SIZE) -> Figure:
    figure = Figure(figsize=size, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def save(figure: Figure, out_dir: Path, stem: str, fmt: str) -> Path:
    if fmt not in FIGURE_FORMATS:
        raise UsageError(
            f"Unknown figure format '{fmt}'; use one of: {', '.join(FIGURE_FORMATS)}."
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{slug(stem)}.{fmt}"
    figure.savefig(path, dpi=DPI, format=fmt)
    return path


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", text).strip("_") or "figure"


def short_class(name: str) -> str:
    word = name.split()[0]
    return word if len(word) <= 7 else word[:6] + "."


def select_cells(data: StudyData, filters: tuple[str, ...]) -> list[dict[str, Any]]:
    """Cells matching every 'factor=value' filter ('fusion=sum' or 'model.fusion=sum')."""
    from ablate.spec._names import suggest

    names = short_names(data.factors)
    by_name = {**{v: k for k, v in names.items()}, **{f: f for f in data.factors}}
    wanted: dict[str, str] = {}
    for item in filters:
        key, sep, value = item.partition("=")
        if not sep or key not in by_name:
            hint = suggest(key, list(by_name)) or f"; the factors are: {', '.join(by_name)}."
            raise UsageError(
                f"Bad --cell '{item}': expected FACTOR=VALUE with a grid factor{hint}"
            )
        wanted[by_name[key]] = value
    cells = [c for c in data.cells if all(format_value(c.get(k)) == v for k, v in wanted.items())]
    if not cells:
        labels = "; ".join(cell_label(c, factors=data.factors) for c in data.cells)
        raise UsageError(f"No cell matches {', '.join(filters)}; the cells are: {labels}.")
    return cells


def summed_confusion(data: StudyData, matrices: dict[int, list[list[int]]], cell: dict) -> Any:
    trials = data.complete().get(cell_key(cell), {}).values()
    found = [np.asarray(matrices[t.id]) for t in trials if t.id in matrices]
    return (sum(found), len(found)) if found else (None, 0)


def confusion_axes(ax: Any, matrix: Any, *, normalise: bool, compact: bool = False) -> None:
    import seaborn as sns

    size = matrix.shape[0]
    labels = [short_class(n) for n in CLASS_NAMES[:size]] if compact else list(CLASS_NAMES[:size])
    if normalise:
        totals = matrix.sum(axis=1, keepdims=True)
        values = np.divide(
            matrix, totals, out=np.zeros_like(matrix, dtype=float), where=totals > 0
        )
        values = 100.0 * values
        annot, fmt, vmax = values, ".0f", 100.0
    else:
        values, annot, fmt, vmax = matrix, matrix, "d", None
    sns.heatmap(
        values, ax=ax, annot=annot, fmt=fmt, cmap="Blues", vmin=0.0, vmax=vmax, cbar=not compact,
        square=True, xticklabels=labels, yticklabels=labels,
        annot_kws={"fontsize": 6 if compact else 8},
    )  # fmt: skip
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_xticklabels(labels, rotation=45, ha="right", rotation_mode="anchor")
    ax.tick_params(axis="x", labelsize=6 if compact else 8)
    ax.tick_params(axis="y", labelrotation=0, labelsize=6 if compact else 8)


def grid_shape(n: int, *, max_cols: int = 4) -> tuple[int, int]:
    cols = min(max_cols, max(1, n))
    return math.ceil(n / cols), cols
