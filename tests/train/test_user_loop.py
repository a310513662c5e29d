"""The lower level: a loop of one's own, ``train(config, trial)``, stored as ablate's own."""

from __future__ import annotations

from pathlib import Path

import pytest

from ablate.errors import UsageError
from ablate.results import FitStatus
from ablate.train import NullReporter
from ablate.train.fit import fit
from tests.train._reporters import PruneAt, StopAfter
from tests.train._toy import NAMES, toy_config, toy_loop


def _fit(tmp_path: Path, report, checkpoint: Path | None = None, loop=toy_loop):
    return fit(
        toy_config(), device="cpu", data_root=tmp_path, checkpoint_path=checkpoint,
        report=report, task=loop,
    )  # fmt: skip


def test_predictions_become_scores(tmp_path: Path) -> None:
    report = NullReporter()
    result = _fit(tmp_path, report)
    assert result.status is FitStatus.COMPLETE and [e.epoch for e in report.epochs] == [1, 2, 3, 4]
    assert report.epochs[0].extras == {"custom": 1.0}
    assert result.val.classes.names == result.test.classes.names == NAMES
    assert sum(map(sum, result.test.classes.confusion)) == result.test.n_samples == 30
    assert result.objective == result.val.accuracy and result.best_epoch == 4


def test_resume_from_saved_state_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    clean_report = NullReporter()
    clean = _fit(tmp_path, clean_report)
    checkpoint = tmp_path / "user.pt"
    assert _fit(tmp_path, StopAfter(2), checkpoint).status is FitStatus.STOPPED
    report = NullReporter()
    again = _fit(tmp_path, report, checkpoint)
    assert again.resumed_from_epoch == 2 and (again.val, again.test) == (clean.val, clean.test)
    assert [(e.epoch, e.train_loss, e.val_loss) for e in report.epochs] == [
        (e.epoch, e.train_loss, e.val_loss) for e in clean_report.epochs
    ]


def test_pruned_loop(tmp_path: Path) -> None:
    assert _fit(tmp_path, PruneAt(1)).status is FitStatus.PRUNED


def test_a_loop_without_final_predictions_is_told_what_to_call(tmp_path: Path) -> None:
    def silent(config, trial) -> None:
        trial.report_epoch(1, train_loss=1.0, val_loss=1.0, val_accuracy=0.5)

    with pytest.raises(UsageError, match=r"without its final val and test predictions"):
        _fit(tmp_path, NullReporter(), loop=silent)


def test_labels_outside_the_classes_are_refused(tmp_path: Path) -> None:
    def wrong(config, trial) -> None:
        trial.predictions("val", [0, 5], [0, 1], class_names=NAMES)

    with pytest.raises(UsageError, match=r"labels must be 0…2 for the 3 class_names"):
        _fit(tmp_path, NullReporter(), loop=wrong)
