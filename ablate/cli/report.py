"""Commands that read the results database: studies, table, plot, report, export.

Each opens the database, calls one ``ablate.report`` function and prints; the library is
imported inside the command so that ``ablate --help`` stays fast and nothing pulls in torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ablate.cli._app import StorageOption, app, console, storage_url
from ablate.errors import UsageError

if TYPE_CHECKING:
    from sqlalchemy import Engine

STUDY_STATES = ("complete", "running", "interrupted", "failed", "pruned")  # then any others
STUDY_HELP = "Study name, as in the study file's 'name:' (see 'ablate studies')."


def _engine(storage: str | None) -> Engine:
    from ablate.db import make_engine

    return make_engine(storage_url(storage), create=False)


@app.command("studies")
def studies_command(
    storage: StorageOption = None,
) -> None:
    """List the studies in the results database: kind, trials by state (interrupted and any
    other state included), and the time of the last trial activity."""
    from rich.table import Table

    from ablate.db import list_studies

    summaries = list_studies(_engine(storage))
    if not summaries:
        console.print("The results database holds no studies yet: run 'ablate run STUDY.yaml'.")
        return
    states = [*STUDY_STATES]
    states += sorted({k for s in summaries for k in s.counts} - set(STUDY_STATES))
    table = Table(title="Studies")
    for title in ("name", "kind", *states, "last activity (UTC)"):
        table.add_column(title, justify="left" if title in ("name", "kind") else "right")
    for s in summaries:
        counts = [str(s.counts.get(k, 0)) for k in states]
        table.add_row(s.name, s.kind, *counts, f"{s.updated_at:%Y-%m-%d %H:%M}")
    console.print(table)


@app.command("table")
def table_command(
    study: list[str] = typer.Option(
        None, "--study", "-s", help=STUDY_HELP + " Repeat for one table across studies."
    ),
    table_file: Path | None = typer.Option(
        None,
        "--from",
        help="A table file (YAML: title, studies with optional labels, baseline, references, "
        "metrics, split) naming a cross-study table; instead of --study.",
    ),
    baseline: str | None = typer.Option(
        None,
        "--baseline",
        help="Across studies: the one cell every row is compared with, as "
        "STUDY:FACTOR=VALUE[,FACTOR=VALUE]. Default: the first study's baseline.",
    ),
    split: str | None = typer.Option(
        None, "--split", help="Which split's final metrics: val or test (default: test)."
    ),
    metric: list[str] = typer.Option(
        None,
        "--metric",
        "-m",
        help="Metric column(s): accuracy, kappa, macro_f1; repeat the option. "
        "Default: accuracy and kappa.",
    ),
    seed_budget: bool = typer.Option(
        False,
        "--seed-budget",
        help="Per compared row: the smallest |Δ| its seeds can detect (MDE, power 0.8) and "
        "the seeds the target difference would need.",
    ),
    target_delta: float | None = typer.Option(
        None,
        "--target-delta",
        help="The difference (pp) the seed count is for; implies --seed-budget. Default: "
        "each row's observed |Δ|.",
    ),
    fmt: str = typer.Option(
        "rich", "--format", "-f", help="rich (terminal), markdown, latex, csv or html."
    ),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write to this file instead."),
    per_class: bool = typer.Option(
        False, "--per-class", help="Per-class accuracy (a column per class) by cell instead."
    ),
    top: int = typer.Option(10, "--top", help="Search studies: how many best trials to show."),
    storage: StorageOption = None,
) -> None:
    """The results table: one row per ablation cell, mean ± std over seeds, Δ and paired tests
    against the baseline, published references apart, failed runs in footnotes.

    Several --study (or --from FILE) make one table with a section per study, every row
    compared with one baseline, and parameters and FLOPs. A search study gets its best
    trials by objective and the parameter importances instead."""
    from ablate import report

    if fmt not in report.FORMATS:
        raise UsageError(f"Unknown table format '{fmt}'; use one of: {', '.join(report.FORMATS)}.")
    studies = list(study or [])
    if table_file is not None and studies:
        raise UsageError("Give either --from TABLE.yaml or --study NAME, not both.")
    if table_file is None and not studies:
        raise UsageError(
            "Name the study: --study NAME (repeat it for one table across studies), or "
            "--from TABLE.yaml."
        )
    metrics = tuple(metric) if metric else None
    choice = report.parse_baseline(baseline) if baseline is not None else None
    cross = table_file is not None or len(studies) > 1 or choice is not None
    if per_class and cross:
        raise UsageError("--per-class shows one study at a time; give a single --study.")
    engine = _engine(storage)
    budget = {"seed_budget": seed_budget, "target_delta": target_delta}
    if table_file is not None:
        tables = [
            report.file_table(
                engine, report.load_table_file(table_file), split=split, metrics=metrics,
                baseline=choice, **budget,
            )
        ]  # fmt: skip
    elif cross:
        parts = [report.StudyPart(name) for name in studies]
        tables = [
            report.cross_study_table(
                engine, parts, baseline=choice, split=split or "test",
                metrics=metrics or report.DEFAULT_METRICS, **budget,
            )
        ]  # fmt: skip
    else:
        tables = _study_tables(
            engine, studies[0], split=split or "test", metrics=metrics or report.DEFAULT_METRICS,
            per_class=per_class, top=top, **budget,
        )  # fmt: skip
    if fmt == "rich" and out is None:
        for table in tables:
            console.print(report.to_rich(table))
        return
    text = "\n".join(report.render(t, "markdown" if fmt == "rich" else fmt) for t in tables)
    if out is None:
        console.out(text, end="", highlight=False)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        console.print(f"Wrote {out}")


def _study_tables(
    engine: Engine, study: str, *, split: str, metrics: tuple[str, ...], per_class: bool,
    top: int, seed_budget: bool, target_delta: float | None,
) -> list:  # fmt: skip
    from ablate import report

    if per_class:
        return [report.per_class_table(engine, study, split=split)]
    if _is_search(engine, study):
        confirmed = report.confirm_table(
            engine, study, split=split, metrics=metrics, seed_budget=seed_budget,
            target_delta=target_delta,
        )  # fmt: skip
        if confirmed is None and (seed_budget or target_delta is not None):
            raise UsageError(
                f"Study '{study}' is a search study without a finished confirmation: "
                "--seed-budget and --target-delta apply to paired comparisons (grid studies, "
                "or a search's search.confirm once its trials have finished)."
            )
        tables = [report.search_table(engine, study, split=split, metrics=metrics, top=top)]
        importance = report.importance_table(engine, study)
        tables += [importance] if importance.sections[0].rows else []
        return ([confirmed] if confirmed is not None else []) + tables
    return [
        report.ablation_table(
            engine, study, split=split, metrics=metrics, seed_budget=seed_budget,
            target_delta=target_delta,
        )
    ]  # fmt: skip


def _is_search(engine: Engine, study: str) -> bool:
    from ablate.db import get_study

    return get_study(engine, study).kind == "search"


@app.command("plot")
def plot_command(
    kind: str = typer.Argument(..., help="confusion, curves, weights or importance."),
    study: str = typer.Option(..., "--study", "-s", help=STUDY_HELP),
    cell: list[str] = typer.Option(
        None, "--cell", help="Only cells with FACTOR=VALUE (e.g. fusion=concat); repeatable."
    ),
    split: str = typer.Option("test", "--split", help="Confusion matrices: val or test."),
    out: Path = typer.Option(Path("figures"), "--out", "-o", help="Folder for the figures."),
    fmt: str = typer.Option("png", "--format", "-f", help="png or pdf."),
    storage: StorageOption = None,
) -> None:
    """Figures for slides: confusion matrices (counts and row-normalised, summed over seeds),
    validation curves (mean ± std over seeds), the loss-weight landscape of a search study,
    parameter importances."""
    from ablate.report import PLOT_KINDS, plot, unknown_plot

    if kind not in PLOT_KINDS:
        raise UsageError(unknown_plot(kind))
    engine = _engine(storage)
    paths = plot(kind, engine, study, out_dir=out, split=split, cells=tuple(cell or ()), fmt=fmt)
    if not paths:
        console.print(f"Nothing to draw: study '{study}' has no complete trial with that data.")
    for path in paths:
        console.print(f"Wrote {path}")


@app.command("report")
def report_command(
    study: list[str] = typer.Option(..., "--study", "-s", help=STUDY_HELP + " Repeatable."),
    out: Path = typer.Option(
        ..., "--out", "-o", help="meeting.pptx for a PowerPoint deck, or report.md for markdown."
    ),
    split: str = typer.Option("test", "--split", help="Which split's final metrics: val or test."),
    baseline: str | None = typer.Option(
        None,
        "--baseline",
        help="With several studies: the cell the cross-study table compares every row with, "
        "STUDY:FACTOR=VALUE[,FACTOR=VALUE]. Default: the first study's baseline.",
    ),
    storage: StorageOption = None,
) -> None:
    """Slides for the group meeting: per study a native (editable) table, confusion matrices
    and validation curves, with provenance in the speaker notes; with several grid studies
    first one table across them."""
    from ablate.report import check_split, parse_baseline, write_deck, write_markdown_report

    check_split(split)
    choice = parse_baseline(baseline) if baseline is not None else None
    engine = _engine(storage)
    suffix = out.suffix.lower()
    if suffix == ".pptx":
        written = write_deck(engine, list(study), out, split=split, baseline=choice)
    elif suffix in (".md", ".markdown"):
        written = write_markdown_report(engine, list(study), out, split=split, baseline=choice)
    else:
        raise UsageError(f"Cannot tell the report format of '{out}'; name it *.pptx or *.md.")
    console.print(f"Wrote {written}")


@app.command("export")
def export_command(
    study: str = typer.Option(..., "--study", "-s", help=STUDY_HELP),
    fmt: str = typer.Option("csv", "--format", "-f", help="csv, or parquet (needs pyarrow)."),
    out: Path = typer.Option(Path("export"), "--out", "-o", help="Folder for the files."),
    storage: StorageOption = None,
) -> None:
    """Trials, results, per-class metrics, confusion matrices and epochs as files for pandas."""
    from ablate.report import export_study

    for path in export_study(_engine(storage), study, out, fmt=fmt):
        console.print(f"Wrote {path}")
