"""Scale-out and upkeep: ``ablate slurm``, ``ablate db …``, ``ablate dashboard``."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import typer

from ablate.cli._app import StorageOption, app, console, storage_url
from ablate.errors import UsageError

db_app = typer.Typer(
    help=(
        "Look after the results database: upgrade its schema, copy studies between databases, "
        "delete or rename a study."
    ),
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")


@app.command("slurm")
def slurm(
    study_file: Path = typer.Argument(..., help="The study YAML, e.g. studies/fusion.yaml."),
    nodes: int = typer.Option(..., "--nodes", min=1, help="Array tasks: one per node."),
    gpus_per_node: int = typer.Option(
        ..., "--gpus-per-node", min=0, help="GPUs per task (--gres=gpu:G); 0 trains on CPUs."
    ),
    time: str = typer.Option("24:00:00", "--time", help="Time limit per task (D-HH:MM:SS)."),
    partition: str | None = typer.Option(None, "--partition", help="Slurm partition."),
    account: str | None = typer.Option(None, "--account", help="Slurm account to charge."),
    array_parallelism: int | None = typer.Option(
        None, "--array-parallelism", min=1, help="At most this many tasks at once (--array=…%P)."
    ),
    cpus_per_task: int = typer.Option(8, "--cpus-per-task", min=1, help="CPU cores per task."),
    cpu_slots: int = typer.Option(
        1, "--cpu-slots", min=1, help="Parallel trials per task when --gpus-per-node is 0."
    ),
    mem: str | None = typer.Option(None, "--mem", help="Memory per task, e.g. 64G."),
    sbatch_args: list[str] = typer.Option(
        [], "--sbatch-arg", help="Extra #SBATCH option, e.g. --sbatch-arg=--qos=high (repeat)."
    ),
    storage: StorageOption = None,
    submit: bool = typer.Option(False, "--submit", help="Submit with sbatch after writing it."),
    out: Path | None = typer.Option(
        None, "--out", help="Write the script here (default: runs/<study>/slurm-<time>.sbatch)."
    ),
) -> None:
    """Write (and optionally submit) an sbatch array job that runs a study on N nodes.

    Every task runs 'ablate run STUDY.yaml' against the same database, so use PostgreSQL for
    more than one node. A password in the storage URL never goes into the script: it travels
    in $ABLATE_STORAGE from the submitting shell. Tasks stop and requeue themselves two minutes
    before the time limit; interrupted trials resume from their last epoch checkpoint.
    """
    from ablate.scheduler.slurm import render_sbatch, submit_sbatch, write_sbatch
    from ablate.spec import load_study

    spec, _text = load_study(study_file)
    url = storage_url(storage)
    script = render_sbatch(
        study_file,
        storage_url=url,
        nodes=nodes,
        gpus_per_node=gpus_per_node,
        time=time,
        partition=partition,
        account=account,
        array_parallelism=array_parallelism,
        cpus_per_task=cpus_per_task,
        mem=mem,
        extra_args=sbatch_args,
        study_name=spec.name,
        cpu_slots=cpu_slots,
    )
    (Path("runs") / spec.name).mkdir(parents=True, exist_ok=True)  # Slurm writes logs there
    if out is None:
        path = write_sbatch(script, study_name=spec.name)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(script)
        path = out
    console.print(f"Wrote {path}", highlight=False)
    if submit:
        job_id = submit_sbatch(path, storage_url=url)
        console.print(
            f"Submitted array job {job_id} ({nodes} task(s)); logs: runs/{spec.name}/"
            f"slurm-{job_id}_<task>.out; progress: ablate status --study {spec.name}",
            highlight=False,
        )
    else:
        console.print(f"Submit it with: sbatch {path}", highlight=False)


@db_app.command("upgrade")
def db_upgrade(storage: StorageOption = None) -> None:
    """Apply every pending schema migration, including those not applied automatically.

    'ablate run' applies additive migrations by itself; run this (with nothing running on the
    database) when it asks you to.
    """
    from ablate.db import make_engine, redact, upgrade_database

    url = storage_url(storage)
    engine = make_engine(url)
    try:
        result = upgrade_database(engine)
    finally:
        engine.dispose()
    if result.changed:
        before = result.before or "empty"
        message = f"Upgraded {redact(url)} from schema revision {before} to {result.after}."
    else:
        message = f"{redact(url)} is already at the newest schema revision ({result.after})."
    console.print(message, highlight=False)


@db_app.command("copy")
def db_copy(
    src: str = typer.Option(..., "--from", help="Source database URL."),
    dst: str = typer.Option(..., "--to", help="Destination database URL (created if needed)."),
    study: str | None = typer.Option(None, "--study", help="One study (default: all)."),
) -> None:
    """Copy studies (ablate's results and the Optuna state) to another database.

    E.g. from a laptop's SQLite file to the lab's PostgreSQL before running on several
    machines, or back into one file to archive. Copying again brings a copy up to date: it adds
    the trials the destination lacks, refreshes those still running there, and copies nothing
    twice. Another study of the same name in the destination is never touched. Copy while
    nothing is running on the source.
    """
    from ablate.db import redact
    from ablate.db.copy import copy_study

    for copied in copy_study(src, dst, study):
        console.print(_copied_line(copied, redact(dst)), highlight=False)


def _copied_line(copied, dst: str) -> str:
    rows = sum(copied.rows.values())
    left_out = (
        f"; {copied.skipped} trial(s) left out: their runs are running or complete there as "
        "other trials"
        if copied.skipped
        else ""
    )
    if not copied.merged:
        optuna = (
            "no Optuna study"
            if copied.optuna_trials is None
            else f"Optuna study with {copied.optuna_trials} trial(s)"
        )
        return (
            f"Copied study '{copied.name}': {copied.trials} trial(s), {rows} result row(s), "
            f"{optuna} → {dst}"
        )
    if not (copied.trials or copied.updated or copied.optuna_trials or rows):
        return f"Study '{copied.name}' in {dst} is up to date; nothing was copied{left_out}."
    return (
        f"Merged study '{copied.name}' into {dst}: {copied.trials} new trial(s), "
        f"{copied.updated} updated, {rows} result row(s), {copied.optuna_trials or 0} new Optuna "
        f"trial(s){left_out}."
    )


def _interactive() -> bool:
    """Whether a person can answer a question (tests replace this)."""
    return sys.stdin.isatty()


def _confirm(question: str, *, yes: bool, what: str) -> None:
    if yes:
        return
    if not _interactive():
        raise UsageError(f"{what} needs a yes: run it in a terminal, or pass --yes.")
    if not typer.confirm(question, default=False):
        console.print("Nothing was changed.", highlight=False)
        raise typer.Exit(1)


def _holding(found) -> str:
    optuna = (
        "no Optuna study"
        if found.optuna_trials is None
        else f"an Optuna study with {found.optuna_trials} trial(s)"
    )
    running = f", {found.running} of them running" if found.running else ""
    ablate = f"{found.trials} trial(s){running}" if found.in_ablate else "no ablate results"
    return f"{ablate} and {optuna}"


@db_app.command("rm")
def db_rm(
    study: str = typer.Option(..., "--study", help="The study to delete."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask; delete at once."),
    storage: StorageOption = None,
) -> None:
    """Delete a study: its trials, epochs, results and confusion rows, and its Optuna study.

    Asks first (the answer defaults to no). Also removes what a failed start left behind (a
    study without trials, or an Optuna study without ablate results). Checkpoints and logs on
    disk are kept. Delete while nothing runs on the study.
    """
    from ablate.db import redact
    from ablate.db.admin import delete_study, study_footprint

    url = storage_url(storage)
    found = study_footprint(url, study)
    _confirm(
        f"Delete study '{study}' ({_holding(found)}) from {redact(url)}?",
        yes=yes,
        what=f"Deleting study '{study}'",
    )
    deleted = delete_study(url, study)
    console.print(
        f"Deleted study '{study}' ({_holding(deleted)}) from {redact(url)}.", highlight=False
    )


@db_app.command("rename")
def db_rename(
    study: str = typer.Option(..., "--study", help="The study's current name."),
    to: str = typer.Option(..., "--to", help="Its new name (not taken by another study)."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask; rename at once."),
    storage: StorageOption = None,
) -> None:
    """Rename a study, its ablate results and its Optuna study together.

    Asks first (the answer defaults to no); refuses a name another study has. To continue the
    study afterwards, change 'name:' in its YAML to the new name. Rename while nothing runs on
    the study.
    """
    from ablate.db import redact
    from ablate.db.admin import check_rename, rename_study

    url = storage_url(storage)
    found = check_rename(url, study, to)
    _confirm(
        f"Rename study '{study}' ({_holding(found)}) to '{to}' in {redact(url)}?",
        yes=yes,
        what=f"Renaming study '{study}'",
    )
    rename_study(url, study, to)
    console.print(
        f"Renamed study '{study}' to '{to}' in {redact(url)}; set 'name: {to}' in its YAML "
        "to continue it.",
        highlight=False,
    )


@app.command("dashboard")
def dashboard(
    storage: StorageOption = None,
    port: int = typer.Option(8080, "--port", min=1, max=65535, help="Port to listen on."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
) -> None:
    """Open optuna-dashboard on the results database (the Optuna side of every study).

    Needs the optional package: pip install 'ablate-studies[dashboard]'. On a cluster, forward
    the port: ssh -L 8080:127.0.0.1:8080 login-node.
    """
    from ablate.db import redact

    if importlib.util.find_spec("optuna_dashboard") is None:
        raise UsageError(
            "optuna-dashboard is not installed; pip install 'ablate-studies[dashboard]' "
            "(or: pip install optuna-dashboard), then run 'ablate dashboard' again."
        )
    import optuna_dashboard

    url = storage_url(storage)
    console.print(
        f"optuna-dashboard on {redact(url)}: http://{host}:{port}/ (Ctrl-C stops it)",
        highlight=False,
    )
    optuna_dashboard.run_server(url, host=host, port=port)
