"""``ablate rerun``: a stored trial trained again repeats every number it stored."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ablate.db._trial_read import StoredTrial
from ablate.results import (
    ClassScores,
    EpochResult,
    FitStatus,
    SplitScores,
    TrialResult,
    TrialState,
)
from ablate.scheduler.rerun import compare
from tests.conftest import tiny_study


def _cli(*args: str):
    from ablate.cli import app

    return CliRunner().invoke(app, list(args))


def _scores(split: str, accuracy: float, confusion=((3, 1), (0, 4))) -> SplitScores:
    classes = ClassScores(("a", "b"), (0.75, 1.0), (4, 4), confusion)
    return SplitScores(split, 2, accuracy, 0.5, 0.6, 0.7, 8, classes)


def _stored(accuracy: float = 0.875) -> StoredTrial:
    epochs = tuple(EpochResult(e, 1.0 / e, 0.9, 0.8, 1e-3, 0.1, {"loss.ce": 0.5}) for e in (1, 2))
    return StoredTrial(
        id=1, number=0, state=TrialState.COMPLETE, seed=0, config={}, threads=1, device="cpu0",
        best_epoch=2, objective=accuracy,
        scores={"test": _scores("test", 0.5), "val": _scores("val", accuracy)}, epochs=epochs,
    )  # fmt: skip


def _result(val: SplitScores, test: SplitScores, *, objective: float) -> TrialResult:
    return TrialResult(FitStatus.COMPLETE, 2, objective, val, test, 10, None, 64, 0, "cpu")


def test_every_stored_number_is_compared_val_first():
    stored = _stored()
    same = _result(_scores("val", 0.875), _scores("test", 0.5), objective=0.875)
    assert compare(stored, same, stored.epochs) == []
    epochs = (stored.epochs[0], EpochResult(2, 0.5, 0.9, 0.8, 1e-3, 9.9, {"loss.ce": 0.25}))
    moved = _result(
        _scores("val", 0.9), _scores("test", 0.5, confusion=((4, 0), (0, 4))), objective=0.875
    )
    assert compare(stored, moved, epochs) == [
        "val accuracy: 0.875 stored, 0.9 rerun",
        "test confusion[0][0]: 3 stored, 4 rerun",
        "test confusion[0][1]: 1 stored, 0 rerun",
        "epoch 2 loss.ce: 0.5 stored, 0.25 rerun",  # the epoch's seconds are not compared
    ]


def test_a_gpu_rerun_allows_the_tolerance_on_floats_only():
    stored = _stored()
    close = _result(_scores("val", 0.87501), _scores("test", 0.5), objective=0.87501)
    assert compare(stored, close, stored.epochs, tolerance=1e-4) == []
    assert compare(stored, close, stored.epochs) != []
    counted = _result(
        _scores("val", 0.875, confusion=((2, 2), (0, 4))), _scores("test", 0.5), objective=0.875
    )
    assert compare(stored, counted, stored.epochs, tolerance=1e-4)[0] == (
        "val confusion[0][0]: 3 stored, 2 rerun"
    )


@pytest.mark.slow
def test_a_rerun_repeats_a_trial_and_names_a_tampered_number(workdir: Path):
    study = tiny_study(workdir / "tiny.yaml", modalities="[social, fused]", seeds="[0]")
    ran = _cli("run", str(study), "--cpu-slots", "1", "--threads-per-slot", "2", "--no-live")
    assert ran.exit_code == 0, ran.output
    before = (workdir / "db" / "ablate.sqlite").read_bytes()

    again = _cli("rerun", "--study", "tiny", "1", "--data-dir", "db/data")
    assert again.exit_code == 0, again.output
    lines = again.output.splitlines()
    assert lines[0] == "rerun of trial 1 of tiny (modality=fused, seed 0) on cpu, 2 torch threads"
    assert lines[-1].startswith("identical: 2 epochs, best epoch ")
    assert lines[-1].endswith(
        ", the val and test scores and confusion matrices match the stored trial's"
    )
    assert (workdir / "db" / "ablate.sqlite").read_bytes() == before  # nothing written

    con = sqlite3.connect(workdir / "db" / "ablate.sqlite")
    (stored,) = con.execute(
        "select accuracy from ablate_result r join ablate_trial t on t.id = r.trial_id "
        "where t.number = 1 and r.split = 'test'"
    ).fetchone()
    con.execute(
        "update ablate_result set accuracy = accuracy + 0.01 where split = 'test' and "
        "trial_id = (select id from ablate_trial where number = 1)"
    )
    con.commit()
    tampered = _cli("rerun", "--study", "tiny", "1", "--data-dir", "db/data")
    assert tampered.exit_code == 1, tampered.output
    lines = tampered.output.splitlines()
    assert lines[-2:] == [
        "differs: 1 stored number(s) differ",
        f"  test accuracy: {stored + 0.01!r} stored, {stored!r} rerun",
    ]

    con.execute("update ablate_trial set state = 'failed' where number = 1")
    con.commit()
    con.close()
    refused = _cli("rerun", "--study", "tiny", "1")
    assert refused.exit_code == 2
    assert refused.output.strip() == (
        "error: Trial 1 of study 'tiny' is failed, not complete: only a complete trial can be "
        "rerun. Complete trials: 0."
    )
