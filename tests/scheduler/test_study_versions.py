"""A study grows and changes, as the student's do: a seed and a grid value are added, a fixed
setting is changed, then changed back. Through the CLI, against one SQLite file.

Before the fix: adding a seed crashed every rerun (Optuna's categorical seed), leaving a
phantom running trial; a changed lr averaged old and new runs in one table row; epochs 4 → 3
→ 4 said '24/12 complete' and showed the 3-epoch numbers.
"""

from __future__ import annotations

import csv
import io
import sqlite3
from pathlib import Path

import optuna
import pytest
from typer.testing import CliRunner

from ablate.cli import app
from tests.conftest import tiny_study

pytestmark = pytest.mark.slow
RUNNER = CliRunner()
FAST = ("--cpu-slots", "2", "--threads-per-slot", "1", "--no-live")


def _run(study: Path, *args: str):
    return RUNNER.invoke(app, ["run", str(study), *FAST, *args])


def _table(name: str, fmt: str = "csv") -> str:
    result = RUNNER.invoke(app, ["table", "--study", name, "--format", fmt])
    assert result.exit_code == 0, result.output
    return result.output


def _seed_counts(name: str) -> list[int]:
    """The n column of each measured row of the study's table."""
    rows = list(csv.DictReader(io.StringIO(_table(name))))
    return [int(row["n"]) for row in rows if row.get("section", "measured") == "measured"]


def _trials(db: Path) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute(
            "select id, run_key, state, number from ablate_trial order by id"
        ).fetchall()
    finally:
        con.close()


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_a_study_grows_by_a_seed_and_a_grid_value(workdir: Path) -> None:
    study = tiny_study(workdir / "grow.yaml", name="grow", epochs=1, seeds="[0]")
    first = _run(study)
    assert first.exit_code == 0, first.output
    before = _trials(workdir / "db" / "ablate.sqlite")
    assert len(before) == 2

    tiny_study(study, name="grow", epochs=1, seeds="[0, 1]", modalities="[social, fused, rs]")
    grown = _run(study)

    assert grown.exit_code == 0, grown.output
    assert "6/6 complete" in grown.output and "trained 4 trial(s) now" in grown.output
    assert "2 finished run(s) reused, 4 run(s) to train" in _flat(grown.output)
    after = _trials(workdir / "db" / "ablate.sqlite")
    assert after[:2] == before  # the finished runs were reused, untouched
    assert len(after) == 6 and {state for _, _, state, _ in after} == {"complete"}
    assert all(number >= 0 for *_, number in after)  # no phantom trial -1
    storage = f"sqlite:///{workdir / 'db' / 'ablate.sqlite'}"
    trials = optuna.load_study(study_name="grow", storage=storage).trials
    assert sorted(t.user_attrs["seed"] for t in trials[2:]) == [0, 1, 1, 1]
    assert _seed_counts("grow") == [2, 2, 2]


def test_a_changed_setting_is_refused_before_anything_runs(workdir: Path) -> None:
    study = tiny_study(workdir / "lr.yaml", name="lr", epochs=1)
    assert _run(study).exit_code == 0
    db = workdir / "db" / "ablate.sqlite"
    old_table = _table("lr")
    before = _trials(db)

    study.write_text(study.read_text().replace("lr: 3.0e-3", "lr: 1.0e-3"))
    refused = _run(study)

    assert refused.exit_code == 2
    assert _flat(refused.output) == (
        f"error: Study 'lr' in {study} changed since it last ran (train.lr 0.003 → 0.001): "
        "4 finished run(s) no longer belong to it (they stay in the database, left out of "
        "its tables), 0 still do, 4 run(s) would train. Rerun with --new-version to run the "
        "changed study, or give it a new name."
    )
    assert _trials(db) == before and _table("lr") == old_table
    dry = RUNNER.invoke(app, ["run", str(study), "--dry-run"])
    assert "ablate run would refuse it without --new-version" in _flat(dry.output)

    # accepted, and stopped part-way: seed 1's runs fail, so only seed 0 has the new lr
    result = RUNNER.invoke(
        app,
        ["run", str(study), *FAST, "--new-version"],
        env={"ABLATE_INJECT_FAULT": "raise@1:seed=1"},
    )
    assert result.exit_code == 1, result.output  # gave up on seed 1
    assert _seed_counts("lr") == [1, 1]  # the new lr's seed 0 only: never mixed with the old
    assert "from earlier versions of this study" in _flat(_table("lr", "markdown"))


def test_a_setting_changed_and_changed_back_shows_that_versions_numbers(workdir: Path) -> None:
    study = tiny_study(workdir / "ep.yaml", name="ep", epochs=2, seeds="[0]")
    assert _run(study).exit_code == 0
    two_epochs = _table("ep")

    tiny_study(study, name="ep", epochs=1, seeds="[0]")
    assert _run(study, "--new-version").exit_code == 0
    one_epoch = _table("ep")
    assert one_epoch != two_epochs

    tiny_study(study, name="ep", epochs=2, seeds="[0]")
    back = _run(study, "--new-version")

    assert back.exit_code == 0, back.output
    assert "Study 'ep' is complete: 2/2 runs done; nothing to train." in back.output
    assert _table("ep").split("\n")[:3] == two_epochs.split("\n")[:3]
