"""``ablate check``: does a study's run resume exactly where it stopped? Trains a tiny version."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from ablate.cli._app import app, console


@app.command("check")
def check(
    study_file: Path = typer.Argument(..., help="The study YAML, e.g. studies/quickstart.yaml."),
    epochs: int = typer.Option(3, "--epochs", min=2, help="Epochs of the tiny run."),
    stop_after: int = typer.Option(
        1, "--stop-after", min=1, help="Interrupt during the epoch after this one."
    ),
    train_limit: int | None = typer.Option(
        None, "--train-limit", min=9, help="Train on only the first N training rows."
    ),
    batch_size: int | None = typer.Option(
        None, "--batch-size", min=1, help="A smaller batch than the study's."
    ),
    data_dir: Path = typer.Option(
        Path("db/data"), "--data-dir", help="Where built-in synthetic data is made and cached."
    ),
) -> None:
    """Verify that a run of the study resumes exactly: train its first run, shrunk to a few
    epochs, once uninterrupted, once more (to see it is deterministic), once interrupted
    during epoch --stop-after + 1, and once resumed from that checkpoint; the resumed run must
    give every epoch's numbers and the final scores of the uninterrupted one. Where it does
    not, it says what the checkpoint failed to carry (weights, optimiser state, RNG state,
    data order). Runs on the CPU with one torch thread, in a temporary folder: the results
    database and the study's checkpoints are never touched. Exit code 0: verified; 1: the
    runs differ; 2: bad input, or a study this check cannot run yet.
    """
    from ablate.scheduler.check import Verdict, check_resume, plan_check
    from ablate.spec import load_study

    spec, _text = load_study(study_file)
    plan = plan_check(
        spec, epochs=epochs, stop_after=stop_after, train_limit=train_limit, batch_size=batch_size
    )

    def say(line: str) -> None:
        console.print(escape(line), highlight=False, soft_wrap=True)

    say(f"check of {spec.name}: its first run ({plan.label}) on the CPU, 1 torch thread")
    say(f"shrunk: {', '.join(plan.shrunk)}" if plan.shrunk else "shrunk: nothing")
    outcome = check_resume(spec, plan, spec_path=study_file, data_root=data_dir, progress=say)
    colour = "green" if outcome.verdict is Verdict.VERIFIED else "red"
    console.print(f"[bold {colour}]{escape(outcome.summary)}[/]", highlight=False, soft_wrap=True)
    for line in outcome.details:
        say(f"  {line}")
    raise typer.Exit(outcome.verdict.exit_code)
