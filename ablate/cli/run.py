"""``ablate run`` and ``ablate status``: train a study (resumably) and watch it."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Group
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from ablate.cli._app import StorageOption, app, console, storage_url
from ablate.errors import UsageError

if TYPE_CHECKING:
    from ablate.scheduler import DevicePool, Workers
    from ablate.spec import StudyChange, StudySpec


def _plan_table(spec, done: set[str]) -> Table:
    from ablate.spec import grid_trials

    table = Table(title=f"{spec.name}: {spec.kind} study", title_justify="left")
    for column in [*spec.grid, "seed", "run key", "state"]:
        table.add_column(column)
    if spec.search is not None:
        table.caption = (
            f"search: {spec.search.n_trials} trials sampled by {spec.search.sampler.kind} over "
            f"{', '.join(spec.search.params)}; pruner {spec.search.pruner.kind}"
        )
        return table
    for config in grid_trials(spec):
        state = "complete" if config.run_key in done else "to run"
        table.add_row(
            *[str(v) for v in config.cell.values()], str(config.seed), config.run_key, state
        )
    if spec.adaptive_seeds is not None:
        table.caption = _adaptive_caption(spec, done)
    return table


def _adaptive_caption(spec, done: set[str]) -> str:
    """What adaptive seeds may add: seeds at most, the looks, the extra runs done so far."""
    from ablate.spec import grid_cells, reachable_trials, seed_sequence, sequential_design

    design = sequential_design(spec)
    extra = [c for c in reachable_trials(spec) if c.seed not in set(spec.seeds)]
    later = seed_sequence(spec)[len(spec.seeds) :]
    seeds = f"seeds {later[0]}…{later[-1]}" if later else "no extra seeds"
    return (
        f"adaptive seeds: at most {design.max_seeds} seeds per cell ({seeds} as needed), "
        f"up to {len(extra)} more run(s) than listed ({len(grid_cells(spec))} cell(s)); "
        f"{design.describe()}, decided on {spec.objective.metric}; "
        f"{sum(c.run_key in done for c in extra)} extra run(s) complete so far"
    )


def _done_text(progress) -> str:
    """'12/12 complete', or for a search with confirmation 'search 6/6, confirm 4/9'."""
    from ablate.scheduler._progress import phases_text

    if progress.phases:
        return phases_text(progress.phases)
    return f"{progress.complete}/{progress.total} complete"


def _print_confirmation(url: str, spec: StudySpec) -> None:
    """What a search's confirmation will train (or trains now): the rule before the search
    is done, then the chosen configurations and every confirmation run with its state."""
    from ablate.scheduler._progress import phases_text
    from ablate.scheduler.status import confirm_plan
    from ablate.spec import cell_text

    plan = confirm_plan(_stored_engine(url), spec)
    if plan is None or spec.search is None or spec.search.confirm is None:
        return
    seeds = ", ".join(str(s) for s in spec.seeds)
    base = cell_text(dict(spec.baseline or {}))
    if not plan.runs:
        console.print(
            f"Confirmation ({phases_text(plan.phases)}): when the {spec.search.n_trials} "
            f"trials have finished, the top {spec.search.confirm.top_k} by "
            f"{spec.objective.metric} and the baseline ({base}) train at seeds {seeds}: "
            f"about {plan.phases[1][2]} runs.",
            highlight=False, markup=False, soft_wrap=True,
        )  # fmt: skip
        return
    picked = "; ".join(f"trial {t.number} ({cell_text(t.values)})" for t in plan.chosen)
    table = Table(
        title=f"confirmation ({phases_text(plan.phases)}): chosen by {spec.objective.metric} "
        f"from {picked}; baseline {base}",
        title_justify="left",
    )
    for column in ("configuration", "seed", "run key", "state"):
        table.add_column(column)
    for config in plan.runs:
        state = "complete" if config.run_key in plan.complete else "to run"
        values = cell_text({**config.cell, **config.params})
        table.add_row(values, str(config.seed), config.run_key, state)
    console.print(table)


def _snapshot_view(snapshot) -> Group:
    table = Table(
        expand=False,
        title_justify="left",
        title=f"{snapshot.study}: {_done_text(snapshot)}, "
        f"{snapshot.running} running, {snapshot.failed} failed, "
        f"{snapshot.pruned} pruned",
    )
    for column in ("device", "trial", "cell", "seed", "epoch", "val acc", "ETA"):
        table.add_column(column)
    for slot in snapshot.slots:
        eta = f"{slot.eta_s:.0f}s" if slot.eta_s is not None else "…"
        acc = f"{slot.val_accuracy * 100:.1f}" if slot.val_accuracy is not None else "…"
        table.add_row(
            slot.slot,
            str(slot.trial),
            slot.cell,
            str(slot.seed),
            f"{slot.epoch}/{slot.epochs}",
            acc,
            eta,
        )
    parts = [table]
    if snapshot.eta:
        parts.append(snapshot.eta)
    if snapshot.message:
        parts.append(f"[yellow]{snapshot.message}[/]")
    return Group(*parts)


@app.command("run")
def run(
    study_file: Path = typer.Argument(..., help="The study YAML, e.g. studies/quickstart.yaml."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Validate and list the runs; train nothing."
    ),
    storage: StorageOption = None,
    gpus: str = typer.Option(
        "auto", "--gpus", help="'auto' (free GPUs, else CPU), '0,2', or 'cpu'."
    ),
    per_gpu: int = typer.Option(1, "--per-gpu", min=1, help="Trials packed on one GPU."),
    min_free_mem: float = typer.Option(
        2.0,
        "--min-free-mem",
        min=0.0,
        help="GiB a GPU must have free to take a trial (and what a run not measured yet "
        "reserves beyond its data, at least).",
    ),
    cpu_slots: int = typer.Option(1, "--cpu-slots", min=1, help="Parallel trials without GPUs."),
    threads: int | None = typer.Option(
        None,
        "--threads-per-slot",
        min=1,
        help="Torch threads per CPU slot (default: cores / slots).",
    ),
    checkpoint_dir: Path = typer.Option(
        Path("db/checkpoints"),
        "--checkpoint-dir",
        help="Epoch checkpoints (share it between machines to resume each other's runs).",
    ),
    data_dir: Path = typer.Option(
        Path("db/data"),
        "--data-dir",
        help="Where built-in synthetic data is generated and cached.",
    ),
    log_dir: Path = typer.Option(Path("db/logs"), "--log-dir", help="One log file per trial."),
    stale_after: float = typer.Option(
        120.0,
        "--stale-after",
        min=5.0,
        help="Seconds without a heartbeat before another process takes over a running trial "
        "(and without an epoch before --notify reports a stall).",
    ),
    retry_failed: bool = typer.Option(
        False, "--retry-failed", help="Give runs that failed for good new tries."
    ),
    new_version: bool = typer.Option(
        False,
        "--new-version",
        help="Run a changed study (e.g. another lr or epochs) although some of its finished "
        "runs no longer belong to it; they stay in the database, left out of its tables.",
    ),
    notify: str | None = typer.Option(
        None,
        "--notify",
        help="A shell command run when the study finishes, fails or stalls (no epoch for "
        "--stale-after seconds), with a short summary on its standard input, e.g. "
        "'mail -s ablate me@lab'; wins over the study's resources.notify.",
    ),
    live: bool = typer.Option(True, "--live/--no-live", help="Live view of the running trials."),
    probe: bool = typer.Option(
        True,
        "--probe/--no-probe",
        help="Time a few training steps of each model no epoch has timed yet, for the time "
        "estimate (a few seconds per model).",
    ),
) -> None:
    """Run a study: every grid cell × seed (or the searched trials), resumably.

    Rerun the same command after a power cut, crash or Ctrl-C: complete trials are kept,
    interrupted ones continue from their last epoch checkpoint, nothing runs twice.
    """
    from ablate.spec import load_study

    spec, text = load_study(study_file)  # validate first: bad input never touches the database
    url = storage_url(storage)
    if dry_run:
        _check_reachable(spec, study_file, text)
        done, change = _stored_state(url, spec)
        console.print(_plan_table(spec, done))
        _print_confirmation(url, spec)
        pool = _dry_run_pool(gpus, per_gpu=per_gpu, cpu_slots=cpu_slots, threads=threads)
        _print_estimate(spec, done, _stored_epoch_seconds(url, spec), pool=pool,
                        probe=probe, data_root=data_dir)  # fmt: skip
        _print_memory(spec, url, data_dir, gpus=gpus, per_gpu=per_gpu, cpu_slots=cpu_slots,
                      min_free_mem=min_free_mem)  # fmt: skip
        for note in _missing_caches(spec):
            console.print(f"[yellow]{escape(note)}[/]", soft_wrap=True, highlight=False)
        if change is not None and change.changed:
            verdict = (
                "ablate run would refuse it without --new-version"
                if change.needs_new_version
                else "every finished run still belongs"
            )
            console.print(
                f"Changed since it last ran: {change.note()} ({verdict}).", soft_wrap=True
            )
        return
    _, change = _stored_state(url, spec)  # a changed study is explained before anything starts
    if change is not None and not change.allowed(new_version=new_version):
        raise UsageError(change.refusal(str(study_file)))
    from ablate.scheduler import DevicePool, Workers

    pool = DevicePool(
        gpus=gpus,
        per_gpu=per_gpu,
        min_free_mem_gb=min_free_mem,
        gpu_memory_cap_gb=spec.resources.gpu_memory_gb,
        cpu_slots=cpu_slots,
        threads_per_slot=threads,
    )
    from ablate.spec import ComponentError, component_error

    workers = Workers()
    workers.prespawn(pool)  # their torch imports overlap ours and the database setup
    try:
        _run(spec, text, study_file, url, pool, workers, live=live, options=dict(
            data_root=data_dir, checkpoint_root=checkpoint_dir, log_root=log_dir,
            stale_after_s=stale_after, retry_failed=retry_failed, new_version=new_version,
            notify=notify, probe=probe,
        ))  # fmt: skip
    except ComponentError as exc:  # found by a worker's preflight: add the file and line
        raise component_error(exc.problems, text=text, where=str(study_file)) from None
    finally:
        workers.close(kill=True)  # already closed unless something went wrong


def _run(
    spec: StudySpec,
    text: str,
    study_file: Path,
    url: str,
    pool: DevicePool,
    workers: Workers,
    *,
    live: bool,
    options: dict[str, Any],
) -> None:
    """Run the study with workers already started, and print how it ended."""
    from ablate.scheduler import RunOptions, run_study

    run_options = RunOptions(
        storage_url=url, fault=os.environ.get("ABLATE_INJECT_FAULT"), **options
    )
    console.print(
        f"[bold]{spec.name}[/]: {spec.description or spec.kind + ' study'} "
        f"on {', '.join(pool.describe())}",
        highlight=False,
    )
    with Live(console=console, refresh_per_second=4, transient=True, auto_refresh=live) as view:

        def on_update(snapshot) -> None:
            for event in snapshot.events:
                console.print(f"  {event}", highlight=False, markup=False)
            if live:
                view.update(_snapshot_view(snapshot))

        summary = run_study(
            spec,
            spec_text=text,
            spec_path=str(study_file),
            pool=pool,
            options=run_options,
            on_update=on_update,
            workers=workers,
        )
        if summary.stopped:  # the study has stopped: a further Ctrl-C must not cut the report
            signal.signal(signal.SIGINT, signal.SIG_IGN)
    if summary.already_complete:
        console.print(
            f"Study '{spec.name}' is complete: {_done_text(summary).removesuffix(' complete')}"
            f" runs done; nothing to train. See 'ablate table --study {spec.name}'."
        )
        return
    console.print(
        f"{spec.name}: {_done_text(summary)}, {summary.failed} "
        f"failed attempts, {summary.pruned} pruned; trained {summary.trained} trial(s) now."
    )
    for item in summary.gave_up:
        console.print(
            f"[red]gave up on[/] {escape(item)} (see 'ablate status'; rerun with --retry-failed)",
            highlight=False,
        )
    if summary.stopped:
        console.print("Stopped. Run the same command again to continue where it stopped.")
        raise typer.Exit(130)
    if summary.gave_up:
        raise typer.Exit(1)
    if summary.estimate:
        console.print(f"Time: {summary.estimate}", highlight=False, markup=False)
    console.print(f"Table: ablate table --study {spec.name}")


def _check_reachable(spec: StudySpec, study_file: Path, text: str) -> None:
    """The study's plugins imported and every component it names checked, and every backbone
    name it can reach looked up in timm, in this process (it imports torch and user code: a
    dry run is where a typo should show, not hours into the run)."""
    from ablate.models import check_study, unknown_backbone
    from ablate.spec import backbones_reached, component_error, plugin_refs

    located = check_study(spec, plugin_refs(spec, study_file))
    if located:
        raise component_error(located, text=text, where=str(study_file))
    problems = [p for n, w in backbones_reached(spec).items() if (p := unknown_backbone(n, w))]
    if problems:
        more = f" ({len(problems) - 1} more name(s) unknown)" if len(problems) > 1 else ""
        raise UsageError(problems[0] + more)


def _missing_caches(spec: StudySpec) -> list[str]:
    from ablate.spec import grid_trials

    paths = {c.data.path for c in grid_trials(spec) or [] if c.data.source == "cache"}
    if spec.data.source == "cache":
        paths.add(spec.data.path)
    return [
        f"The data cache {path} does not exist yet (no manifest.json there): make it with "
        f"'ablate data prepare RAW --out {path}' before 'ablate run'."
        for path in sorted(p for p in paths if p is not None)
        if not (path / "manifest.json").is_file()
    ]


def _dry_run_pool(gpus: str, *, per_gpu: int, cpu_slots: int, threads: int | None) -> DevicePool:
    """The slots ``ablate run`` would use with these options (GPUs looked up as it would)."""
    from ablate.scheduler import DevicePool

    return DevicePool(gpus=gpus, per_gpu=per_gpu, cpu_slots=cpu_slots, threads_per_slot=threads)


def _print_estimate(
    spec: StudySpec, done: set[str], epoch_seconds: dict[str, tuple[float, int]], *,
    pool: DevicePool, probe: bool, data_root: Path,
) -> None:  # fmt: skip
    from ablate.scheduler._estimate import cell_line, total_line
    from ablate.scheduler._estimate_run import dry_run_estimate

    estimate = dry_run_estimate(
        spec, epoch_seconds, complete=done, pool=pool, probe=probe, data_root=data_root
    )
    if not estimate.remaining_runs:
        return
    if estimate.total_s is not None:
        console.print("Estimated time (training epochs only):", highlight=False)
        for cell in estimate.cells:
            console.print(cell_line(cell), highlight=False, markup=False, soft_wrap=True)
    console.print(total_line(estimate), highlight=False, markup=False, soft_wrap=True)


def _print_memory(
    spec: StudySpec, url: str, data_dir: Path, *, gpus: str, per_gpu: int, cpu_slots: int,
    min_free_mem: float,
) -> None:  # fmt: skip
    """Each cell's memory need on the devices ``ablate run`` would use with these options."""
    from ablate.scheduler import DevicePool
    from ablate.scheduler._sizing import Sizer, study_needs

    pool = DevicePool(
        gpus=gpus, per_gpu=per_gpu, cpu_slots=cpu_slots, min_free_mem_gb=min_free_mem,
        gpu_memory_cap_gb=spec.resources.gpu_memory_gb,
    )  # fmt: skip
    engine, study_id = _stored_engine(url), None
    if engine is not None:
        from ablate.db import get_study
        from ablate.errors import NotFoundError

        with contextlib.suppress(NotFoundError):  # never run: nothing measured yet
            study_id = get_study(engine, spec.name).id
    sizer = Sizer(spec, engine=engine, study_id=study_id, data_root=data_dir, pool=pool)
    packing = "" if pool.has_gpus else " (CPU slots are not packed by memory)"
    console.print(f"Memory per run on {', '.join(pool.describe())}{packing}:", highlight=False)
    for cell in study_needs(sizer, spec, pool):
        what = "cache not prepared yet" if cell.need is None else cell.need.text()
        if pool.has_gpus and cell.need is not None and cell.need.model_bytes is None:
            what += " (its first run reserves a slot's share of a GPU until it measures)"
        line = f"  {escape(_cell(cell.cell) or '(base)')}: {escape(what)}"
        if cell.refusal is not None:
            line += f"\n  [red]would be refused:[/] {escape(cell.refusal)}"
        console.print(line, highlight=False, soft_wrap=True)


