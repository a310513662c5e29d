"""``ablate models``: every option a study can name, with what the default model costs."""

from __future__ import annotations

import json

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from ablate.cli._app import app, console
from ablate.spec._search import PRUNER_KINDS, SAMPLER_KINDS

COSTED_KINDS = ("fusion", "visit branch")
# Where a study file names each kind; the kinds, their descriptions and options come from the
# spec's tables.
SEARCH_TABLES = {
    "sampler": ("search.sampler", SAMPLER_KINDS),
    "pruner": ("search.pruner", PRUNER_KINDS),
}
SEARCH_KEYS = {kind: f"{section}.kind" for kind, (section, _) in SEARCH_TABLES.items()}


def _format_count(value: float) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= size:
            return f"{value / size:.2f} {unit}"
    return f"{value:.0f}"


def _search_rows() -> list[dict]:
    return [
        {
            "kind": kind,
            "name": entry.name,
            "description": entry.description,
            "parameters": list(entry.settings(section)),
            "param_count": None,
            "flops": None,
        }
        for kind, (section, table) in SEARCH_TABLES.items()
        for entry in table.values()
    ]


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
