"""``ablate data``: write synthetic raw data, prepare a cache from raw URFC data, describe one."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from ablate.cli._app import app, console
from ablate.errors import UsageError
from ablate.spec import TrainSpec

data_app = typer.Typer(
    help=(
        "URFC data: write synthetic raw data, prepare a memory-mapped cache from the raw "
        "competition folders (resumable), and describe a cache."
    ),
    no_args_is_help=True,
)
app.add_typer(data_app, name="data")

# --preset: the two competition rounds (train / test regions) and a sensible worker count.
PRESETS = {"small": (40_000, 10_000, 4), "large": (400_000, 100_000, 16)}
SHOWN_PROBLEMS = 20


class _Rate(TextColumn):
    def __init__(self) -> None:
        super().__init__("")

    def render(self, task):
        speed = task.finished_speed or task.speed
        return f"{speed:,.0f} samples/s" if speed else ""


def _progress_bar() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        MofNCompleteColumn(),
        _Rate(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


# What prepare is doing: before the first progress report it lists and pairs the files; once
# every chunk is decoded it stacks them into the arrays (minutes for the final round).
PHASES = ("finding files", "decoding", "writing arrays", "prepared")


def _on_progress(bar: Progress, task) -> Callable[[int, int], None]:
    def update(done: int, total: int) -> None:
        phase = PHASES[1] if done < total else PHASES[2]
        bar.update(task, completed=done, total=total, description=phase)

    return update


@data_app.command("prepare")
def prepare(
    raw_dir: Path = typer.Argument(..., help="Raw URFC folder (train_image/, train_visit/, ...)."),
    out: Path = typer.Option(..., "--out", help="Cache folder to write (new, empty, or a cache)."),
    workers: int | None = typer.Option(
        None, "--workers", min=1, help="Worker processes (default: 1, or the preset's)."
    ),
    strict: bool = typer.Option(False, "--strict", help="Stop at the first bad file."),
    val: float = typer.Option(0.2, "--val", min=0.0, max=0.5, help="Validation share."),
    test: float = typer.Option(0.2, "--test", min=0.0, max=0.5, help="Test share."),
    split_seed: int = typer.Option(0, "--split-seed", min=0, help="Seed of the split."),
    preset: str | None = typer.Option(
        None, "--preset", help="small (preliminary round) or large (final round)."
    ),
    filter_dark: float | None = typer.Option(
        None, "--filter-dark", min=0.0, max=1.0, help="Skip tiles with more dark pixels than this."
    ),
    filter_bright: float | None = typer.Option(
        None, "--filter-bright", min=0.0, max=1.0, help="Skip tiles with more white pixels."
    ),
) -> None:
    """Decode images and parse visits once into a memory-mappable cache (rerun to resume)."""
    from ablate.data import prepare_cache

    if preset is not None and preset not in PRESETS:
        raise UsageError(f"Unknown --preset '{preset}'; use 'small' or 'large'.")
    if workers is None:
        workers = min(PRESETS[preset][2], os.cpu_count() or 1) if preset else 1
    with _progress_bar() as bar:
        task = bar.add_task(PHASES[0], total=None)
        manifest = prepare_cache(
            raw_dir,
            out,
            workers=workers,
            strict=strict,
            val_fraction=val,
            test_fraction=test,
            split_seed=split_seed,
            filter_dark=filter_dark,
            filter_bright=filter_bright,
            progress=_on_progress(bar, task),
        )
        bar.update(task, description=PHASES[3])
    _print_summary(manifest, out, preset)


def _print_summary(manifest: dict, out: Path, preset: str | None) -> None:
    console.print(
        f"[green]cache ready[/] {out}: {manifest['n_labelled']:,} labelled and "
        f"{manifest['n_unlabelled']:,} unlabelled regions; split {manifest['split_counts']}"
    )
    if preset:
        n_train, n_test, _ = PRESETS[preset]
        if (manifest["n_labelled"], manifest["n_unlabelled"]) != (n_train, n_test):
            console.print(
                f"[yellow]note:[/] the {preset} round has {n_train:,} train and {n_test:,} test "
                "regions; this folder differs (see the problems below)"
            )
    problems, filtered = manifest["problems"], manifest["filtered"]
    if filtered:
        console.print(f"{len(filtered):,} tiles left out by the dark/bright filters")
    if not problems:
        console.print("no problems found")
        return
    console.print(
        f"[yellow]{len(problems):,} problems[/] (samples skipped; all in manifest.json):"
    )
    _print_problems(problems, out)


def _print_problems(problems: list[dict], cache_dir: Path) -> None:
    """The first problems as 'file:line: reason', and where the rest are."""
    for p in problems[:SHOWN_PROBLEMS]:
        where = f"{p['file']}:{p['line']}" if p["line"] else p["file"]
        console.print(f"  {where}: {p['reason']}", highlight=False, markup=False)
    if len(problems) > SHOWN_PROBLEMS:
        console.print(
            f"  ... and {len(problems) - SHOWN_PROBLEMS:,} more (all in "
            f"{cache_dir / 'manifest.json'}, or 'ablate data info {cache_dir} --json')",
            highlight=False,
            markup=False,
        )


def _interactive() -> bool:
    """Whether a person can answer a question (tests replace this)."""
    return sys.stdin.isatty()


def _check_synth_target(out: Path, *, force: bool) -> None:
    """Refuse to mix synthetic files into a folder that holds something, unless asked to."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; name a folder (new or empty).")
    if force or not out.is_dir():
        return
    entries = sorted(entry.name for entry in out.iterdir())
    if not entries:
        return
    shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
    what = f"--out {out} is not empty ({len(entries):,} entries: {shown})"
    if not _interactive():
        raise UsageError(
            f"{what}; choose a new or empty folder, or pass --force to write into it "
            "(files of the same name are overwritten)."
        )
    if not typer.confirm(f"{what}. Write synthetic files into it anyway?", default=False):
        console.print("Nothing was written.", highlight=False)
        raise typer.Exit(1)


