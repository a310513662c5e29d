"""``ablate models``: every option a study can name, with what the default model costs."""

from __future__ import annotations

import json

import typer
from rich.markup import escape
from rich.table import Table

from ablate.cli._app import app, console

COSTED_KINDS = ("fusion", "visit branch")


def _format_count(value: float) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= size:
            return f"{value / size:.2f} {unit}"
    return f"{value:.0f}"


@app.command("models")
def models(
    as_json: bool = typer.Option(False, "--json", help="Print the options as JSON."),
    image_size: int = typer.Option(
        100, "--image-size", min=8, help="Image side for the FLOP counts (data.image_size)."
    ),
) -> None:
    """List branches, fusions, heads and loss terms; parameters and FLOPs of the default
    fused model (resnet18 + cnn2d, concat) as each fusion or visit branch varies."""
    from ablate.models import describe_options, option_costs  # torch: only when asked

    options = describe_options()
    costs = option_costs(image_size=image_size)
    rows = []
    for option in options:
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
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(
        title=f"Options (params and FLOPs: default fused model, one {image_size}×{image_size} "
        "sample, varying only that option)",
        title_justify="left",
    )
    for column in ("kind", "name", "description", "reads", "params", "FLOPs"):
        table.add_column(column, justify="right" if column in ("params", "FLOPs") else "left")
    for row in rows:
        costed = row["kind"] in COSTED_KINDS
        table.add_row(
            row["kind"],
            row["name"],
            escape(row["description"]),
            escape(", ".join(row["parameters"])),
            _format_count(row["param_count"]) if costed else "",
            _format_count(row["flops"]) if costed else "",
        )
    console.print(table)
