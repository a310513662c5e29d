"""A study whose rows exceed its host memory cap streams them instead of failing, and every
trial records the path it took and the memory it peaked at."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine
from typer.testing import CliRunner

from ablate.cli import app
from ablate.db import study_trials
from tests.conftest import tiny_study

pytestmark = pytest.mark.slow


def test_resident_over_the_host_cap_streams_and_says_so(workdir: Path) -> None:
    study = tiny_study(
        workdir / "capped.yaml",
        name="capped",
        epochs=1,
        modalities="[fused]",
        seeds="[0]",
        extra="resources: {data_placement: resident, host_memory_gb: 0.001}\n",
    )  # fmt: skip  (270 synthetic regions take ~9 MB resident: over a 1 MB cap)
    result = CliRunner().invoke(
        app, ["run", str(study), "--cpu-slots", "1", "--threads-per-slot", "1", "--no-live"]
    )
    assert result.exit_code == 0, result.output
    engine = create_engine(f"sqlite:///{workdir / 'db' / 'ablate.sqlite'}")
    [trial] = study_trials(engine, "capped")
    engine.dispose()
    assert (trial.state, trial.data_path) == ("complete", "stream")
    assert trial.peak_memory_bytes is not None and trial.peak_memory_bytes > 2**20
    log = Path(trial.log_path).read_text()
    assert (
        "data: stream (the rows take 0.00974 GB, over resources.host_memory_gb (0.001 GB)" in log
    )
    assert "after the first batch: peak memory " in log
