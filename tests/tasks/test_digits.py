"""The digits example (examples/digits): another data set, 10 classes, through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ablate._plugins import parse_ref
from ablate.cli import app
from ablate.results import FitStatus
from ablate.spec import grid_trials, load_study
from ablate.tasks import load_task
from ablate.train import NullReporter
from ablate.train.fit import fit
from tests.conftest import REPO
from tests.train._reporters import StopAfter

pytestmark = pytest.mark.slow
STUDY = REPO / "examples" / "digits" / "digits.yaml"
NAMES = tuple(f"digit {d}" for d in range(10))


def _config_and_task():
    spec, _ = load_study(STUDY)
    config = grid_trials(spec)[0].model_copy(
        update={"train": spec.train.model_copy(update={"epochs": 3})}
    )
    return config, load_task(parse_ref(spec.task, base=STUDY.parent, attribute=True))


def _fit(tmp_path: Path, report, checkpoint: Path | None = None):
    config, task = _config_and_task()
    return fit(config, device="cpu", data_root=tmp_path, checkpoint_path=checkpoint,
               report=report, task=task)  # fmt: skip


def test_digits_has_ten_named_classes_and_resumes_exactly(tmp_path: Path) -> None:
    clean = _fit(tmp_path, NullReporter())
    assert clean.test.classes.names == NAMES and len(clean.test.classes.confusion) == 10
    assert clean.val.accuracy > 0.8  # it learns: 10 classes, chance is 0.1
    checkpoint = tmp_path / "digits.pt"
    assert _fit(tmp_path, StopAfter(1), checkpoint).status is FitStatus.STOPPED
    again = _fit(tmp_path, NullReporter(), checkpoint)
    assert again.resumed_from_epoch == 1 and (again.val, again.test) == (clean.val, clean.test)


def test_digits_through_ablate_run_and_table(workdir: Path) -> None:
    runner = CliRunner()
    ran = runner.invoke(
        app, ["run", str(STUDY), "--cpu-slots", "1", "--threads-per-slot", "1", "--no-live"]
    )
    assert ran.exit_code == 0, ran.output
    assert "digits: 4/4 complete" in ran.output
    table = runner.invoke(
        app, ["table", "--study", "digits", "--per-class", "--format", "markdown"]
    )
    assert table.exit_code == 0, table.output
    assert "digit 0" in table.output and "digit 9" in table.output
    report = runner.invoke(app, ["report", "--study", "digits", "--out", "digits.md"])
    assert report.exit_code == 0, report.output
    assert "digit 9" in (workdir / "digits.md").read_text()
