"""``ablate models``: every option a study can name, with what the default model costs."""

from __future__ import annotations

import json

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from ablate.cli._app import app, console
from ablate.spec._catalog import PRUNERS, SAMPLERS

COSTED_KINDS = ("fusion", "visit branch")
_PRUNER = "search.pruner."
_WARMUP = (f"{_PRUNER}startup_trials", f"{_PRUNER}warmup_epochs")
# What the scheduler builds for each search.sampler / search.pruner.kind name (the names come
# from the spec's catalogue; a test checks that each one is described here).
SEARCH_OPTIONS: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {
    ("sampler", "tpe"): ("Optuna's tree-structured Parzen estimator (the default)", ()),
    ("sampler", "random"): ("independent random draws from the search space", ()),
    ("sampler", "grid"): (
        "every combination of the searched values; each parameter needs 'step' or 'choices'",
        (),
    ),
    ("sampler", "gp"): ("Gaussian-process Bayesian optimisation (Optuna's GPSampler)", ()),
    ("pruner", "none"): ("never stop a trial early (grid studies always use this)", ()),
    ("pruner", "median"): ("stop a trial below the median of earlier ones at that epoch", _WARMUP),
    ("pruner", "percentile"): (
        "stop a trial below a percentile of earlier ones at that epoch",
        (f"{_PRUNER}percentile", *_WARMUP),
    ),
    ("pruner", "successive_halving"): (
        "asynchronous successive halving over epochs",
        (f"{_PRUNER}min_resource", f"{_PRUNER}reduction_factor"),
    ),
    ("pruner", "hyperband"): (
        "Hyperband over epochs (up to train.epochs)",
        (f"{_PRUNER}min_resource", f"{_PRUNER}reduction_factor", "train.epochs"),
    ),
    ("pruner", "patient"): (
        "median pruning that waits for 'patience' epochs without improvement",
        (f"{_PRUNER}patience", *_WARMUP),
    ),
}
SEARCH_KEYS = {"sampler": "search.sampler", "pruner": "search.pruner.kind"}


def _format_count(value: float) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= size:
            return f"{value / size:.2f} {unit}"
    return f"{value:.0f}"


def _search_rows() -> list[dict]:
    rows = []
    for kind, names in (("sampler", SAMPLERS), ("pruner", PRUNERS)):
        for name in names:
            description, parameters = SEARCH_OPTIONS.get((kind, name), ("", ()))
            rows.append(
                {
                    "kind": kind,
                    "name": name,
                    "description": description,
                    "parameters": list(parameters),
                    "param_count": None,
                    "flops": None,
                }
            )
    return rows


def _table(rows: list[dict], image_size: int) -> Table:
    """One row per option under a heading per kind; names a user types are never cut."""
    table = Table(
        title=f"Options (params and FLOPs: default fused model, one {image_size}×{image_size} "
        "sample, varying only that option)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=(0, 1, 0, 0),  # narrow enough that 80 columns show every settings path whole
    )
    table.add_column("name", no_wrap=True, overflow="fold")
    table.add_column("description, and the settings it reads", overflow="fold")
    table.add_column("params", justify="right", no_wrap=True)
    table.add_column("FLOPs", justify="right", no_wrap=True)
    kind = None
    for row in rows:
        if row["kind"] != kind:
            kind = row["kind"]
            key = SEARCH_KEYS.get(kind)
            table.add_row(f"[bold]{escape(kind)}[/]", f"[dim]{key}:[/]" if key else "")
        costed = row["kind"] in COSTED_KINDS and row["param_count"] is not None
        reads = ", ".join(escape(p) for p in row["parameters"])
        table.add_row(
            escape(row["name"]),
            escape(row["description"]) + (f"\n[dim]reads:[/] {reads}" if reads else ""),
            _format_count(row["param_count"]) if costed else "",
            _format_count(row["flops"]) if costed else "",
            end_section=row is not rows[-1] and rows[rows.index(row) + 1]["kind"] != kind,
        )
    return table


@app.command("models")
def models(
    as_json: bool = typer.Option(False, "--json", help="Print the options as JSON."),
    image_size: int = typer.Option(
        100, "--image-size", min=8, help="Image side for the FLOP counts (data.image_size)."
    ),
) -> None:
    """List branches, fusions, heads, loss terms, samplers and pruners; parameters and FLOPs
    of the default fused model (resnet18 + cnn2d, concat) as each fusion or visit branch
    varies."""
    from ablate.models import describe_options, option_costs  # torch: only when asked

    costs = option_costs(image_size=image_size)
    rows = []
    for option in describe_options():
        cost = costs.get((option.kind, option.name))
        rows.append(
            {
                "kind": option.kind,
                "name": option.name,
                "description": option.description,
                "parameters": list(option.parameters),
                "param_count": cost.parameters if cost else None,
                "flops": cost.flops if cost else None,
            }
        )
    rows += _search_rows()
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    console.print(_table(rows, image_size))