@data_app.command("synth")
def synth(
    out: Path = typer.Option(..., "--out", help="Folder to write the raw URFC layout into."),
    n: int = typer.Option(900, "--n", min=1, help="Labelled regions (classes balanced)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed; same seed, same bytes."),
    n_test: int = typer.Option(0, "--n-test", min=0, help="Unlabelled test regions."),
    force: bool = typer.Option(
        False, "--force", help="Write into a folder that is not empty (same names overwritten)."
    ),
) -> None:
    """Write synthetic data in the real raw URFC layout (for trying ablate without the archive)."""
    from ablate.data import write_synthetic

    _check_synth_target(out, force=force)
    write_synthetic(out, n=n, seed=seed, n_test=n_test)
    console.print(f"wrote {n:,} labelled and {n_test:,} unlabelled synthetic regions to {out}")


def _size(n_bytes: int) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n_bytes >= size:
            return f"{n_bytes / size:,.1f} {unit}"
    return f"{n_bytes:,} B"


@data_app.command("info")
def info(
    cache_dir: Path = typer.Argument(..., help="A cache folder made by 'ablate data prepare'."),
    as_json: bool = typer.Option(
        False, "--json", help="Print the manifest, with disk_bytes and trial_memory, as JSON."
    ),
    train_limit: int | None = typer.Option(
        None, "--train-limit", min=1, help="A study's data.train_limit: training rows used."
    ),
    batch_size: int = typer.Option(
        TrainSpec.model_fields["batch_size"].default,
        "--batch-size",
        min=1,
        help="A study's train.batch_size (for the streaming estimate).",
    ),
    eval_batch_size: int = typer.Option(
        TrainSpec.model_fields["eval_batch_size"].default,
        "--eval-batch-size",
        min=1,
        help="A study's train.eval_batch_size (for the streaming estimate).",
    ),
) -> None:
    """Describe a prepared cache: sizes on disk and in a trial, classes, split, problems."""
    from ablate.data import check_cache
    from ablate.data._memory import STREAM_BATCHES, data_memory, disk_bytes

    manifest = check_cache(cache_dir)
    on_disk = disk_bytes(cache_dir)
    memory = data_memory(
        manifest, train_limit=train_limit, batch_size=batch_size, eval_batch_size=eval_batch_size
    )
    if as_json:
        extra = {
            "disk_bytes": on_disk,
            "trial_memory": {
                "rows": memory.rows,
                "resident_bytes": memory.resident,
                "batch_rows": memory.batch_rows,
                "streaming_bytes": memory.streaming,
            },
        }
        console.print_json(json.dumps({**manifest, **extra}))
        return
    table = Table(title=f"cache {cache_dir}", show_header=False)
    table.add_row(
        "regions", f"{manifest['n_labelled']:,} labelled, {manifest['n_unlabelled']:,} unlabelled"
    )
    for name, count in manifest["class_counts"].items():
        table.add_row(f"  {name}", f"{count:,}")
    table.add_row("split", ", ".join(f"{k} {v:,}" for k, v in manifest["split_counts"].items()))
    table.add_row("split settings", json.dumps(manifest["settings"]))
    table.add_row("size on disk", _size(on_disk))
    limited = f" (train_limit {train_limit:,})" if train_limit is not None else ""
    table.add_row(
        "trial data, resident",
        " + ".join(f"{k} {_size(v)}" for k, v in memory.resident.items())
        + f" = {_size(memory.resident_total)}{limited}",
    )
    table.add_row(
        "trial data, streaming",
        f"{_size(memory.streaming)} ({STREAM_BATCHES} batches of {memory.batch_rows:,} rows)",
    )
    table.add_row("source", f"{manifest['raw_dir']} ({manifest['source_files']:,} files)")
    table.add_row("checksum", manifest["source_checksum"])
    table.add_row(
        "parser / cache version", f"{manifest['parser_version']} / {manifest['cache_version']}"
    )
    table.add_row("problems", f"{len(manifest['problems']):,}")
    table.add_row("filtered", f"{len(manifest['filtered']):,}")
    console.print(table)
    if manifest["problems"]:
        console.print(f"[yellow]{len(manifest['problems']):,} problems[/] (samples skipped):")
        _print_problems(manifest["problems"], cache_dir)
