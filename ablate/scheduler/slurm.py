"""A study on a Slurm cluster: one array task per node, all sharing one PostgreSQL database.

Every array task runs the same ``ablate run STUDY.yaml`` on the GPUs Slurm gave it; the
database decides which task trains which trial, so tasks can start, stop and be requeued in
any order. Two minutes before the time limit (or a preemption) the batch shell gets USR1, asks
ablate to stop (Ctrl-C: interrupted trials resume from their last epoch checkpoint) and requeues
its own task.

The storage URL in the script never holds a password: a URL with one is read from
``ABLATE_STORAGE`` in the environment that sbatch passes on (``submit_sbatch`` puts it there);
a password-less URL (with ``~/.pgpass`` on the nodes) is written as is. Either way it reaches
ablate through ``$ABLATE_STORAGE`` only, never on a command line (which anyone on a shared node
can read with ``ps``). The task runs the ablate that wrote the script, by absolute path (the
``ablate`` script next to this Python, else ``python -m ablate``), so the virtualenv need not be
activated or on the PATH; it must be on a file system the nodes share.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

from ablate.db import redact
from ablate.errors import AblateError, UsageError

_TIME = re.compile(r"^(\d+-)?\d{1,2}(:\d{2}){0,2}$|^\d+$")


def _check(
    nodes: int, gpus_per_node: int, time: str, cpus_per_task: int, storage_url: str
) -> None:
    if nodes < 1:
        raise UsageError(f"--nodes must be at least 1, got {nodes}.")
    if gpus_per_node < 0:
        raise UsageError(f"--gpus-per-node must be 0 (CPU only) or more, got {gpus_per_node}.")
    if cpus_per_task < 1:
        raise UsageError(f"--cpus-per-task must be at least 1, got {cpus_per_task}.")
    if not _TIME.match(time):
        raise UsageError(
            f"--time '{time}' is not a Slurm time; use minutes, HH:MM:SS or D-HH:MM:SS."
        )
    if storage_url.startswith("sqlite") and nodes > 1:
        raise UsageError(
            f"--nodes {nodes} with SQLite storage: several nodes cannot share one SQLite file. "
            "Use PostgreSQL (--storage postgresql+psycopg://user@host/db), or --nodes 1."
        )


def _storage_lines(storage_url: str) -> list[str]:
    if redact(storage_url) != storage_url:
        # The password stays in the environment that sbatch passes on; never in the file.
        return [
            f"# storage: {redact(storage_url)} (from $ABLATE_STORAGE at submission)",
            'export ABLATE_STORAGE="${ABLATE_STORAGE:?export ABLATE_STORAGE=postgresql+psycopg:'
            '//user:password@host/db before sbatch, or use ~/.pgpass}"',
        ]
    return [f"export ABLATE_STORAGE={shlex.quote(storage_url)}"]


def ablate_executable(python: str | None = None) -> list[str]:
    """The words that start this ablate: its console script, else ``python -m ablate``."""
    # Not resolved: a virtualenv's python is a symlink, and resolving it leaves the venv.
    interpreter = Path(os.path.abspath(python or sys.executable))
    script = interpreter.parent / "ablate"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [str(interpreter), "-m", "ablate"]


def ablate_command(
    study_path: Path,
    *,
    gpus_per_node: int,
    cpus_per_task: int,
    cpu_slots: int = 1,
    ablate_args: Sequence[str] = (),
    python: str | None = None,
) -> str:
    """The shell command each array task runs (ablate reads the URL from $ABLATE_STORAGE)."""
    words = [*ablate_executable(python), "run", str(study_path), "--no-live"]
    if gpus_per_node > 0:
        words += ["--gpus", "auto"]
    else:
        threads = max(1, cpus_per_task // cpu_slots)
        words += [
            "--gpus",
            "cpu",
            "--cpu-slots",
            str(cpu_slots),
            "--threads-per-slot",
            str(threads),
        ]
    words += list(ablate_args)
    return " ".join(shlex.quote(w) for w in words)


def render_sbatch(
    study_path: Path,
    *,
    storage_url: str,
    nodes: int,
    gpus_per_node: int,
    time: str,
    partition: str | None = None,
    account: str | None = None,
    array_parallelism: int | None = None,
    cpus_per_task: int = 8,
    mem: str | None = None,
    extra_args: Sequence[str] = (),
    study_name: str | None = None,
    runs_dir: Path = Path("runs"),
    workdir: Path | None = None,
    cpu_slots: int = 1,
    ablate_args: Sequence[str] = (),
    command: str | None = None,
    signal_lead_s: int = 120,
    python: str | None = None,
) -> str:
    """The sbatch array script (``command`` replaces the ablate command, e.g. in tests;
    ``python`` the interpreter that runs ablate, by default this one)."""
    _check(nodes, gpus_per_node, time, cpus_per_task, storage_url)
    name = study_name or study_path.stem
    out_dir = runs_dir / name
    array = f"0-{nodes - 1}" + (f"%{array_parallelism}" if array_parallelism else "")
    options = [
        f"--job-name=ablate-{name}",
        f"--array={array}",
        "--nodes=1",
        "--ntasks=1",
        f"--cpus-per-task={cpus_per_task}",
        *([f"--gres=gpu:{gpus_per_node}"] if gpus_per_node > 0 else []),
        *([f"--mem={mem}"] if mem else []),
        f"--time={time}",
        *([f"--partition={partition}"] if partition else []),
        *([f"--account={account}"] if account else []),
        "--requeue",
        f"--signal=B:USR1@{signal_lead_s}",
        f"--chdir={(workdir or Path.cwd()).resolve()}",
        f"--output={out_dir}/slurm-%A_%a.out",
    ]
    for arg in extra_args:
        if not arg.startswith("-") or "\n" in arg:
            raise UsageError(f"Extra sbatch argument '{arg}' must be one option like --qos=high.")
        options.append(arg)
    run = command or ablate_command(
        study_path,
        gpus_per_node=gpus_per_node,
        cpus_per_task=cpus_per_task,
        cpu_slots=cpu_slots,
        ablate_args=ablate_args,
        python=python,
    )
    return _TEMPLATE.format(
        header=f"# Written by 'ablate slurm' for {study_path}; submit with: sbatch THIS_FILE",
        sbatch="\n".join(f"#SBATCH {o}" for o in options),
        storage="\n".join(_storage_lines(storage_url)),
        command=run,
    )


_TEMPLATE = """\
#!/bin/bash
{header}
{sbatch}
set -uo pipefail
{storage}
case "$ABLATE_STORAGE" in
    sqlite*)
        if [ "${{SLURM_ARRAY_TASK_COUNT:-1}}" -gt 1 ]; then
            echo "ablate: several array tasks cannot share one SQLite file; use PostgreSQL" >&2
            exit 2
        fi ;;