def _stored_engine(url: str):
    """The database at ``url`` if it exists and holds ablate's tables, else None."""
    from ablate.db import has_schema, make_engine, sqlite_path
    from ablate.errors import NotFoundError

    path = sqlite_path(url)
    if path is not None and not path.exists():
        return None
    try:
        engine = make_engine(url, create=False)
    except NotFoundError:  # e.g. an empty file left by a kill during creation: nothing ran
        return None
    return engine if has_schema(engine) else None


def _stored_epoch_seconds(url: str, spec: StudySpec) -> dict[str, tuple[float, int]]:
    from ablate.db import get_study
    from ablate.db.ledger import epoch_seconds_by_cell
    from ablate.errors import NotFoundError

    engine = _stored_engine(url)
    if engine is None:
        return {}
    try:
        return epoch_seconds_by_cell(engine, get_study(engine, spec.name).id)
    except NotFoundError:
        return {}


def _stored_state(url: str, spec: StudySpec) -> tuple[set[str], StudyChange | None]:
    """Run keys of the study's complete runs, and how the file differs from what last ran."""
    from ablate.scheduler.status import stored_study
    from ablate.spec import compare_study

    engine = _stored_engine(url)
    if engine is None:
        return set(), None
    stored = stored_study(engine, spec.name)
    if stored is None:
        return set(), None
    old, finished = stored
    return finished, compare_study(old, spec, finished)


