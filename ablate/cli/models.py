"""``ablate models``: every option a study can name, with what the default model costs."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from ablate.cli._app import app, console
from ablate.spec._search import PRUNER_KINDS, SAMPLER_KINDS

COSTED_KINDS = ("fusion", "visit branch")
WHERE = {  # where a study names each kind of component
    "image branch": "model.image.branch",
    "visit branch": "model.visit.branch",
    "fusion": "model.fusion",
    "loss term": "loss.terms",
}
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
            key = SEARCH_KEYS.get(kind) or WHERE.get(kind)
            table.add_row(f"[bold]{escape(kind)}[/]", f"[dim]{key}:[/]" if key else "")
        costed = row["kind"] in COSTED_KINDS and row["param_count"] is not None
        reads = ", ".join(escape(p) for p in row["parameters"])
        options = "".join(
            f"\n[dim]option:[/] {escape(o['setting'])}: {escape(o['type'])} = "
            f"{escape(o['default'])}"
            for o in row.get("options", [])
        )
        source = row.get("source", "built-in")
        table.add_row(
            escape(row["name"]) + ("" if source == "built-in" else "\n[dim](plugin)[/]"),
            escape(row["description"])
            + (f"\n[dim]reads:[/] {reads}" if reads else "")
            + options
            + ("" if source == "built-in" else f"\n[dim]from:[/] {escape(source)}"),
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
    study: Path | None = typer.Option(
        None, "--study", help="Also list the plugins this study file names, with their options."
    ),
) -> None:
    """List branches, fusions, heads, loss terms, samplers and pruners, with each one's
    options (setting, type, default); parameters and FLOPs of the default fused model
    (resnet18 + cnn2d, concat) as each fusion or visit branch varies."""
    from ablate.models import describe_options, import_plugins, option_costs  # torch

    if study is not None:
        from ablate.spec import load_study, plugin_refs

        spec, _ = load_study(study)
        import_plugins(plugin_refs(spec, study))
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
                "options": [
                    {"setting": o.setting, "type": o.type, "default": o.default}
                    for o in option.options
                ],
                "source": option.source,
            }
        )
    rows += _search_rows()
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    console.print(_table(rows, image_size))
