"""The four figure kinds: confusion matrices, validation curves, the loss-weight landscape of
a search study, and parameter importances. Each returns the paths it wrote."""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
from matplotlib.ticker import MaxNLocator
from sqlalchemy import Engine

from ablate.db import study_confusion, study_epochs
from ablate.errors import UsageError
from ablate.report._collect import cell_label, load_study_data, short_names
from ablate.report._figures import (
    confusion_axes,
    grid_shape,
    new_figure,
    save,
    select_cells,
    slide_style,
    summed_confusion,
)
from ablate.report._importance import param_importances
from ablate.spec import cell_key

PLOT_KINDS = ("confusion", "curves", "weights", "importance")


def plot_confusion(
    engine: Engine, study: str, *, out_dir: Path, split: str = "test",
    cells: tuple[str, ...] = (), fmt: str = "png",
) -> list[Path]:  # fmt: skip
    """Per cell: counts and row-normalised matrices summed over seeds, side by side."""
    data = load_study_data(engine, study)
    matrices = study_confusion(engine, study, split=split)
    paths = []
    with slide_style():
        for cell in select_cells(data, cells):
            matrix, n = summed_confusion(data, matrices, cell)
            if matrix is None:
                continue
            figure = new_figure((13.0, 5.8))
            left, right = figure.subplots(1, 2)
            confusion_axes(left, matrix, normalise=False)
            confusion_axes(right, matrix, normalise=True)
            left.set_title("counts")
            right.set_title("row-normalised (% of true class)")
            label = cell_label(cell, factors=data.factors)
            figure.suptitle(f"{study} · {label} · {split} split, summed over {n} seed(s)")
            paths.append(save(figure, out_dir, f"{study}_confusion_{label}", fmt))
    return paths


def plot_confusion_overview(
    engine: Engine, study: str, *, out_dir: Path, split: str = "test", fmt: str = "png"
) -> list[Path]:
    """All cells' row-normalised matrices in one figure (one slide)."""
    data = load_study_data(engine, study)
    matrices = study_confusion(engine, study, split=split)
    found = [(c, *summed_confusion(data, matrices, c)) for c in data.cells]
    found = [f for f in found if f[1] is not None]
    if not found:
        return []
    rows, cols = grid_shape(len(found))
    with slide_style():
        figure = new_figure((3.2 * cols + 0.5, 3.2 * rows + 0.6))
        axes = np.atleast_1d(figure.subplots(rows, cols)).ravel()
        for ax, (cell, matrix, n) in zip(axes, found, strict=False):
            confusion_axes(ax, matrix, normalise=True, compact=True)
            ax.set_title(f"{cell_label(cell, factors=data.factors)} (n={n})", fontsize=9)
        for ax in axes[len(found) :]:
            ax.set_visible(False)
        figure.suptitle(f"{study}: row-normalised confusion (%), {split} split, summed over seeds")
        return [save(figure, out_dir, f"{study}_confusion_overview", fmt)]


def plot_curves(
    engine: Engine, study: str, *, out_dir: Path, cells: tuple[str, ...] = (), fmt: str = "png"
) -> list[Path]:
    """Validation accuracy per epoch: mean over seeds with a ±std band, one line per cell."""
    data = load_study_data(engine, study)
    history = study_epochs(engine, study)
    complete = data.complete()
    with slide_style():
        figure = new_figure()
        ax = figure.subplots()
        drawn = 0
        for cell in select_cells(data, cells):
            curves = [history[t.id] for t in complete.get(cell_key(cell), {}).values()
                      if t.id in history]  # fmt: skip
            if not curves:
                continue
            length = max(len(c) for c in curves)
            grid = np.full((len(curves), length), np.nan)
            for i, curve in enumerate(curves):
                grid[i, : len(curve)] = [100.0 * e.val_accuracy for e in curve]
            mean = np.nanmean(grid, axis=0)
            std = np.nan_to_num(np.nanstd(grid, axis=0, ddof=1)) if len(curves) > 1 else 0 * mean
            epochs = np.arange(1, length + 1)
            label = f"{cell_label(cell, factors=data.factors)} (n={len(curves)})"
            (line,) = ax.plot(epochs, mean, label=label, linewidth=2)
            ax.fill_between(epochs, mean - std, mean + std, color=line.get_color(), alpha=0.2)
            drawn += 1
        if not drawn:
            return []
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel("validation accuracy (%)")
        ax.set_title(f"{study}: validation accuracy, mean ± std over seeds")
        ax.legend(loc="lower right", fontsize=8)
        return [save(figure, out_dir, f"{study}_curves", fmt)]


