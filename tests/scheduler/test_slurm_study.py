"""`ablate slurm … --submit` on a real single-node Slurm: a 2-task array job runs a small
study into PostgreSQL, each task an `ablate run` on its node, and the table lists every cell."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ablate.cli import app
from tests.conftest import require, tiny_study

pytestmark = [pytest.mark.slow, pytest.mark.slurm, pytest.mark.postgres]


def _slurm_ready() -> bool:
    if not (shutil.which("sbatch") and shutil.which("sinfo")):
        return False
    return subprocess.run(["sinfo", "-h"], capture_output=True, check=False).returncode == 0


def test_array_job_runs_the_study_into_postgres(
    workdir: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    require(
        _slurm_ready(), "no running Slurm here (start one with tests/scheduler/start_slurm.sh)"
    )
    # the job's tasks find this virtualenv's `ablate` through the PATH they inherit
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    tiny_study(workdir / "tiny.yaml", modalities="[rs, social, fused]", seeds="[0, 1]")
    runner = CliRunner()
    submitted = runner.invoke(
        app,
        ["slurm", "tiny.yaml", "--nodes", "2", "--gpus-per-node", "0", "--cpus-per-task", "1",
         "--time", "15", "--storage", pg_url, "--submit"],
    )  # fmt: skip
    assert submitted.exit_code == 0, submitted.output
    match = re.search(r"Submitted array job (\d+)", submitted.output)
    assert match, submitted.output
    job_id = match.group(1)
    try:
        deadline = time.monotonic() + 420
        while subprocess.run(["squeue", "-h", "-j", job_id], capture_output=True,
                             text=True, check=False).stdout.strip():  # fmt: skip
            assert time.monotonic() < deadline, "the array job did not finish in 7 minutes"
            time.sleep(1)
    finally:
        subprocess.run(["scancel", job_id], check=False)
    logs = sorted((workdir / "runs" / "tiny").glob(f"slurm-{job_id}_*.out"))
    assert len(logs) == 2
    assert all("ablate: task" in log.read_text() for log in logs)
    assert all("started trial" in log.read_text() for log in logs)  # both tasks shared the work

    table = runner.invoke(
        app, ["table", "--study", "tiny", "--storage", pg_url, "--format", "csv"]
    )
    assert table.exit_code == 0, table.output
    rows = list(csv.DictReader(io.StringIO(table.output)))
    assert {row["model.modality"] for row in rows} == {"rs", "social", "fused"}
    assert all(row["n"] == "2" for row in rows), table.output
