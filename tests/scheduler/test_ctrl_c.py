"""Ctrl-C: the first stops running trials at the next batch (their last epoch checkpoint is
kept), a second kills them at once; either way the same command resumes the study."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, tiny_study

pytestmark = pytest.mark.slow


def _count(db: Path, query: str) -> int:
    if not db.exists():
        return 0
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute(query).fetchone()[0]
        finally:
            con.close()
    except sqlite3.OperationalError:
        return 0


def _start(study: Path, workdir: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "ablate", "run", str(study), "--cpu-slots", "2",
         "--threads-per-slot", "1", "--no-live"],
        cwd=workdir, env={**os.environ, "PYTHONPATH": str(REPO)}, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def _wait_for_epochs(db: Path, n: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while _count(db, "select count(*) from ablate_epoch") < n:
        assert process.poll() is None, process.communicate()[0]
        assert time.monotonic() < deadline, "no epoch finished in 2 minutes"
        time.sleep(0.05)


@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_stops_and_the_same_command_resumes(workdir: Path, presses: int) -> None:
    study = tiny_study(workdir / "cc.yaml", name="cc", epochs=6, seeds="[0]")
    db = workdir / "db" / "ablate.sqlite"
    process = _start(study, workdir)
    _wait_for_epochs(db, 2, process)
    for _ in range(presses):
        os.killpg(process.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
        time.sleep(0.2)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 130, output
    assert "Run the same command again to continue" in output, output
    if presses == 1:
        assert "stopping: running trials stop at the next batch" in output
    assert _count(db, "select count(*) from ablate_trial where state='running'") == 0
    assert _count(db, "select count(*) from ablate_trial where state='interrupted'") >= 1

    again = _start(study, workdir)
    output, _ = again.communicate(timeout=300)
    assert again.returncode == 0, output
    assert _count(db, "select count(*) from ablate_trial where state='complete'") == 2
    resumed = "select count(*) from ablate_trial where state='complete' and resumed_from_epoch>0"
    assert _count(db, resumed) >= 1
