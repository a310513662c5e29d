"""The sbatch array script: its text, and a real one-node Slurm running it."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from ablate.errors import UsageError
from ablate.scheduler.slurm import ablate_executable, render_sbatch, submit_sbatch, write_sbatch

STUDY = Path("studies/fusion.yaml")
PG = "postgresql+psycopg://alice:s3cret@db.lab:5432/ablate"


def render(**overrides) -> str:
    kwargs = dict(
        storage_url=PG, nodes=4, gpus_per_node=2, time="1-00:00:00", partition="gpu",
        account="geo", array_parallelism=2, cpus_per_task=16, mem="64G",
        extra_args=["--qos=high"], study_name="fusion", workdir=Path("/home/alice/urfc"),
    )  # fmt: skip
    kwargs.update(overrides)
    return render_sbatch(STUDY, **kwargs)


def sbatch_lines(script: str) -> list[str]:
    return [
        line.removeprefix("#SBATCH ") for line in script.splitlines() if line.startswith("#SBATCH")
    ]


def test_array_script_options():
    assert sbatch_lines(render()) == [
        "--job-name=ablate-fusion",
        "--array=0-3%2",
        "--nodes=1",
        "--ntasks=1",
        "--cpus-per-task=16",
        "--gres=gpu:2",
        "--mem=64G",
        "--time=1-00:00:00",
        "--partition=gpu",
        "--account=geo",
        "--requeue",
        "--signal=B:USR1@120",
        "--chdir=/home/alice/urfc",
        "--output=runs/fusion/slurm-%A_%a.out",
        "--qos=high",
    ]


def test_the_password_never_enters_the_script():
    script = render()
    assert "s3cret" not in script
    assert "postgresql+psycopg://alice:***@db.lab:5432/ablate" in script  # for the reader
    assert 'export ABLATE_STORAGE="${ABLATE_STORAGE:?' in script
    ablate = shlex.join(ablate_executable())
    assert f"exec {ablate} run studies/fusion.yaml --no-live --gpus auto)" in script


def _command_lines(script: str) -> list[str]:
    """The lines that run something (a comment or an assignment starts no process)."""
    return [
        line
        for line in script.splitlines()
        if line.strip() and not line.lstrip().startswith(("#", "export ABLATE_STORAGE="))
    ]


@pytest.mark.parametrize("url", [PG, "postgresql+psycopg://alice@db.lab/ablate"])
def test_the_storage_url_is_on_no_command_line(url):
    """ps on a shared node shows every argument: the URL travels in $ABLATE_STORAGE only."""
    script = render(storage_url=url)
    for line in _command_lines(script):
        assert url not in line and "db.lab" not in line, line
        assert "ABLATE_STORAGE" not in line or line.strip() == 'case "$ABLATE_STORAGE" in', line
    assert "--storage" not in script


def test_the_script_runs_this_ablate_by_absolute_path(tmp_path):
    venv = tmp_path / "venv" / "bin"
    venv.mkdir(parents=True)
    (venv / "python").symlink_to(sys.executable)  # a virtualenv's python is a symlink
    assert ablate_executable(str(venv / "python")) == [str(venv / "python"), "-m", "ablate"]
    script = render(python=str(venv / "python"))
    assert f"exec {venv}/python -m ablate run studies/fusion.yaml" in script
    (venv / "ablate").write_text("#!/bin/sh\n")
    (venv / "ablate").chmod(0o755)
    assert ablate_executable(str(venv / "python")) == [str(venv / "ablate")]
    assert f"exec {venv}/ablate run studies/fusion.yaml --no-live" in render(
        python=str(venv / "python")
    )
    # The ablate running these tests: the one installed in this virtualenv.
    assert ablate_executable() == [str(Path(sys.executable).parent / "ablate")]


def test_password_less_url_is_written_as_is():
    script = render(storage_url="postgresql+psycopg://alice@db.lab/ablate")
    assert "export ABLATE_STORAGE=postgresql+psycopg://alice@db.lab/ablate\n" in script


def test_cpu_only_nodes():
    script = render(gpus_per_node=0, cpus_per_task=8, cpu_slots=4, array_parallelism=None)
    assert not any(line.startswith("--gres") for line in sbatch_lines(script))
    assert "--array=0-3" in sbatch_lines(script)
    assert "--gpus cpu --cpu-slots 4 --threads-per-slot 2)" in script


def test_sqlite_on_several_nodes_is_refused():
    with pytest.raises(UsageError) as info:
        render(storage_url="sqlite:///db/ablate.sqlite")
    assert str(info.value) == (
        "--nodes 4 with SQLite storage: several nodes cannot share one SQLite file. "
        "Use PostgreSQL (--storage postgresql+psycopg://user@host/db), or --nodes 1."
    )
    script = render(storage_url="sqlite:///db/ablate.sqlite", nodes=1)
    assert 'if [ "${SLURM_ARRAY_TASK_COUNT:-1}" -gt 1 ]' in script  # and the task checks again


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"nodes": 0}, "--nodes must be at least 1, got 0."),
        ({"time": "one day"}, "--time 'one day' is not a Slurm time"),
        ({"extra_args": ["qos=high"]}, "Extra sbatch argument 'qos=high' must be one option"),
    ],
)
def test_bad_options(overrides, message):
    with pytest.raises(UsageError, match=message):
        render(**overrides)


def test_script_is_valid_bash_and_saved_for_the_record(tmp_path):
    path = write_sbatch(
        render(), study_name="fusion", runs_dir=tmp_path / "runs", now=datetime(2026, 11, 20, 9)
    )
    assert path == tmp_path / "runs" / "fusion" / "slurm-20261120-090000.sbatch"
    subprocess.run(["bash", "-n", str(path)], check=True)


FAKE_SBATCH = """\
#!/bin/sh
printf '%s\\n' "$@" > "$(dirname "$0")/argv"
printf '%s' "$ABLATE_STORAGE" > "$(dirname "$0")/storage"
echo "4242;cluster"
"""


def test_submit_passes_the_url_in_the_environment_only(tmp_path, monkeypatch):
    (tmp_path / "sbatch").write_text(FAKE_SBATCH)
    (tmp_path / "sbatch").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    job_id = submit_sbatch(tmp_path / "x.sbatch", storage_url=PG)
    assert job_id == "4242"
    assert (tmp_path / "argv").read_text().splitlines() == [
        "--parsable",
        str(tmp_path / "x.sbatch"),
    ]
    assert (tmp_path / "storage").read_text() == PG


def test_submit_without_sbatch(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(UsageError, match="sbatch is not on PATH here"):
        submit_sbatch(tmp_path / "x.sbatch")


# -- a real Slurm (tests/scheduler/start_slurm.sh starts one) ------------------------------------

TASK = """\
import os, pathlib, sys, time
task = os.environ["SLURM_ARRAY_TASK_ID"]
marker = pathlib.Path(sys.argv[1]) / f"interrupted-{task}"
print(f"task {task} restart={os.environ.get('SLURM_RESTART_COUNT', '0')} "
      f"storage={os.environ['ABLATE_STORAGE']}", flush=True)
