"""The planner's adaptive-seed decisions on fake ledgers (no processes, no database): which
extra seeds run, for which cells, and that every reread of the ledger decides the same."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ablate.cli import app
from ablate.db.ledger import Attempt
from ablate.results import ErrorKind, TrialState
from ablate.scheduler._ledger import build_ledger
from ablate.scheduler._planner import Planner
from ablate.spec import grid_trials, parse_study
from tests.conftest import TINY_STUDY

SPEC = parse_study(
    "name: ad\ngrid:\n  model.fusion: [concat, sum, max]\nseeds: [0, 5, 2]\n"
    "baseline: {model.fusion: concat}\nresources: {max_retries: 0}\n"
    "adaptive_seeds: {max_seeds: 7, step: 2}\n"  # looks at 3, 5, 7 seeds: p < 0.05/3
)
BASE = 0.70
# val objective minus baseline, per seed in look order (0, 5, 2, 6, 7, 8, 9)
CLEAR = [0.050, 0.052, 0.048]  # p ≈ 5e-4 at the first look: decided
UNCLEAR = [0.010, -0.020, 0.015, 0.020, -0.010, 0.000, 0.004]
SPEC_SEQUENCE = [0, 5, 2, 6, 7, 8, 9]


def _attempt(config, state: TrialState, objective: float | None = None) -> Attempt:
    return Attempt(
        id=0, run_key=config.run_key, state=state, error_kind=ErrorKind.NONE, error_head="",
        cell=config.cell, params={}, seed=config.seed, number=0, host="h", pid=1,
        heartbeat_at=datetime(2026, 1, 1), optuna_trial_id=None, objective=objective,
    )  # fmt: skip


def _value(config, diffs: dict[str, list[float]]) -> float:
    fusion = config.cell["model.fusion"]
    index = SPEC_SEQUENCE.index(config.seed)
    return BASE + (diffs[fusion][index] if fusion != "concat" else 0.0)


def _complete(planner: Planner, n: int, diffs: dict[str, list[float]]) -> list[Attempt]:
    """The first ``n`` seeds of every cell complete, with these objective differences."""
    return [
        _attempt(planner.adaptive.run(cell, seed), TrialState.COMPLETE,
                 _value(planner.adaptive.run(cell, seed), diffs))
        for seed in SPEC_SEQUENCE[:n]
        for cell in planner.adaptive.cells
    ]  # fmt: skip


def _grow(planner: Planner, diffs: dict[str, list[float]]) -> list[Attempt]:
    """Complete every run the planner asks for, look after look, until it asks for none."""
    attempts: list[Attempt] = []
    while True:
        ledger = build_ledger(attempts)
        new = [c for c in planner.runs(ledger) if c.run_key not in ledger.complete]
        if not new:
            return attempts
        attempts += [_attempt(c, TrialState.COMPLETE, _value(c, diffs)) for c in new]


def _pending(planner: Planner, attempts: list[Attempt]) -> list[tuple[str, int]]:
    ledger, running, order = build_ledger(attempts), set(), []
    while (pick := planner.next(ledger, running)) is not None:
        order.append((pick.cell["model.fusion"], pick.seed))
        running.add(pick.run_key)
    return order


def test_the_declared_seeds_run_first_and_alone() -> None:
    planner = Planner(SPEC, grid_trials(SPEC))
    assert {seed for _, seed in _pending(planner, [])} == {0, 5, 2}
    assert planner.target == 9


def test_an_undecided_comparison_gets_the_next_looks_seeds_and_the_baseline_too() -> None:
    planner = Planner(SPEC, grid_trials(SPEC))
    done = _complete(planner, 3, {"sum": CLEAR, "max": UNCLEAR})
    # seeds continue from max(seeds) + 1 = 6; 'sum' is decided and gets none
    assert sorted(_pending(planner, done)) == [
        ("concat", 6),
        ("concat", 7),
        ("max", 6),
        ("max", 7),
    ]
    assert planner.target == 9 + 4 and not planner.done(build_ledger(done))


def test_a_look_is_judged_only_when_all_its_runs_are_complete() -> None:
    """Runs of the next look that are running, interrupted or not started yet change no
    decision: a rerun after a SIGKILL asks for exactly the same runs."""
    planner = Planner(SPEC, grid_trials(SPEC))
    done = _complete(planner, 3, {"sum": CLEAR, "max": UNCLEAR})
    asked = _pending(planner, done)
    extra = [c for c in planner.runs(build_ledger(done)) if c.seed in (6, 7)]
    states = (TrialState.RUNNING, TrialState.INTERRUPTED, TrialState.FAILED)
    for state, config in zip(states, extra, strict=False):
        partial = [*done, _attempt(config, state)]
        assert {c.run_key for c in planner.runs(build_ledger(partial))} >= {
            c.run_key for c in extra
        }
    assert _pending(Planner(SPEC, grid_trials(SPEC)), done) == asked  # a fresh planner agrees


def test_undecided_at_the_maximum_stops_and_the_study_is_done() -> None:
    planner = Planner(SPEC, grid_trials(SPEC))
    done = _grow(planner, {"sum": CLEAR, "max": UNCLEAR})
    ledger = build_ledger(done)
    assert len(done) == 3 + 7 + 7  # sum, max, concat
    assert planner.done(ledger) and _pending(planner, done) == []
    states = {c.text.split(":")[0]: c.verdict for c in planner.adaptive.comparisons(ledger)}
    assert states["fusion=sum vs fusion=concat"].look == 1
    assert states["fusion=max vs fusion=concat"].look == 3  # all three looks taken
    # sum stopped at 3 seeds although concat ran 7: its runs beyond seed 2 were never asked
    assert {c.seed for c in planner.runs(ledger) if c.cell["model.fusion"] == "sum"} == {0, 5, 2}


def test_the_decision_reads_the_validation_objective_only() -> None:
    """The ledger carries each complete run's objective (a val_* metric, by the spec): a
    run whose objective is unknown does not count as a look's data."""
    planner = Planner(SPEC, grid_trials(SPEC))
    done = _complete(planner, 3, {"sum": CLEAR, "max": CLEAR})
    assert _pending(planner, done) == []
    sum_2 = planner.adaptive.run_key({"model.fusion": "sum"}, 2)
    hidden = [replace(a, objective=None) if a.run_key == sum_2 else a for a in done]
    assert _pending(planner, hidden) == []  # waiting for its first look: nothing extra yet
    assert SPEC.objective.metric == "val_accuracy"


