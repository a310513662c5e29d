"""The digits example survives repeated SIGKILLs of its whole process group: rerunning the
same command finishes it with the numbers (and confusion matrices) of an uninterrupted run."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.scheduler.test_power_cut import _command, _epoch_rows, _results

pytestmark = pytest.mark.slow
STUDY = REPO / "examples" / "digits" / "digits.yaml"


def _confusions(db: Path) -> list[tuple]:
    con = sqlite3.connect(db)
    rows = con.execute(
        "select t.cell_key, t.seed, c.split, c.true_class, c.pred_class, c.count "
        "from ablate_confusion c join ablate_trial t on t.id = c.trial_id "
        "where t.state = 'complete' order by 1, 2, 3, 4, 5"
    ).fetchall()
    con.close()
    return rows


def test_digits_killed_three_times_equals_uninterrupted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    clean_db = tmp_path / "clean" / "ablate.sqlite"
    clean_db.parent.mkdir()
    subprocess.run(_command(STUDY, clean_db), check=True, env=env, capture_output=True)

    cut_db = tmp_path / "cut" / "ablate.sqlite"
    cut_db.parent.mkdir()
    rng, kills = random.Random(14), 0
    while kills < 3:
        target = _epoch_rows(cut_db) + rng.randint(2, 6)
        process = subprocess.Popen(
            _command(STUDY, cut_db), env=env, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while process.poll() is None and _epoch_rows(cut_db) < target:
            assert time.monotonic() < deadline, "no progress between two cuts"
            time.sleep(0.05)
        assert process.poll() is None, "the study finished before three cuts"
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        kills += 1
    final = subprocess.run(_command(STUDY, cut_db), env=env, capture_output=True, text=True)
    assert final.returncode == 0, final.stdout + final.stderr

    con = sqlite3.connect(cut_db)
    resumed = con.execute(
        "select count(*) from ablate_trial where state='complete' and resumed_from_epoch > 0"
    ).fetchone()[0]
    con.close()
    assert resumed >= 1  # the cuts really hit running trials
    assert _results(cut_db) == _results(clean_db)
    assert _confusions(cut_db) == _confusions(clean_db) and len(_confusions(clean_db)) > 0
