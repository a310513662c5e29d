"""Which run starts next: seed by seed, the longest expected run of a seed first."""

from __future__ import annotations

from pathlib import Path

import pytest

from ablate.db import EpochValues, ensure_schema, make_engine, session_scope, writer
from ablate.scheduler import DevicePool, RunOptions, _ledger
from ablate.scheduler._runner import StudyRunner
from ablate.spec import cell_key, grid_trials, parse_study

SPEC = parse_study(
    "name: order\ngrid:\n  model.modality: [rs, social, fused]\nseeds: [0, 1]\n"
    "train: {epochs: 4}\n"
)


def _runner(tmp_path: Path) -> StudyRunner:
    options = RunOptions(
        storage_url=f"sqlite:///{tmp_path / 'unused.sqlite'}",
        data_root=tmp_path,
        checkpoint_root=tmp_path,
        log_root=tmp_path,
    )
    pool = DevicePool(gpus="cpu", cpu_slots=2, environ={})
    return StudyRunner(SPEC, spec_text="", spec_path="", pool=pool, options=options)


def _modalities(configs) -> list[str]:
    return [c.cell["model.modality"] for c in configs]


def _drain(runner: StudyRunner, pending: list) -> list:
    order = []
    while pending:
        pick = runner._longest_of_first_seed(pending)
        order.append(pick)
        pending = [c for c in pending if c is not pick]
    return order


def test_untimed_cells_keep_the_grid_order(tmp_path: Path) -> None:
    planned = grid_trials(SPEC)
    order = _drain(_runner(tmp_path), planned)
    assert [c.run_key for c in order] == [c.run_key for c in planned]


def test_within_a_seed_the_longest_cell_goes_first(tmp_path: Path) -> None:
    runner = _runner(tmp_path)
    planned = grid_trials(SPEC)
    cost = {"rs": 2.0, "social": 1.0, "fused": 3.0}
    for config in planned[:3]:  # seed 0, timed over two epochs each
        for _ in range(2):
            runner._timed_epoch(config, cost[config.cell["model.modality"]])
    order = _drain(runner, planned)
    assert [c.seed for c in order] == [0, 0, 0, 1, 1, 1]  # a full first table comes first
    assert _modalities(order) == ["fused", "rs", "social"] * 2
    assert runner._expected_seconds(planned[0]) == pytest.approx(2.0 * 4)


def test_a_cell_not_timed_yet_runs_before_timed_ones(tmp_path: Path) -> None:
    runner = _runner(tmp_path)
    planned = grid_trials(SPEC)
    runner._timed_epoch(planned[0], 5.0)  # only rs is timed, and it is slow
    assert _modalities(_drain(runner, planned[3:])) == ["social", "fused", "rs"]


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
        row = _ledger.claim(
            engine, study_id=study_id, number=0, run_key=f"{modality}{seed}",
            cell_key=cell_key(cell), cell=cell, params={}, seed=seed, attempt=1, config={},
            host="here", pid=1,
        )  # fmt: skip
        with session_scope(engine) as session:
            for epoch, value in enumerate(epochs, start=1):
                writer.record_epoch(
                    session, row, EpochValues(epoch, 1.0, 1.0, 0.5, 1e-3, seconds=value)
                )
    found = _ledger.epoch_seconds_by_cell(engine, study_id)
    assert found == {
        cell_key({"model.modality": "rs"}): (6.0, 3),
        cell_key({"model.modality": "social"}): (1.5, 3),
    }
