"""Claims and recovery against a real SQLite database (no training involved)."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import optuna
import pytest

from ablate.db import ensure_schema, make_engine, session_scope, writer
from ablate.db import ledger as rows
from ablate.db._schema import TrialRow
from ablate.scheduler import _ledger
from ablate.scheduler._optuna import fixed_trial, grid_distributions
from ablate.spec import parse_study

SPEC = parse_study("name: led\ngrid:\n  model.modality: [rs, fused]\nseeds: [0, 1]\n")


@pytest.fixture
def engine(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'a.sqlite'}")
    ensure_schema(engine)
    with session_scope(engine) as session:
        study_id = writer.upsert_study(
            session,
            name="led",
            description="",
            kind="grid",
            spec_json={},
            spec_text="",
            spec_path="",
        )
    engine.study_id = study_id  # type: ignore[attr-defined]
    return engine


def _fields(engine, *, run_key: str = "k1", pid: int = 1, host: str = "here") -> dict:
    return dict(
        study_id=engine.study_id,
        number=0,
        run_key=run_key,
        cell_key="{}",
        cell={},
        params={},
        seed=0,
        attempt=1,
        config={},
        host=host,
        pid=pid,
    )


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_run_is_claimed_once(engine) -> None:
    assert rows.claim(engine, **_fields(engine)) is not None
    assert rows.claim(engine, **_fields(engine)) is None
    assert rows.claim(engine, **_fields(engine, run_key="k2")) is not None


def test_a_failed_attempt_frees_the_run(engine) -> None:
    first = rows.claim(engine, **_fields(engine))
    with session_scope(engine) as session:
        writer.end_trial(session, first, state="failed", error="boom")
    assert rows.claim(engine, **_fields(engine)) is not None
    ledger = _ledger.read_ledger(engine, engine.study_id)
    assert ledger.failures["k1"] == 1 and "k1" in ledger.live


def test_recover_interrupts_dead_owner_and_stale_heartbeat(engine, tmp_path: Path) -> None:
    study = optuna.create_study(study_name="led", storage=f"sqlite:///{tmp_path / 'a.sqlite'}")
    trial = fixed_trial(study, {"model.modality": "rs", "seed": 0}, grid_distributions(SPEC))
    dead = rows.claim(engine, **_fields(engine, run_key="dead", pid=_dead_pid()))
    with session_scope(engine) as session:
        writer.set_trial_fields(session, dead, optuna_trial_id=trial._trial_id)
    stale = rows.claim(engine, **_fields(engine, run_key="stale", host="elsewhere"))
    alive = rows.claim(engine, **_fields(engine, run_key="alive", host="elsewhere"))
    with session_scope(engine) as session:
        writer.set_trial_fields(session, stale, heartbeat_at=writer.utcnow() - timedelta(hours=1))
    notes = _ledger.recover(
        engine, study, engine.study_id, host="here", own_rows=set(), stale_after_s=120
    )
    assert len(notes) == 2
    with session_scope(engine) as session:
        states = {row.run_key: row.state for row in session.query(TrialRow)}
    assert states == {"dead": "interrupted", "stale": "interrupted", "alive": "running"}
    assert study.get_trials()[0].state == optuna.trial.TrialState.FAIL
    ledger = _ledger.read_ledger(engine, engine.study_id)
    assert ledger.failures["dead"] == 0  # an interruption is not the run's fault
    assert alive is not None