@app.command("status")
def status(
    study: str | None = typer.Option(None, "--study", help="One study (default: all)."),
    storage: StorageOption = None,
) -> None:
    """What is running, done and failed (and why), from the database."""
    from ablate.db import list_studies, make_engine
    from ablate.scheduler.status import (
        adaptive_lines,
        eta_line,
        finished_line,
        memory_lines,
        study_eta,
        study_phases,
        study_status,
    )

    engine = make_engine(storage_url(storage), create=False)
    names = [study] if study else [s.name for s in list_studies(engine)]
    if not names:
        raise UsageError("The results database holds no studies yet; run 'ablate run STUDY.yaml'.")
    for name in names:
        info = study_status(engine, name)
        counts = (
            ", ".join(f"{n} {state}" for state, n in sorted(info.counts.items())) or "no trials"
        )
        console.print(f"[bold]{info.name}[/] ({info.kind}): {counts}", highlight=False)
        peaks = memory_lines(engine, name)
        if peaks:
            console.print("  memory measured (what the next runs of a cell are sized by):")
        for line in peaks:
            console.print(f"    {line}", highlight=False, markup=False, soft_wrap=True)
        for line in adaptive_lines(engine, name):
            console.print(f"  {line}", highlight=False, markup=False, soft_wrap=True)
        if info.kind == "search" and (phases := study_phases(engine, name)):
            console.print(f"  {phases}", highlight=False, markup=False)
        running = [t for t in info.trials if t.state == "running"]
        if running:
            table = Table()
            for column in ("trial", "cell", "seed", "epoch", "host / device", "heartbeat"):
                table.add_column(column)
            for t in running:
                table.add_row(
                    str(t.number),
                    _phase(t) + _cell(t.cell),
                    str(t.seed),
                    f"{t.epoch}/{t.epochs}",
                    f"{t.host} {t.device}",
                    f"{t.heartbeat_age_s:.0f}s ago",
                )
            console.print(table)
            if (eta := study_eta(engine, info)) is not None:
                console.print(f"  {eta_line(eta)}", highlight=False, markup=False)
        elif (took := finished_line(engine, info)) is not None:
            console.print(f"  {took}", highlight=False, markup=False, soft_wrap=True)
        for t in info.trials:
            if t.state == "running":
                continue
            why = t.error.strip().splitlines()[0] if t.error.strip() else "no reason recorded"
            console.print(
                f"  trial {t.number} [{_phase(t)}{_cell(t.cell)}, seed {t.seed}] {t.state} "
                f"(attempt {t.attempt}, epoch {t.epoch}/{t.epochs}): {why}  log: {t.log_path}",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )


