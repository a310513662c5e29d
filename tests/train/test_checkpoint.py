"""A damaged checkpoint is named, set aside and the trial starts again (instead of failing
three times without naming the file, as before)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ablate.spec import grid_trials, parse_study
from ablate.train._report import NullReporter
from ablate.train.checkpoint import DamagedCheckpoint, load_checkpoint
from ablate.train.fit import fit
from tests.conftest import TINY_STUDY

pytestmark = pytest.mark.slow


def _config():
    text = TINY_STUDY.format(name="ck", epochs=2, modalities="[fused]", seeds="[0]")
    return grid_trials(parse_study(text))[0]


def _fit(tmp_path: Path, checkpoint: Path, report: NullReporter):
    return fit(
        _config(), device="cpu", data_root=tmp_path / "data", checkpoint_path=checkpoint,
        report=report,
    )  # fmt: skip


def test_truncated_checkpoint_is_set_aside_and_the_trial_restarts(tmp_path: Path) -> None:
    clean = _fit(tmp_path, tmp_path / "clean.pt", NullReporter())
    checkpoint = tmp_path / "cut.pt"
    _fit(tmp_path, checkpoint, NullReporter())
    checkpoint.write_bytes(checkpoint.read_bytes()[:1000])  # a copy cut short, a full disk

    report = NullReporter()
    again = _fit(tmp_path, checkpoint, report)

    [aside] = tmp_path.glob("cut.pt.damaged-*")
    assert len(report.notes) == 1
    assert report.notes[0].startswith(f"checkpoint {checkpoint} is damaged (")
    assert f"set aside as {aside}; the trial starts again from epoch 1" in report.notes[0]
    assert again.resumed_from_epoch == 0 and again.val == clean.val and again.test == clean.test
    assert load_checkpoint(checkpoint)["epoch"] == 2  # a good checkpoint again


def test_load_names_the_damaged_file(tmp_path: Path) -> None:
    path = tmp_path / "x.pt"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(DamagedCheckpoint) as caught:
        load_checkpoint(path)
    assert caught.value.path == path and not path.exists() and caught.value.set_aside.exists()


def test_resume_under_another_thread_count_is_told(tmp_path: Path) -> None:
    import torch

    before = torch.get_num_threads()
    checkpoint = tmp_path / "t.pt"
    try:
        torch.set_num_threads(1)
        _fit(tmp_path, checkpoint, NullReporter())
        torch.set_num_threads(2)
        report = NullReporter()
        _fit(tmp_path, checkpoint, report)  # resumes (at its end) with 2 threads
    finally:
        torch.set_num_threads(before)
    assert report.notes == [
        "resumed with 2 torch thread(s), trained so far with 1: on a CPU the last digits of "
        "its numbers can differ from an uninterrupted run's (use the same --threads-per-slot "
        "for identical numbers)"
    ]
