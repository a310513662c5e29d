"""Figures at slide resolution, rendered by matplotlib's Agg canvas (no display, no pyplot
state), one seaborn style for all."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ablate.errors import UsageError
from ablate.report._collect import Shown, StudyData, match_cells
from ablate.results import ClassScores

FIGURE_FORMATS = ("png", "pdf")
DPI = 150  # 10 in wide → 1500 px: sharp on a 16:9 slide
SLIDE_SIZE = (10.0, 5.6)
EMBED_FONTS = {"pdf.fonttype": 42, "ps.fonttype": 42}


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
    import matplotlib

    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{slug(stem)}.{fmt}"
    # TrueType (42), not Type 3, fonts in PDFs: IEEE PDF eXpress rejects Type 3. A context,
    # so that the rcParams of the caller's process are left as they were.
    with matplotlib.rc_context(EMBED_FONTS):
        figure.savefig(path, dpi=DPI, format=fmt)
    return path


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", text).strip("_") or "figure"


def select_cells(data: StudyData, filters: tuple[str, ...]) -> list[dict[str, Any]]:
    """Cells matching every 'factor=value' filter ('fusion=sum' or 'model.fusion=sum')."""
    return match_cells(data, filters, option="--cell")


def summed_confusion(
    classes: dict[int, ClassScores], shown: Shown
) -> tuple[Any, int, tuple[str, ...]]:
    """The confusion matrix summed over the shown trials, how many had one, and the class
    names (as the data named them)."""
    found = [classes[t.id] for t in shown.trials if t.id in classes]
    if not found:
        return None, 0, ()
    return sum(np.asarray(c.confusion) for c in found), len(found), found[0].names


def confusion_axes(
    ax: Any,
    matrix: Any,
    names: tuple[str, ...],
    *,
    normalise: bool,
    compact: bool = False,
    y_labels: bool = True,
) -> None:
    """A heatmap with the full class names (never abbreviated): rotated x labels, and smaller
    text when ``compact`` (several matrices side by side)."""
    import seaborn as sns

    size = matrix.shape[0]
    labels = [names[i] if i < len(names) else f"class {i}" for i in range(size)]
    if normalise:
        totals = matrix.sum(axis=1, keepdims=True)
        values = np.divide(
            matrix, totals, out=np.zeros_like(matrix, dtype=float), where=totals > 0
        )
        values = 100.0 * values
        annot, fmt, vmax = values, ".0f", 100.0
    else:
        values, annot, fmt, vmax = matrix, matrix, "d", None
    text = 7 if compact else 8
    sns.heatmap(
        values, ax=ax, annot=annot, fmt=fmt, cmap="Blues", vmin=0.0, vmax=vmax, cbar=not compact,
        square=True, xticklabels=labels, yticklabels=labels if y_labels else False,
        annot_kws={"fontsize": text},
    )  # fmt: skip
    ax.set_xlabel("predicted", fontsize=text + 1)
    ax.set_ylabel("true" if y_labels else "", fontsize=text + 1)
    ax.set_xticklabels(labels, rotation=45, ha="right", rotation_mode="anchor")
    ax.tick_params(axis="x", labelsize=text)
    ax.tick_params(axis="y", labelrotation=0, labelsize=text)


def fit_title(text: str, width_in: float, size: float) -> str:
    """``text`` wrapped to the figure's width (a figure clips a title wider than itself)."""
    import textwrap

    chars = max(20, int(0.9 * width_in * 72 / (0.6 * size)))
    return textwrap.fill(text, chars)


def chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