esac
echo "ablate: task ${{SLURM_ARRAY_TASK_ID:-0}} of job ${{SLURM_ARRAY_JOB_ID:-?}}" \\
     "on $(hostname), GPUs: ${{CUDA_VISIBLE_DEVICES:-none}}"

stop_and_requeue() {{
    echo "ablate: time limit or preemption ahead: stopping, then requeueing this task" >&2
    kill -INT "$child" 2>/dev/null
    wait "$child"
    scontrol requeue "${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}}"
    exit 0
}}
trap stop_and_requeue USR1
# A background job of a script ignores SIGINT unless it is reset; ablate stops on SIGINT.
(trap - INT; exec {command}) &
child=$!
wait "$child"
"""


def write_sbatch(
    script: str, *, study_name: str, runs_dir: Path = Path("runs"), now: datetime | None = None
) -> Path:
    """Save the script under ``runs/<study>/slurm-<timestamp>.sbatch`` (kept for the record)."""
    folder = runs_dir / study_name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"slurm-{(now or datetime.now()).strftime('%Y%m%d-%H%M%S')}.sbatch"
    path.write_text(script)
    path.chmod(0o755)
    return path


def submit_sbatch(
    path: Path, *, storage_url: str | None = None, environ: Mapping[str, str] | None = None
) -> str:
    """Submit with ``sbatch --parsable``; returns the job id.

    The URL travels in sbatch's environment only (which it hands on to the tasks), never in its
    arguments.
    """
    sbatch = shutil.which("sbatch")
    if sbatch is None:
        raise UsageError(
            f"sbatch is not on PATH here; copy {path} to the cluster's login node and run "
            "'sbatch' there."
        )
    env = dict(os.environ if environ is None else environ)
    if storage_url:
        env["ABLATE_STORAGE"] = storage_url
    done = subprocess.run(
        [sbatch, "--parsable", str(path)], capture_output=True, text=True, env=env, check=False
    )
    if done.returncode != 0:
        why = (done.stderr or done.stdout).strip().splitlines()
        raise AblateError(f"sbatch refused {path}: {why[-1] if why else 'no message'}")
    return done.stdout.strip().split(";")[0]
