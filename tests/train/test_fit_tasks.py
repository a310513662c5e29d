"""A task through ``fit``: the classes come from the task, the loop, checkpoints and resume
are ablate's; an interrupted run continues to the numbers of an uninterrupted one."""

from __future__ import annotations

from pathlib import Path

import pytest

from ablate.errors import UsageError
from ablate.results import FitStatus
from ablate.train import NullReporter
from ablate.train.fit import fit
from tests.train._reporters import PruneAt, StopAfter
from tests.train._toy import NAMES, Toy, toy_config


def _fit(tmp_path: Path, report, checkpoint: Path | None = None, epochs: int = 4):
    return fit(
        toy_config(epochs), device="cpu", data_root=tmp_path, checkpoint_path=checkpoint,
        report=report, task=Toy(),
    )  # fmt: skip


def test_the_classes_are_the_tasks(tmp_path: Path) -> None:
    result = _fit(tmp_path, NullReporter())
    assert result.status is FitStatus.COMPLETE
    for scores in result.splits:
        assert scores.classes.names == NAMES
        assert len(scores.classes.confusion) == 3 and scores.n_samples == 30
    assert result.n_params == 4 * 16 + 16 + 16 * 3 + 3


def test_loss_terms_of_the_task_are_logged(tmp_path: Path) -> None:
    report = NullReporter()
    _fit(tmp_path, report)
    assert {"loss.ce", "loss.l2", "val_kappa", "val_macro_f1"} <= set(report.epochs[0].extras)


@pytest.mark.parametrize("stop_after", [1, 3])
def test_resume_after_a_stop_equals_an_uninterrupted_run(tmp_path: Path, stop_after) -> None:
    clean_report = NullReporter()
    clean = _fit(tmp_path, clean_report)
    checkpoint = tmp_path / "cut.pt"
    stopped = _fit(tmp_path, StopAfter(stop_after), checkpoint)
    assert stopped.status is FitStatus.STOPPED
    report = NullReporter()
    again = _fit(tmp_path, report, checkpoint)
    assert again.resumed_from_epoch == stop_after
    assert (again.val, again.test, again.best_epoch) == (clean.val, clean.test, clean.best_epoch)
    strip = [(e.epoch, e.train_loss, e.val_loss, e.lr, e.extras) for e in report.epochs]
    assert strip == [
        (e.epoch, e.train_loss, e.val_loss, e.lr, e.extras) for e in clean_report.epochs
    ]


def test_a_task_can_be_pruned(tmp_path: Path) -> None:
    result = _fit(tmp_path, PruneAt(2))
    assert result.status is FitStatus.PRUNED and result.val is not None


def test_a_trial_naming_a_task_needs_the_task_object(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"names task toy\.py:Toy, but no task object"):
        fit(toy_config(), device="cpu", data_root=tmp_path, checkpoint_path=None,
            report=NullReporter())  # fmt: skip