if task == "1" and not marker.exists():  # the first time, wait to be preempted
    try:
        time.sleep(120)
    except KeyboardInterrupt:
        marker.write_text("stopped on SIGINT")
        sys.exit(130)
print(f"task {task} done", flush=True)
"""


def _require_slurm() -> None:
    ready = shutil.which("sbatch") and shutil.which("sinfo")
    if ready:
        ready = subprocess.run(["sinfo", "-h"], capture_output=True, check=False).returncode == 0
    if not ready:
        reason = "no running Slurm here (start one with tests/scheduler/start_slurm.sh)"
        if os.environ.get("ABLATE_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{reason}, and ABLATE_REQUIRE_SERVICES=1")
        pytest.skip(reason)


def _wait_for(predicate, *, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(0.2)


def _state(job_id: str) -> str:
    listed = subprocess.run(
        ["squeue", "-h", "-j", job_id, "-o", "%T"], capture_output=True, text=True, check=False
    )
    return listed.stdout.strip()


@pytest.mark.slurm
@pytest.mark.slow
def test_real_array_job_runs_both_tasks_and_requeues_on_usr1(tmp_path):
    _require_slurm()
    (tmp_path / "task.py").write_text(TASK)
    runs = tmp_path / "runs"
    script = render_sbatch(
        STUDY, storage_url=PG, nodes=2, gpus_per_node=0, time="10", cpus_per_task=1,
        study_name="tiny", runs_dir=runs, workdir=tmp_path,
        command=f"python3 {tmp_path / 'task.py'} {tmp_path}",
    )  # fmt: skip
    path = write_sbatch(script, study_name="tiny", runs_dir=runs)
    assert "s3cret" not in path.read_text()
    job_id = submit_sbatch(path, storage_url=PG)
    try:
        out = runs / "tiny"
        _wait_for(
            lambda: (
                (out / f"slurm-{job_id}_0.out").exists()
                and "task 0 done" in (out / f"slurm-{job_id}_0.out").read_text()
                and "restart=0" in (out / f"slurm-{job_id}_1.out").read_text()
            ),
            timeout_s=60,
            what="both tasks to start",
        )
        # What Slurm does 120 s before the time limit: USR1 to task 1's batch shell.
        subprocess.run(["scancel", "--batch", "--signal=USR1", f"{job_id}_1"], check=True)
        _wait_for(
            lambda: (tmp_path / "interrupted-1").exists(), timeout_s=30, what="SIGINT to arrive"
        )
        log_1 = out / f"slurm-{job_id}_1.out"

        def requeued() -> bool:
            shown = subprocess.run(
                ["scontrol", "show", "job", f"{job_id}_1"], capture_output=True, text=True,
                check=False,
            ).stdout  # fmt: skip
            return "Restarts=1" in shown and "JobState=PENDING" in shown

        # Slurm holds a requeued task back until its job credential expires (about 2 minutes,
        # and forcing an earlier start gets it killed as "credential revoked"): seeing it back
        # in the queue with one restart is the part that is ablate's, so the test stops there.
        _wait_for(requeued, timeout_s=60, what="task 1 to be requeued")
        first = (out / f"slurm-{job_id}_0.out").read_text()
        second = log_1.read_text()
        assert f"task 0 restart=0 storage={PG}" in first  # the URL came by the environment
        assert "task 1 restart=0" in second
        assert "stopping, then requeueing this task" in second
    finally:
        subprocess.run(["scancel", job_id], check=False)


# -- the command line -------------------------------------------------------------------------


def test_cli_writes_the_script_under_runs(workdir):
    from typer.testing import CliRunner

    import ablate.cli.cluster  # noqa: F401  (registers the command)
    from ablate.cli import app
    from tests.conftest import tiny_study

    tiny_study(workdir / "tiny.yaml")
    result = CliRunner().invoke(
        app,
        ["slurm", "tiny.yaml", "--nodes", "3", "--gpus-per-node", "2", "--storage", PG,
         "--sbatch-arg=--qos=high", "--time", "2:00:00"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    [path] = (workdir / "runs" / "tiny").glob("slurm-*.sbatch")
    assert result.output.splitlines()[0] == f"Wrote {path.relative_to(workdir)}"
    script = path.read_text()
    assert "s3cret" not in script
    assert {"--array=0-2", "--gres=gpu:2", "--qos=high", "--time=2:00:00"} <= set(
        sbatch_lines(script)
    )
    assert f"exec {shlex.join(ablate_executable())} run tiny.yaml --no-live --gpus auto" in script
    assert "--storage" not in script


def test_cli_refuses_sqlite_on_several_nodes(workdir, capsys):
    import ablate.cli.cluster  # noqa: F401
    from ablate.cli import main
    from tests.conftest import tiny_study

    tiny_study(workdir / "tiny.yaml")
    with pytest.raises(SystemExit) as exit_info:
        main(["slurm", "tiny.yaml", "--nodes", "2", "--gpus-per-node", "1", "--out", "x.sbatch"])
    assert exit_info.value.code == 2
    assert "several nodes cannot share one SQLite file" in capsys.readouterr().err
    assert not (workdir / "x.sbatch").exists()
