"""One study, two `ablate run` processes (two "machines"), one PostgreSQL database.

One runner is SIGKILLed half-way; the other takes its trial over once the heartbeat goes
stale, resumes it from the shared checkpoint folder, and finishes every cell. Each cell ends
with exactly one complete trial, and the numbers equal a single-process run's.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import tiny_study

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def _command(study: Path, url: str, work: Path) -> list[str]:
    return [sys.executable, "-m", "ablate", "run", str(study), "--storage", url,
            "--checkpoint-dir", str(work / "ckpt"), "--log-dir", str(work / "logs"),
            "--data-dir", str(work / "data"), "--cpu-slots", "1", "--threads-per-slot", "1",
            "--stale-after", "6", "--no-live"]  # fmt: skip


def _results(url: str) -> dict[tuple[str, int], tuple]:
    engine = create_engine(url)
    with engine.connect() as con:
        rows = con.execute(
            text(
                "select t.cell_key, t.seed, r.split, r.accuracy, r.kappa, r.macro_f1, r.epoch "
                "from ablate_trial t join ablate_result r on r.trial_id = t.id "
                "where t.state = 'complete' order by t.cell_key, t.seed, r.split"
            )
        ).all()
    engine.dispose()
    out: dict[tuple[str, int], tuple] = {}
    for cell, seed, *values in rows:
        out[(cell, seed)] = out.get((cell, seed), ()) + tuple(values)
    return out


def _scalar(url: str, query: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as con:
            return int(con.execute(text(query)).scalar() or 0)
    except Exception:  # tables not created yet
        return 0
    finally:
        engine.dispose()


def test_survivor_finishes_every_cell(tmp_path: Path, pg_url: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    study = tiny_study(tmp_path / "two.yaml", name="two", epochs=4,
                       modalities="[rs, social, fused]", seeds="[0, 1]")  # fmt: skip
    clean = tmp_path / "clean"
    subprocess.run(_command(study, f"sqlite:///{tmp_path / 'clean.sqlite'}", clean),
                   env=env, check=True, capture_output=True)  # fmt: skip

    shared = tmp_path / "shared"
    a = subprocess.Popen(_command(study, pg_url, shared), env={**env, "ABLATE_HOST": "machine-a"},
                         start_new_session=True, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)  # fmt: skip
    b = subprocess.Popen(_command(study, pg_url, shared), env={**env, "ABLATE_HOST": "machine-b"},
                         start_new_session=True, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)  # fmt: skip
    # half-way: machine A has finished at least one trial and is in the middle of another
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        done_a = _scalar(pg_url, "select count(*) from ablate_trial "
                                 "where host='machine-a' and state='complete'")  # fmt: skip
        busy_a = _scalar(pg_url, "select count(*) from ablate_epoch e join ablate_trial t "
                                 "on t.id=e.trial_id where t.host='machine-a' "
                                 "and t.state='running'")  # fmt: skip
        if done_a >= 1 and busy_a >= 1:
            break
        time.sleep(0.1)
    else:
        pytest.fail("machine A never got half-way")
    os.killpg(a.pid, signal.SIGKILL)
    a.wait()
    output, _ = b.communicate(timeout=300)
    assert b.returncode == 0, output

    per_run = _scalar(pg_url, "select count(*) from (select cell_key, seed from ablate_trial "
                              "where state='complete' group by cell_key, seed "
                              "having count(*) = 1) x")  # fmt: skip
    assert per_run == 6
    assert _scalar(pg_url, "select count(*) from ablate_trial where state='complete'") == 6
    assert _scalar(pg_url, "select count(*) from ablate_trial where state='running'") == 0
    taken_over = _scalar(pg_url, "select count(*) from ablate_trial where host='machine-b' "
                                 "and state='complete' and resumed_from_epoch > 0")  # fmt: skip
    assert taken_over >= 1  # B resumed A's interrupted trial from its checkpoint
    assert _results(pg_url) == _results(f"sqlite:///{tmp_path / 'clean.sqlite'}")
