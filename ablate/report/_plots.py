"""The four figure kinds: confusion matrices, validation curves, the loss-weight landscape of
a search study, and parameter importances. Each returns the paths it wrote."""

from __future__ import annotations

import contextlib
import textwrap
from pathlib import Path

import numpy as np
from matplotlib.ticker import MaxNLocator
from sqlalchemy import Engine

from ablate.db import study_class_scores, study_epochs
from ablate.errors import UsageError
from ablate.report._collect import (
    StudyData,
    cell_label,
    load_study_data,
    short_names,
    shown_cells,
)
from ablate.report._figures import (
    chunks,
    confusion_axes,
    fit_title,
    new_figure,
    save,
    select_cells,
    slide_style,
    summed_confusion,
)
from ablate.report._importance import param_importances
from ablate.spec._names import suggest

PLOT_KINDS = ("confusion", "curves", "weights", "importance")
OVERVIEW_PER_FIGURE = 4  # confusion matrices per overview figure (per slide)


def _spread_words(data: StudyData, n: int) -> str:
    """How the shown trials were combined, for titles."""
    if data.spec.search is not None:
        return "the best trial"
    return f"summed over {n} seed{'s' * (n != 1)}"


def plot_confusion(
    engine: Engine, study: str, *, out_dir: Path, split: str = "test",
    cells: tuple[str, ...] = (), fmt: str = "png",
) -> list[Path]:  # fmt: skip
    """Per cell: counts and row-normalised matrices summed over seeds (a search study: of its
    best trial by the objective), side by side."""
    data = load_study_data(engine, study)
    classes = study_class_scores(engine, study, split=split)
    paths = []
    with slide_style():
        for shown in shown_cells(data, select_cells(data, cells)):
            matrix, n, names = summed_confusion(classes, shown)
            if matrix is None:
                continue
            figure = new_figure((13.0, 6.4))
            left, right = figure.subplots(1, 2)
            confusion_axes(left, matrix, names, normalise=False)
            confusion_axes(right, matrix, names, normalise=True)
            left.set_title("counts")
            right.set_title("row-normalised (% of true class)")
            figure.suptitle(f"{study} · {shown.label}\n{split} split, {_spread_words(data, n)}")
            label = cell_label(shown.cell, factors=data.factors)
            paths.append(save(figure, out_dir, f"{study}_confusion_{label}", fmt))
    return paths


def plot_confusion_overview(
    engine: Engine, study: str, *, out_dir: Path, split: str = "test", fmt: str = "png"
) -> list[Path]:
    """The cells' row-normalised matrices, at most ``OVERVIEW_PER_FIGURE`` per figure (one
    slide each), so that a large study stays readable."""
    data = load_study_data(engine, study)
    classes = study_class_scores(engine, study, split=split)
    found = [(s, *summed_confusion(classes, s)) for s in shown_cells(data)]
    found = [f for f in found if f[1] is not None]
    parts = chunks(found, OVERVIEW_PER_FIGURE)
    paths = []
    how = "best trial" if data.spec.search is not None else "summed over seeds"
    # one size for all parts of a study, so that every slide shows the matrices alike
    columns = min(OVERVIEW_PER_FIGURE, max(1, len(found)))
    size = (max(6.0, 3.1 * columns + 0.8), 5.6)
    with slide_style():
        for number, part in enumerate(parts, start=1):
            figure = new_figure(size)
            axes = np.atleast_1d(figure.subplots(1, columns)).ravel()
            for index, (ax, (shown, matrix, _n, names)) in enumerate(
                zip(axes, part, strict=False)
            ):
                confusion_axes(
                    ax, matrix, names, normalise=True, compact=True, y_labels=index == 0
                )
                ax.set_title(textwrap.fill(shown.label, 34), fontsize=9)
            for ax in axes[len(part) :]:
                ax.set_visible(False)
            title = f"{study}: row-normalised confusion (%), {split} split, {how}"
            figure.suptitle(fit_title(title, size[0], 12), fontsize=12)
            stem = f"{study}_confusion_overview" + (f"_{number}" if len(parts) > 1 else "")
            paths.append(save(figure, out_dir, stem, fmt))
    return paths


def plot_curves(
    engine: Engine, study: str, *, out_dir: Path, cells: tuple[str, ...] = (), fmt: str = "png"
) -> list[Path]:
    """Validation accuracy per epoch: mean over seeds with a ±std band, one line per cell (a
    search study: its best trial by the objective)."""
    data = load_study_data(engine, study)
    history = study_epochs(engine, study)
    with slide_style():
        figure = new_figure()
        ax = figure.subplots()
        drawn = 0
        for shown in shown_cells(data, select_cells(data, cells)):
            curves = [history[t.id] for t in shown.trials if t.id in history]
            if not curves:
                continue
            length = max(len(c) for c in curves)
            grid = np.full((len(curves), length), np.nan)
            for i, curve in enumerate(curves):
                grid[i, : len(curve)] = [100.0 * e.val_accuracy for e in curve]
            mean = np.nanmean(grid, axis=0)
            std = np.nan_to_num(np.nanstd(grid, axis=0, ddof=1)) if len(curves) > 1 else 0 * mean
            epochs = np.arange(1, length + 1)
            (line,) = ax.plot(epochs, mean, label=textwrap.fill(shown.label, 40), linewidth=2)
            ax.fill_between(epochs, mean - std, mean + std, color=line.get_color(), alpha=0.2)
            drawn += 1
        if not drawn:
            return []
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel("validation accuracy (%)")
        if data.spec.search is not None:
            ax.set_title(f"{study}: validation accuracy of the best trial")
        else:
            ax.set_title(f"{study}: validation accuracy, mean ± std over seeds")
        # outside the axes, so that no curve is hidden under it however many cells there are
        figure.legend(loc="outside right upper", fontsize=8, ncols=1 + (drawn > 16))
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
    data = load_study_data(engine, study)
    if data.spec.search is None:
        raise UsageError(
            f"Parameter importances need a search study; '{study}' is a grid study (try "
            "'ablate plot curves' or 'ablate plot confusion')."
        )
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
    raise UsageError(unknown_plot(kind))


def unknown_plot(kind: str) -> str:
    """'Unknown plot 'curve'; did you mean 'curves'? Use one of: …' (the CLI says it too)."""
    kinds = ", ".join(PLOT_KINDS)
    hint = suggest(kind, PLOT_KINDS)
    return (
        f"Unknown plot '{kind}'{hint} Use one of: {kinds}."
        if hint
        else (f"Unknown plot '{kind}'; use one of: {kinds}.")
    )