def plot_weights(
    engine: Engine, study: str, *, out_dir: Path, params: tuple[str, ...] = (), fmt: str = "png"
) -> list[Path]:
    """Objective over two searched parameters (e.g. the a×b loss weights), trial by trial."""
    data = load_study_data(engine, study)
    searched = list(data.spec.search.params) if data.spec.search else []
    numeric = [p for p in searched if data.spec.search.params[p].choices is None]  # type: ignore[union-attr]
    chosen = list(params) or numeric[:2]
    if len(chosen) != 2 or any(p not in searched for p in chosen):
        raise UsageError(
            f"The weight landscape needs two searched parameters of study '{study}'"
            f" (it searches: {', '.join(searched) or 'none'})."
        )
    complete = [
        r.final for r in data.runs if r.state == "complete" and r.final.objective is not None
    ]
    pruned = [r.final for r in data.runs if r.state == "pruned"]
    if not complete:
        return []
    x_name, y_name = chosen
    names = short_names(tuple(chosen))
    scale = 1.0 if data.spec.objective.metric.endswith("loss") else 100.0
    x = np.array([t.params[x_name] for t in complete], dtype=float)
    y = np.array([t.params[y_name] for t in complete], dtype=float)
    z = scale * np.array([t.objective for t in complete], dtype=float)
    with slide_style():
        figure = new_figure((8.0, 6.0))
        ax = figure.subplots()
        if len(complete) >= 4:
            # collinear points cannot be triangulated: the scatter alone then
            with contextlib.suppress(ValueError, RuntimeError):
                ax.tricontourf(x, y, z, levels=12, cmap="viridis", alpha=0.35)
        points = ax.scatter(x, y, c=z, cmap="viridis", edgecolors="black", s=45, zorder=3)
        if pruned:
            px = [t.params.get(x_name, np.nan) for t in pruned]
            py = [t.params.get(y_name, np.nan) for t in pruned]
            ax.scatter(px, py, marker="x", color="grey", label=f"pruned ({len(pruned)})")
            ax.legend(loc="upper right", fontsize=8)
        unit = "" if scale == 1.0 else " (%)"
        figure.colorbar(points, ax=ax, label=f"{data.spec.objective.metric}{unit}")
        bounds = data.spec.search.params  # type: ignore[union-attr]
        ax.set_xlim(bounds[x_name].low, bounds[x_name].high)
        ax.set_ylim(bounds[y_name].low, bounds[y_name].high)
        ax.set_xlabel(names[x_name])
        ax.set_ylabel(names[y_name])
        ax.set_title(f"{study}: {data.spec.objective.metric} by {names[x_name]} × {names[y_name]}")
        return [save(figure, out_dir, f"{study}_weights", fmt)]


def plot_importance(engine: Engine, study: str, *, out_dir: Path, fmt: str = "png") -> list[Path]:
    values = param_importances(engine, study)
    if not values:
        return []
    names = short_names(tuple(values))
    with slide_style():
        figure = new_figure((8.0, 1.2 + 0.6 * len(values)))
        ax = figure.subplots()
        labels = [names[p] for p in values][::-1]
        ax.barh(labels, list(values.values())[::-1], color="#4c72b0")
        ax.set_xlabel("importance (fANOVA)")
        ax.set_title(f"{study}: parameter importances")
        return [save(figure, out_dir, f"{study}_importance", fmt)]


def plot(kind: str, engine: Engine, study: str, *, out_dir: Path, split: str = "test",
         cells: tuple[str, ...] = (), fmt: str = "png") -> list[Path]:  # fmt: skip
    """Dispatch for the CLI: ``kind`` is one of PLOT_KINDS."""
    if kind == "confusion":
        return plot_confusion(engine, study, out_dir=out_dir, split=split, cells=cells, fmt=fmt)
    if kind == "curves":
        return plot_curves(engine, study, out_dir=out_dir, cells=cells, fmt=fmt)
    if kind == "weights":
        return plot_weights(engine, study, out_dir=out_dir, fmt=fmt)
    if kind == "importance":
        return plot_importance(engine, study, out_dir=out_dir, fmt=fmt)
    raise UsageError(f"Unknown plot '{kind}'; use one of: {', '.join(PLOT_KINDS)}.")