def _phase(trial) -> str:
    return f"{trial.phase}: " if trial.phase else ""


def _cell(cell: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in cell.items())


@app.command("gc")
def gc(
    study: str | None = typer.Option(None, "--study", help="One study (default: all)."),
    checkpoint_dir: Path = typer.Option(
        Path("db/checkpoints"), "--checkpoint-dir", help="Where 'ablate run' kept checkpoints."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="List what would go; delete nothing."),
    only_weights: bool = typer.Option(
        False,
        "--delete-only-weights",
        help="Also delete the checkpoints of complete runs that have no best-weights file "
        "(their only trained model).",
    ),
    storage: StorageOption = None,
) -> None:
    """Delete resume checkpoints of complete or pruned runs, and half-written temporary files.

    Best-validation weights (kept by default, resources.keep_best_weights) are never deleted;
    a complete run without them keeps its checkpoint unless --delete-only-weights."""
    from ablate.db import make_engine
    from ablate.scheduler.gc import collect_garbage

    engine = make_engine(storage_url(storage), create=False)
    garbage = collect_garbage(
        engine, checkpoint_dir, study=study, dry_run=dry_run, only_weights=only_weights
    )
    total = sum(item.bytes for item in garbage.removed) / 2**20
    verb = "Would delete" if dry_run else "Deleted"
    for item in garbage.removed:
        console.print(f"  {item.path}", highlight=False, markup=False)
    console.print(f"{verb} {len(garbage.removed)} checkpoint file(s), {total:.1f} MiB.")
    if garbage.kept:
        console.print(
            f"Kept {len(garbage.kept)} checkpoint(s) that hold a complete run's only trained "
            "weights (no .best.pt); --delete-only-weights deletes them too.",
            highlight=False,
        )
