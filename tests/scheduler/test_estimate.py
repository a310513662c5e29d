"""The time estimate: hand-computed makespans, borrowed and unknown epoch times, its lines,
and through the CLI, the dry run's numbers from the epochs the database holds."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ablate.cli import app
from ablate.scheduler._estimate import (
    Basis,
    clock_text,
    duration_text,
    estimate_study,
    eta_line,
    makespan,
    total_line,
)
from ablate.spec import cell_key, grid_trials, load_study
from tests.conftest import tiny_study

SOCIAL, FUSED = cell_key({"model.modality": "social"}), cell_key({"model.modality": "fused"})
TIMED = {SOCIAL: (4.0, 2), FUSED: (9.0, 3)}  # 2 s and 3 s an epoch


@pytest.fixture
def planned(tmp_path: Path):
    spec, _ = load_study(tiny_study(tmp_path / "tiny.yaml", epochs=2))  # 2 cells × seeds 0, 1
    return grid_trials(spec)


def _key(planned, modality: str, seed: int) -> str:
    return next(
        c.run_key for c in planned if c.cell["model.modality"] == modality and c.seed == seed
    )


def test_makespan_sends_each_run_to_the_slot_free_first() -> None:
    assert makespan([5, 4, 3, 3, 3], 2) == 10  # 5|4 → 5|7 → 8|7 → 8|10
    assert makespan([5, 4, 3], 1) == 12
    assert makespan([5], 4) == 5


def test_runs_take_their_cells_mean_epoch_times_epochs(planned) -> None:
    one = estimate_study(planned, TIMED, complete=set(), slots=1)
    assert [(c.runs, c.epoch_s, c.seconds, c.basis) for c in one.cells] == [
        (2, 2.0, 8.0, Basis.TIMED),
        (2, 3.0, 12.0, Basis.TIMED),
    ]
    assert one.total_s == 20.0 and one.unknown_runs == 0
    two = estimate_study(planned, TIMED, complete=set(), slots=2)
    assert two.total_s == 10.0  # seed 0: fused 6 | social 4, seed 1: fused → 10, social → 10


def test_complete_runs_drop_out_and_runs_in_progress_count_their_epochs_left(planned) -> None:
    complete = {_key(planned, "social", 0)}
    rest = estimate_study(planned, TIMED, complete=complete, slots=2)
    assert rest.remaining_runs == 3 and rest.total_s == 10.0  # 6 | 6, then 4 → 10
    going = estimate_study(
        planned, TIMED, complete=complete, epochs_done={_key(planned, "fused", 0): 1}, slots=2
    )
    assert going.total_s == 7.0  # fused 0 has 3 s left | fused 1: 6, then social 1: 3 + 4


def test_a_cell_not_timed_borrows_the_others_or_is_unknown(planned) -> None:
    borrowed = estimate_study(planned, {SOCIAL: (4.0, 2)}, complete=set(), slots=1)
    fused = borrowed.cells[1]
    assert (fused.basis, fused.epoch_s, fused.seconds) == (Basis.OTHER_CELLS, 2.0, 8.0)
    assert borrowed.total_s == 16.0
    nothing = estimate_study(planned, {}, complete=set(), slots=2)
    assert nothing.total_s is None and nothing.unknown_runs == 4
    assert total_line(nothing) == (
        "No epoch timed yet: the first runs will tell (see ablate status)."
    )
    assert (
        eta_line(nothing) == "ETA unknown: no epoch timed yet (4 run(s) left on 2 running slot(s))"
    )


def test_lines_and_durations(planned) -> None:
    assert [duration_text(s) for s in (0.84, 45, 720, 12240)] == ["0.8s", "45s", "12 min", "3.4 h"]
    estimate = estimate_study(planned, TIMED, complete=set(), slots=2)
    assert total_line(estimate) == "≈ 10s in all on 2 slot(s)"
    assert eta_line(estimate) == "ETA ≈ 10s (4 run(s) left on 2 running slot(s))"


@pytest.mark.slow
def test_dry_run_and_status_estimate_from_the_epochs_stored(workdir: Path) -> None:
    runner = CliRunner()
    study = tiny_study(workdir / "tiny.yaml", seeds="[0]")
    first = runner.invoke(app, ["run", str(study), "--gpus", "cpu", "--no-live"])
    assert first.exit_code == 0, first.output
    tiny_study(workdir / "tiny.yaml", seeds="[0, 1]")
    dry = runner.invoke(app, ["run", str(study), "--dry-run", "--gpus", "cpu", "--cpu-slots", "2"])
    assert dry.exit_code == 0, dry.output

    con = sqlite3.connect(workdir / "db" / "ablate.sqlite")
    rows = con.execute(
        "select t.cell_key, sum(e.seconds), count(*) from ablate_epoch e "
        "join ablate_trial t on t.id = e.trial_id group by t.cell_key"
    ).fetchall()
    con.close()
    mean = {key: total / count for key, total, count in rows}
    lines = [
        f"  modality={m}: 1 run(s) ≈ {duration_text(mean[k] * 2)} ({mean[k]:.3g}s/epoch, "
        "timed 2 epochs)"
        for m, k in (("social", SOCIAL), ("fused", FUSED))
    ]
    output = dry.output.splitlines()
    assert "Estimated time (training epochs only):" in output
    assert all(line in output for line in lines), dry.output
    total = max(mean[SOCIAL], mean[FUSED]) * 2  # one run on each of the 2 slots
    assert f"≈ {duration_text(total)} in all on 2 slot(s)" in output
    output, seconds = _status_eta(workdir, runner)  # the stored study: seed 0 only
    assert f"  ETA ≈ {duration_text(seconds)} (1 run(s) left on 1 running slot(s))" in output


def _status_eta(workdir: Path, runner: CliRunner) -> tuple[str, float]:
    """Make the stored fused run look half done and still running; its status and the
    seconds of its one epoch left, which the stored first epoch says."""
    con = sqlite3.connect(workdir / "db" / "ablate.sqlite")
    (trial_id,) = con.execute(
        "select id from ablate_trial where cell_key = ?", (FUSED,)
    ).fetchone()
    con.execute("update ablate_trial set state = 'running' where id = ?", (trial_id,))
    con.execute("delete from ablate_epoch where trial_id = ? and epoch = 2", (trial_id,))
    (seconds,) = con.execute("select seconds from ablate_epoch where trial_id = ?", (trial_id,))
    con.commit()
    con.close()
    status = runner.invoke(app, ["status", "--study", "tiny"])
    assert status.exit_code == 0, status.output
    return status.output, seconds[0]


def test_dry_run_of_a_study_never_run_without_a_probe_says_the_first_runs_will_tell(
    workdir: Path,
) -> None:
    study = str(tiny_study(workdir / "t.yaml"))
    dry = CliRunner().invoke(app, ["run", study, "--dry-run", "--gpus", "cpu", "--no-probe"])
    assert dry.exit_code == 0, dry.output
    assert "No epoch timed yet: the first runs will tell (see ablate status)." in dry.output


@pytest.mark.slow
def test_a_finished_run_reports_its_estimate_against_what_it_took(workdir: Path) -> None:
    """A partial run (seed 0) times both cells; the run of seed 1 is estimated from
    it, and says how far off that was. The bound is loose (a factor of 3) because this shared
    2-core machine is noisy and the estimate counts training epochs only."""
    runner = CliRunner()
    study = tiny_study(workdir / "tiny.yaml", seeds="[0]", epochs=3)
    first = runner.invoke(app, ["run", str(study), "--gpus", "cpu", "--no-live"])
    assert first.exit_code == 0, first.output
    con = sqlite3.connect(workdir / "db" / "ablate.sqlite")
    (probed,) = con.execute("select sources from ablate_estimate").fetchone()
    assert probed == "cells: 2 probed"  # nothing timed yet: probed on the slot's worker
    timed = con.execute(
        "select sum(e.seconds) / count(*) from ablate_epoch e "
        "join ablate_trial t on t.id = e.trial_id group by t.cell_key"
    ).fetchall()
    tiny_study(workdir / "tiny.yaml", seeds="[0, 1]", epochs=3)
    second = runner.invoke(app, ["run", str(study), "--gpus", "cpu", "--no-live"])
    assert second.exit_code == 0, second.output
    estimated, took, sources, runs = con.execute(
        "select estimated_s, took_s, sources, runs from ablate_estimate order by id desc"
    ).fetchone()
    con.close()
    assert (sources, runs) == ("cells: 2 timed", 2)
    assert estimated == pytest.approx(sum(mean * 3 for (mean,) in timed))  # one slot
    error = 100 * (took - estimated) / estimated
    line = f"Time: estimated {clock_text(estimated)}, took {clock_text(took)} ({error:+.0f} %)"
    assert line in second.output.splitlines(), second.output
    assert 1 / 3 <= took / estimated <= 3, line
    status = runner.invoke(app, ["status", "--study", "tiny"])
    assert f"  last run (2 run(s) on 1 slot(s), cells: 2 timed): {line[6:]}" in status.output


@pytest.mark.slow
def test_dry_run_of_a_study_never_run_probes_each_model(workdir: Path) -> None:
    study = str(tiny_study(workdir / "t.yaml"))
    dry = CliRunner().invoke(app, ["run", study, "--dry-run", "--gpus", "cpu"])
    assert dry.exit_code == 0, dry.output
    cells = [line for line in dry.output.splitlines() if line.startswith("  modality=")]
    assert len(cells) == 2 and all(re.search(r"s/epoch, probe [1-5] steps?\)$", c) for c in cells)
    assert re.search(r"^≈ .+ in all on 1 slot\(s\)$", dry.output, re.MULTILINE), dry.output
