"""``ablate rerun``: train one stored trial again and say whether its numbers repeat."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from ablate.cli._app import StorageOption, app, console, storage_url


@app.command("rerun")
def rerun(
    trial: int = typer.Argument(..., min=0, help="The trial number ('ablate status' lists them)."),
    study: str = typer.Option(..., "--study", help="The study the trial belongs to."),
    storage: StorageOption = None,
    data_dir: Path = typer.Option(
        Path("db/data"), "--data-dir", help="Where built-in synthetic data is made and cached."
    ),
    device: str = typer.Option(
        "cpu", "--device", help="'cpu' (numbers must be identical) or e.g. 'cuda:0'."
    ),
) -> None:
    """Train one complete trial again from its stored resolved config and seed, with its
    stored torch thread count, in a temporary folder (the study's database and checkpoints are
    never written), and compare every number it stored: best epoch, objective, val and test
    accuracy, kappa, macro-F1, loss, per-class scores, confusion matrices and each epoch's
    losses. On the CPU they must be identical; on a GPU (train.deterministic: true) floats
    within 1e-4. Exit code 0: identical; 1: they differ; 2: bad input (e.g. a trial that is
    not complete).
    """
    from ablate.db import make_engine
    from ablate.scheduler.rerun import plan_rerun, rerun_trial

    engine = make_engine(storage_url(storage), create=False)
    plan = plan_rerun(engine, study, trial, device=device)

    def say(line: str) -> None:
        console.print(escape(line), highlight=False, soft_wrap=True)

    threads = f"{plan.threads} torch thread{'' if plan.threads == 1 else 's'}"
    say(f"rerun of trial {trial} of {study} ({plan.label}) on {device}, {threads}")
    for note in plan.notes:
        say(f"note: {note}")
    outcome = rerun_trial(engine, study, plan, data_root=data_dir, progress=say)
    colour = "green" if outcome.identical else "red"
    console.print(f"[bold {colour}]{escape(outcome.summary)}[/]", highlight=False, soft_wrap=True)
    for line in outcome.differences:
        say(f"  {line}")
    raise typer.Exit(0 if outcome.identical else 1)
