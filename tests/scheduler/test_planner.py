"""The planner alone: which run starts next, retries after failures and interruptions, and when
a study is done. No processes and no database: ledgers are built from plain attempts."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from ablate.db import ensure_schema, make_engine, session_scope, writer
from ablate.db import ledger as rows
from ablate.db.ledger import Attempt
from ablate.results import EpochResult, ErrorKind, TrialState
from ablate.scheduler._ledger import build_ledger
from ablate.scheduler._planner import Planner, Sample
from ablate.spec import cell_key, grid_trials, parse_study

SPEC = parse_study(
    "name: order\ngrid:\n  model.modality: [rs, social, fused]\nseeds: [0, 1]\n"
    "train: {epochs: 4, halve_batch_on_oom: true, batch_size: 64}\n"
    "resources: {max_retries: 1}\n"
)
PLANNED = grid_trials(SPEC)
SEARCH = parse_study(
    "name: s\nseeds: [3, 4]\nsearch:\n  n_trials: 3\n  params:\n"
    "    loss.distillation: {low: 0.0, high: 1.0}\n"
)


def _attempt(config, state: TrialState, kind: ErrorKind = ErrorKind.NONE, **extra) -> Attempt:
    return Attempt(
        id=0, run_key=config.run_key, state=state, error_kind=kind,
        error_head=extra.get("error", ""), cell=config.cell, params=config.params,
        seed=config.seed, number=0, host="h", pid=1, heartbeat_at=datetime(2026, 1, 1),
        optuna_trial_id=None, objective=None,
    )  # fmt: skip


def _modalities(configs) -> list[str]:
    return [c.cell["model.modality"] for c in configs]


def _drain(planner: Planner, attempts: list[Attempt] = ()) -> list:
    """Start runs one by one until the planner has none left (nothing finishes meanwhile)."""
    ledger, running, order = build_ledger(attempts), set(), []
    while (pick := planner.next(ledger, running)) is not None:
        order.append(pick)
        running.add(pick.run_key)
    return order


def test_untimed_cells_keep_the_grid_order() -> None:
    assert [c.run_key for c in _drain(Planner(SPEC, PLANNED))] == [c.run_key for c in PLANNED]


def test_within_a_seed_the_longest_cell_goes_first() -> None:
    planner = Planner(SPEC, PLANNED)
    cost = {"rs": 2.0, "social": 1.0, "fused": 3.0}
    for config in PLANNED[:3]:  # seed 0, timed over two epochs each
        for _ in range(2):
            planner.timed_epoch(config, cost[config.cell["model.modality"]])
    order = _drain(planner)
    assert [c.seed for c in order] == [0, 0, 0, 1, 1, 1]  # a full first table comes first
    assert _modalities(order) == ["fused", "rs", "social"] * 2
    assert planner.expected_seconds(PLANNED[0]) == pytest.approx(2.0 * 4)


def test_a_cell_not_timed_yet_runs_before_timed_ones() -> None:
    planner = Planner(SPEC, PLANNED)
    planner.timed_epoch(PLANNED[0], 5.0)  # only rs is timed, and it is slow
    assert _modalities(planner.longest_of_first_seed(PLANNED[3:]) for _ in [0]) == ["social"]
    order = _drain(planner, [_attempt(c, TrialState.COMPLETE) for c in PLANNED[:3]])
    assert _modalities(order) == ["social", "fused", "rs"]


def test_complete_running_and_pruned_runs_are_not_started_again() -> None:
    attempts = [
        _attempt(PLANNED[0], TrialState.COMPLETE),
        _attempt(PLANNED[1], TrialState.RUNNING),  # another machine holds it
        _attempt(PLANNED[2], TrialState.INTERRUPTED),  # resumes: not a failure
    ]
    order = _drain(Planner(SPEC, PLANNED), attempts)
    assert [c.run_key for c in order] == [c.run_key for c in PLANNED[2:]]
    ledger = build_ledger(attempts)
    assert ledger.failures[PLANNED[2].run_key] == 0
    assert Planner(SPEC, PLANNED).held_elsewhere(ledger, running=set())


def test_a_failed_run_is_retried_up_to_the_cap_then_given_up() -> None:
    planner, config = Planner(SPEC, PLANNED), PLANNED[0]
    once = [_attempt(config, TrialState.FAILED, ErrorKind.EXCEPTION)]
    assert config.run_key in {c.run_key for c in _drain(planner, once)}  # max_retries: 1
    twice = once * 2
    ledger = build_ledger(twice)
    assert planner.exhausted(config.run_key, ledger)
    assert config.run_key not in {c.run_key for c in _drain(planner, twice)}
    assert planner.gave_up(ledger) == [config]
    assert planner.gave_up_text(config, ledger) == "modality=rs, seed 0 after 2 failures"
    planner.forgive(ledger)  # --retry-failed
    assert not planner.exhausted(config.run_key, ledger)


def test_a_usage_error_is_never_retried() -> None:
    planner, config = Planner(SPEC, PLANNED), PLANNED[0]
    attempts = [_attempt(config, TrialState.FAILED, ErrorKind.USAGE, error="UsageError: bad")]
    ledger = build_ledger(attempts)
    assert planner.exhausted(config.run_key, ledger)
    assert planner.gave_up_text(config, ledger).endswith(
        "after 1 failure (not retried: UsageError: bad)"
    )


def test_out_of_memory_halves_the_batch_each_time() -> None:
    planner, config = Planner(SPEC, PLANNED), PLANNED[0]
    attempts = [_attempt(config, TrialState.FAILED, ErrorKind.OOM)]
    halved = planner.batch_for(config, build_ledger(attempts))
    assert halved.train.batch_size == 32 and halved.run_key != config.run_key
    assert planner.batch_for(config, build_ledger([])) is config


def test_done_when_every_run_is_complete_or_given_up() -> None:
    planner = Planner(SPEC, PLANNED)
    assert not planner.done(build_ledger([]))
    complete = [_attempt(c, TrialState.COMPLETE) for c in PLANNED[1:]]
    failed = [_attempt(PLANNED[0], TrialState.FAILED, ErrorKind.DIED)] * 2
    assert not planner.done(build_ledger(complete))
    assert planner.done(build_ledger(complete + failed))
    assert planner.target == 6


def test_a_search_retries_its_failed_configurations_then_samples_up_to_n_trials() -> None:
    from ablate.spec import resolve

    planner = Planner(SEARCH, [])
    tried = resolve(SEARCH, seed=3, cell={}, params={"loss.distillation": 0.25})
    ledger = build_ledger([_attempt(tried, TrialState.FAILED, ErrorKind.EXCEPTION)])
    retry = planner.next(ledger, running=set())
    assert retry.run_key == tried.run_key and retry.seed == 3  # the same config, its seed
    assert isinstance(planner.next(ledger, running={tried.run_key}), Sample)
    three = [_attempt(tried, TrialState.COMPLETE)] + [
        _attempt(resolve(SEARCH, seed=3, cell={}, params={"loss.distillation": v}), s)
        for v, s in ((0.5, TrialState.PRUNED), (0.75, TrialState.COMPLETE))
    ]
    assert planner.next(build_ledger(three), running=set()) is None
    assert planner.done(build_ledger(three)) and planner.target == 3


def test_epoch_seconds_by_cell_reads_the_recorded_epochs(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'a.sqlite'}")
    ensure_schema(engine)
    with session_scope(engine) as session:
        study_id = writer.upsert_study(
            session, name="order", description="", kind="grid", spec_json={}, spec_text="",
            spec_path="",
        )  # fmt: skip
    seconds = {("rs", 0): [1.0, 3.0], ("rs", 1): [2.0], ("social", 0): [0.5, 0.5, 0.5]}
    for (modality, seed), epochs in seconds.items():
        cell = {"model.modality": modality}
        row = rows.claim(
            engine, study_id=study_id, number=0, run_key=f"{modality}{seed}",
            cell_key=cell_key(cell), cell=cell, params={}, seed=seed, attempt=1, config={},
            host="here", pid=1,
        )  # fmt: skip
        for epoch, value in enumerate(epochs, start=1):
            rows.record_epoch(engine, row, EpochResult(epoch, 1.0, 1.0, 0.5, 1e-3, value))
    assert rows.epoch_seconds_by_cell(engine, study_id) == {
        cell_key({"model.modality": "rs"}): (6.0, 3),
        cell_key({"model.modality": "social"}): (1.5, 3),
    }
