"""Power cuts: SIGKILL the whole process group at random moments, rerun the same command.

At the end every run has exactly one complete trial whose numbers equal an uninterrupted
run's, the SQLite file passes its integrity check, and nothing is left RUNNING.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import tiny_study

pytestmark = pytest.mark.slow
ARGS = ["--cpu-slots", "2", "--threads-per-slot", "1", "--no-live"]


def _command(study: Path, db: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "ablate",
        "run",
        str(study),
        "--storage",
        f"sqlite:///{db}",
        "--checkpoint-dir",
        str(db.parent / "ckpt"),
        "--log-dir",
        str(db.parent / "logs"),
        *ARGS,
    ]


def _epoch_rows(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute("select count(*) from ablate_epoch").fetchone()[0]
        finally:
            con.close()
    except sqlite3.OperationalError:
        return 0


def _results(db: Path) -> dict[tuple[str, int], tuple]:
    con = sqlite3.connect(db)
    rows = con.execute(
        "select t.cell_key, t.seed, r.split, r.accuracy, r.kappa, r.macro_f1, r.loss, r.epoch "
        "from ablate_trial t join ablate_result r on r.trial_id = t.id "
        "where t.state = 'complete' order by t.cell_key, t.seed, r.split"
    ).fetchall()
    con.close()
    out: dict[tuple[str, int], tuple] = {}
    for cell, seed, *values in rows:
        out.setdefault((cell, seed), ())
        out[(cell, seed)] += tuple(values)
    return out


def test_killed_five_times_equals_uninterrupted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    data_env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    study = tiny_study(tmp_path / "cut.yaml", name="cut", epochs=6)  # room for five cuts

    clean_db = tmp_path / "clean" / "ablate.sqlite"
    clean_db.parent.mkdir()
    subprocess.run(_command(study, clean_db), check=True, env=data_env, capture_output=True)

    cut_db = tmp_path / "cut" / "ablate.sqlite"
    cut_db.parent.mkdir()
    rng = random.Random(1234)
    kills = 0
    for _ in range(12):
        target = _epoch_rows(cut_db) + rng.randint(1, 3)
        process = subprocess.Popen(
            _command(study, cut_db),
            env=data_env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while (
            process.poll() is None and _epoch_rows(cut_db) < target and time.monotonic() < deadline
        ):
            time.sleep(0.05)
        if process.poll() is not None:
            break  # the study finished before this cut
        time.sleep(rng.uniform(0.0, 0.6))  # a random moment: mid-epoch, mid-write, mid-start
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        kills += 1
        if kills >= 5:
            break
    assert kills >= 5
    final = subprocess.run(_command(study, cut_db), env=data_env, capture_output=True, text=True)
    assert final.returncode == 0, final.stdout + final.stderr

    con = sqlite3.connect(cut_db)
    assert con.execute("pragma integrity_check").fetchone()[0] == "ok"
    assert (
        con.execute("select count(*) from ablate_trial where state='running'").fetchone()[0] == 0
    )
    per_run = con.execute(
        "select cell_key, seed, count(*) from ablate_trial where state='complete' "
        "group by cell_key, seed"
    ).fetchall()
    interrupted = con.execute(
        "select count(*) from ablate_trial where state='interrupted'"
    ).fetchone()[0]
    resumed = con.execute(
        "select count(*) from ablate_trial where state='complete' and resumed_from_epoch > 0"
    ).fetchone()[0]
    optuna_running = con.execute("select count(*) from trials where state='RUNNING'").fetchone()[0]
    con.close()
    assert len(per_run) == 4 and all(n == 1 for *_, n in per_run)
    assert optuna_running == 0
    assert interrupted >= 1 and resumed >= 1  # the cuts really hit running trials
    assert _results(cut_db) == _results(clean_db)
