"""The takeover race, deterministically: a machine whose heartbeat was late finds its trial
marked interrupted (and its Optuna twin failed) by another machine's recovery; a recovery
settles an Optuna trial between the owner's row write and its tell.

Before the fix the owner crashed with ``UpdateFinishedTrialError: Trial#1 has already
finished and can not be updated`` (seen once in a full run of test_two_machines.py).
"""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from ablate.db import ensure_schema, make_engine, session_scope, writer
from ablate.db import ledger as rows
from ablate.results import ClassScores, FitStatus, SplitScores, TrialResult
from ablate.scheduler import _ledger
from ablate.scheduler._optuna import fixed_trial
from ablate.scheduler._recorder import Recorder

CLASSES = ClassScores(("a", "b"), (0.5, 0.5), (2, 2), ((1, 1), (1, 1)))
SPLIT = SplitScores("val", 1, 0.5, 0.4, 0.45, 1.0, 4, CLASSES)
RESULT = TrialResult(
    status=FitStatus.COMPLETE, best_epoch=1, objective=0.5, val=SPLIT, test=None, n_params=10,
    flops=None, batch_size=4, resumed_from_epoch=0, device="cpu",
)  # fmt: skip


@pytest.fixture
def world(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'race.sqlite'}"
    engine = make_engine(url)
    ensure_schema(engine)
    with session_scope(engine) as session:
        study_id = writer.upsert_study(
            session, name="race", description="", kind="grid", spec_json={}, spec_text="",
            spec_path="",
        )  # fmt: skip
    study = optuna.create_study(study_name="race", storage=url)
    yield engine, study, study_id, url
    engine.dispose()


def _claim(engine, study, study_id: int, *, host: str) -> tuple[int, optuna.Trial]:
    row_id = rows.claim(
        engine, study_id=study_id, number=0, run_key="run-1", cell_key="{}", cell={},
        params={}, seed=0, attempt=1, config={}, host=host, pid=1,
    )  # fmt: skip
    assert row_id is not None
    trial = fixed_trial(study, {}, {})
    with session_scope(engine) as session:
        writer.set_trial_fields(session, row_id, optuna_trial_id=trial._trial_id)
    return row_id, trial


def _complete(recorder: Recorder, row_id: int, trial: optuna.Trial):
    return recorder.complete(row_id, trial, RESULT, device="cpu")


def _recorder(world) -> Recorder:
    engine, study, study_id, url = world
    return Recorder(url, engine, study, study_id)


def _recover_elsewhere(engine, study, study_id: int) -> list[str]:
    """Machine A's recovery, seeing machine B's heartbeat as stale."""
    return _ledger.recover(
        engine, study, study_id, host="machine-a", own_rows=set(), stale_after_s=-1.0
    )


def _states(engine, study_id: int) -> list[str]:
    return [t.state for t in _trials(engine, study_id)]


def _trials(engine, study_id: int):
    from ablate.db import study_trials

    return study_trials(engine, "race")


def test_late_owner_takes_its_trial_back_when_nobody_else_holds_it(world) -> None:
    engine, study, study_id, _url = world
    row_id, trial = _claim(engine, study, study_id, host="machine-b")
    assert len(_recover_elsewhere(engine, study, study_id)) == 1
    assert study.trials[0].state == TrialState.FAIL  # A failed B's Optuna trial

    outcome = _complete(_recorder(world), row_id, trial)  # old code: raised here

    assert outcome.stored
    assert _states(engine, study_id) == ["complete"]


def test_late_owner_drops_its_result_when_another_attempt_holds_the_run(world) -> None:
    engine, study, study_id, _url = world
    row_id, trial = _claim(engine, study, study_id, host="machine-b")
    _recover_elsewhere(engine, study, study_id)
    taken, taken_trial = _claim(engine, study, study_id, host="machine-a")  # A resumes it

    outcome = _complete(_recorder(world), row_id, trial)

    assert not outcome.stored and "another machine took this run over" in outcome.reason
    assert _states(engine, study_id) == ["interrupted", "running"]
    assert _complete(_recorder(world), taken, taken_trial).stored
    assert _states(engine, study_id) == ["interrupted", "complete"]


def test_recovery_settling_between_row_write_and_tell(world) -> None:
    engine, study, study_id, _url = world
    row_id, trial = _claim(engine, study, study_id, host="machine-b")
    with session_scope(engine) as session:  # the owner's row write...
        assert writer.complete_trial(
            session, row_id, best_epoch=1, objective=0.5, splits=(SPLIT,), n_params=1,
            flops=None, batch_size=4,
        )  # fmt: skip
    _ledger._settle_orphans(engine, study, study_id, stale_after_s=120)  # ...another's settle
    assert study.trials[0].state == TrialState.COMPLETE

    _recorder(world).tell(trial, values=0.5)  # ...then the owner's tell: a no-op

    assert study.trials[0].values == [0.5]
    assert _states(engine, study_id) == ["complete"]


def test_plain_tell_on_a_finished_trial_is_what_used_to_crash(world) -> None:
    engine, study, study_id, _url = world
    _row_id, trial = _claim(engine, study, study_id, host="machine-b")
    _recover_elsewhere(engine, study, study_id)
    with pytest.raises((ValueError, optuna.exceptions.UpdateFinishedTrialError)):
        study.tell(trial, 0.5)  # what the runner called before it went through Recorder