def test_a_run_failed_for_good_stops_its_comparison() -> None:
    planner = Planner(SPEC, grid_trials(SPEC))
    done = _complete(planner, 3, {"sum": CLEAR, "max": UNCLEAR})
    seed6 = planner.adaptive.run({"model.fusion": "max"}, 6)
    failed = [*done, _attempt(seed6, TrialState.FAILED)]
    ledger = build_ledger(failed)
    assert planner.exhausted(seed6.run_key, ledger)
    rest = _pending(planner, failed)
    assert ("max", 6) not in rest and ("max", 7) in rest
    (stopped,) = [
        c
        for c in planner.adaptive.comparisons(ledger, given_up=lambda k: k == seed6.run_key)
        if c.stalled
    ]
    assert stopped.text == (
        "fusion=max vs fusion=concat: stopped: a run of its look at n=5 failed for good"
    )


@pytest.mark.slow
def test_ablate_run_adds_seeds_to_an_undecided_comparison(workdir: Path) -> None:
    """Two cells that train identically (halve_batch_on_oom changes nothing without an OOM):
    their paired differences are all zero, no look can decide, so both run up to max_seeds;
    status counts the extra runs, the table states the design, a rerun trains nothing."""
    text = (
        TINY_STUDY.format(name="adaptive", epochs=1, modalities="[fused]", seeds="[0, 1, 2]")
        .replace(
            "grid:\n  model.modality: [fused]\n",
            "grid:\n  train.halve_batch_on_oom: [false, true]\n",
        )
        .replace(
            "baseline: {model.modality: fused}", "baseline: {train.halve_batch_on_oom: false}"
        )
    )
    study = workdir / "adaptive.yaml"
    study.write_text(text + "adaptive_seeds: {max_seeds: 4, step: 1}\n")
    runner = CliRunner()
    dry = runner.invoke(app, ["run", str(study), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "adaptive seeds: at most 4 seeds per cell (seeds 3…3 as needed), up to 2 more" in (
        " ".join(dry.output.split())
    )
    args = ["run", str(study), "--gpus", "cpu", "--cpu-slots", "2", "--no-live"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "adaptive: 8/8 complete" in first.output
    con = sqlite3.connect(workdir / "db" / "ablate.sqlite")
    seeds = sorted(con.execute("select seed from ablate_trial where state = 'complete'"))
    con.close()
    assert [s for (s,) in seeds] == [0, 0, 1, 1, 2, 2, 3, 3]
    status = runner.invoke(app, ["status", "--study", "adaptive"])
    assert status.exit_code == 0, status.output
    assert (
        "adaptive seeds: 2 extra run(s) beyond the 3 declared seeds so far (2 complete), "
        "of at most 2;" in " ".join(status.output.split())
    )
    assert (
        "halve_batch_on_oom=True vs halve_batch_on_oom=False: undecided at the maximum (n=4)"
        in (" ".join(status.output.split()))
    )
    table = runner.invoke(app, ["table", "--study", "adaptive", "--format", "markdown"])
    assert table.exit_code == 0, table.output
    assert "Adaptive seeds (a group-sequential design): looks at 3, 4 paired seeds" in table.output
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and "Study 'adaptive' is complete: 8/8 runs" in again.output
