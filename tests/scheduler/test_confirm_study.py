"""A shrunk search with confirmation, end to end: 4 trials, then the top 2 and the baseline at 3
seeds. SIGKILLed during confirmation and run again, it ends with every confirmation run once,
and its table compares the confirmed configurations with the baseline (paired tests)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ablate.cli import app

pytestmark = pytest.mark.slow
A, B = "loss.deep_supervision", "loss.distillation"
STUDY = f"""\
name: confirmed
data: {{source: synthetic, n: 270, image_size: 16, visit_transform: log1p}}
model:
  modality: fused
  image: {{backbone: test_resnet}}
  visit: {{branch: cnn2d, width: 8}}
  embed_dim: 16
train: {{epochs: 2, batch_size: 64, lr: 3.0e-3}}
search:
  n_trials: 4
  sampler: random
  params:
    {A}: {{low: 0.0, high: 1.0}}
    {B}: {{low: 0.0, high: 1.0}}
  confirm: {{top_k: 2}}
objective: {{metric: val_accuracy, direction: maximize}}
seeds: [0, 1, 2]
baseline: {{{A}: 0.0, {B}: 0.0}}
"""


def _command(study: Path, db: Path) -> list[str]:
    return [
        sys.executable, "-m", "ablate", "run", str(study), "--storage", f"sqlite:///{db}",
        "--checkpoint-dir", str(db.parent / "ckpt"), "--log-dir", str(db.parent / "logs"),
        "--data-dir", str(db.parent / "data"), "--cpu-slots", "2", "--threads-per-slot", "1",
        "--no-live",
    ]  # fmt: skip


def _confirm_half_done(db: Path) -> bool:
    """A confirmation run is running with its first epoch (and checkpoint) done."""
    if not db.exists():
        return False
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return bool(
                con.execute(
                    "select count(*) from ablate_trial t where t.phase = 'confirm' and "
                    "t.state = 'running' and (select count(*) from ablate_epoch e "
                    "where e.trial_id = t.id) = 1"
                ).fetchone()[0]
            )
        finally:
            con.close()
    except sqlite3.OperationalError:
        return False


def _kill_during_confirmation(study: Path, db: Path, env: dict[str, str]) -> None:
    process = subprocess.Popen(
        _command(study, db), env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 240
    while process.poll() is None and not _confirm_half_done(db) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert process.poll() is None, "the study ended before its confirmation could be cut"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def test_killed_during_confirmation_resumes_and_the_table_compares(tmp_path: Path) -> None:
    study = tmp_path / "confirmed.yaml"
    study.write_text(STUDY)
    db = tmp_path / "db" / "ablate.sqlite"
    db.parent.mkdir()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    _kill_during_confirmation(study, db, env)
    final = subprocess.run(_command(study, db), env=env, capture_output=True, text=True)
    assert final.returncode == 0, final.stdout + final.stderr
    assert "search 4/4, confirm 9/9" in final.stdout

    con = sqlite3.connect(db)
    search = con.execute(
        "select number, objective, params from ablate_trial where phase = '' and "
        "state = 'complete' order by objective desc, number"
    ).fetchall()
    confirm = con.execute(
        "select run_key, params, seed, state, resumed_from_epoch from ablate_trial "
        "where phase = 'confirm'"
    ).fetchall()
    running = con.execute("select count(*) from ablate_trial where state = 'running'").fetchone()
    optuna_running = con.execute("select count(*) from trials where state = 'RUNNING'").fetchone()
    con.close()
    assert len(search) == 4 and running[0] == 0 and optuna_running[0] == 0
    complete = [row for row in confirm if row[3] == "complete"]
    assert len(complete) == 9 and len({row[0] for row in complete}) == 9  # each exactly once
    assert any(row[3] == "interrupted" for row in confirm)  # the kill hit a confirmation run
    assert any(row[4] > 0 for row in complete)  # … which resumed from its checkpoint
    top = [search[0][2], search[1][2]]  # the best two by the validation objective
    assert sorted({row[1] for row in complete}) == sorted({*top, f'{{"{A}": 0.0, "{B}": 0.0}}'})
    assert {row[2] for row in complete} == {0, 1, 2}

    runner = CliRunner()
    url = f"sqlite:///{db}"
    table = runner.invoke(app, ["table", "--study", "confirmed", "--storage", url, "-f", "csv"])
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    header = lines[0].split(",")
    assert header[:4] == ["section", A, B, "n"] and "accuracy_p_t" in header
    rows = [line.split(",") for line in lines[1:4]]  # the confirmation table comes first
    assert [r[3] for r in rows] == ["3", "3", "3"]  # every row over the 3 seeds
    assert [(float(r[1]), float(r[2])) for r in rows[:2]] == [
        tuple(json.loads(t)[p] for p in (A, B)) for t in top
    ]
    assert (float(rows[2][1]), float(rows[2][2])) == (0.0, 0.0)  # the baseline row last
    markdown = runner.invoke(app, ["table", "--study", "confirmed", "--storage", url])
    text = " ".join(markdown.output.split())
    assert "confirmation of the search's top 2" in text
    body = [line for line in markdown.output.splitlines() if line.startswith("│")]
    assert "baseline" in body[2] and all(" / " in line for line in body[:2])  # paired tests
    assert f"trial {search[0][0]} (" in text and f"trial {search[1][0]} (" in text
    status = runner.invoke(app, ["status", "--study", "confirmed", "--storage", url])
    assert "search 4/4, confirm 9/9" in status.output
    dry = runner.invoke(app, ["run", str(study), "--dry-run", "--storage", url])
    assert dry.exit_code == 0, dry.output
    assert dry.output.count("complete") >= 9 and "to run" not in dry.output
