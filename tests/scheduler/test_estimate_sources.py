"""Epoch times for cells not timed yet (a similar cell scaled by FLOPs, a probe), a search's
estimate, the error line, and the probe itself on a tiny model."""

from __future__ import annotations

from pathlib import Path

import pytest

from ablate.results import ModelProbe
from ablate.scheduler._estimate import (
    Basis,
    cell_line,
    clock_text,
    error_line,
    estimate_search,
    estimate_study,
)
from ablate.scheduler._estimate_sources import PROBE_S, borrowed_epochs, probe_epoch_s
from ablate.spec import cell_key, grid_trials, load_study
from tests.conftest import tiny_study

SOCIAL, FUSED = cell_key({"model.modality": "social"}), cell_key({"model.modality": "fused"})


@pytest.fixture
def planned(tmp_path: Path):
    spec, _ = load_study(tiny_study(tmp_path / "tiny.yaml", epochs=2))  # 2 cells × seeds 0, 1
    return grid_trials(spec)  # n 270: 162 train, 54 val, 54 test rows; batch 64


class FakeProbe:
    """Answers like a worker would, with chosen FLOPs per modality; remembers its calls."""

    def __init__(self, flops: dict[str, float | None]) -> None:
        self.flops, self.calls = flops, []

    def __call__(self, configs, seconds):
        self.calls.append(([c.cell["model.modality"] for c in configs], seconds))
        steps = 3 if seconds else 0
        return [
            ModelProbe(steps, 0.5 * bool(steps), 0.001 * bool(steps), self.flops[c.model.modality])
            for c in configs
        ]


def test_an_untimed_cell_takes_a_similar_timed_cells_epoch_scaled_by_flops(planned, tmp_path):
    probe = FakeProbe({"social": 1e6, "fused": 3e6})
    found = borrowed_epochs(planned, {SOCIAL: (4.0, 2)}, probe=probe, data_root=tmp_path)
    assert probe.calls == [(["fused", "social"], 0.0)]  # FLOPs only: nothing timed
    assert found[FUSED].basis is Basis.FLOPS
    assert found[FUSED].epoch_s == pytest.approx(6.0)  # 2 s/epoch × 3
    assert found[FUSED].source == "scaled by FLOPs from cell modality=social (×3)"


def test_beyond_the_flops_bound_or_with_nothing_timed_the_model_is_probed(planned, tmp_path):
    probe = FakeProbe({"social": 1e6, "fused": 10e6})  # 10×: FLOPs would mislead
    found = borrowed_epochs(planned, {SOCIAL: (4.0, 2)}, probe=probe, data_root=tmp_path)
    assert probe.calls == [(["fused", "social"], 0.0), (["fused"], PROBE_S)]
    expected = 3 * 0.5 + 54 * 0.001  # ceil(162 / 64) steps, then 54 val rows
    assert (found[FUSED].basis, found[FUSED].source) == (Basis.PROBE, "probe 3 steps")
    assert found[FUSED].epoch_s == pytest.approx(expected)
    nothing = FakeProbe({"social": None, "fused": None})
    both = borrowed_epochs(planned, {}, probe=nothing, data_root=tmp_path)
    assert nothing.calls == [(["social", "fused"], PROBE_S)]  # one probe per distinct model
    estimate = estimate_study(planned, {}, complete=set(), slots=1, borrowed=both)
    assert estimate.total_s == pytest.approx(2 * 2 * 2 * expected)  # 4 runs × 2 epochs
    assert cell_line(estimate.cells[0]) == (
        f"  modality=social: 2 run(s) ≈ {2 * 2 * expected:.1f}s ({expected:.3g}s/epoch, "
        "probe 3 steps)"
    )


def test_no_probe_or_a_model_it_cannot_probe_leaves_the_cell_unknown(planned, tmp_path):
    assert borrowed_epochs(planned, {}, probe=FakeProbe({}), data_root=tmp_path, seconds=0) == {}
    own_task = borrowed_epochs(planned, {}, probe=lambda c, s: [None] * len(c), data_root=tmp_path)
    estimate = estimate_study(planned, {}, complete=set(), slots=2, borrowed=own_task)
    assert estimate.total_s is None and estimate.unknown_runs == 4


def test_probe_epochs_count_training_batches_and_the_validation_pass() -> None:
    probe = ModelProbe(steps=5, step_s=0.2, eval_sample_s=0.01, flops=None)
    assert probe_epoch_s(probe, {"train": 100, "val": 30}, batch_size=32) == pytest.approx(1.1)


def test_a_search_is_its_trials_left_at_the_mean_epoch_time_pruning_not_assumed() -> None:
    timed = {cell_key({}): (6.0, 3)}  # 2 s an epoch
    rest = estimate_search(5, 2, timed, finished=1, epochs_done={"k": 1}, slots=2)
    assert rest.remaining_runs == 4 and rest.total_s == 8.0  # 2 | 4, 4 → 6, 4 → 8
    assert rest.cells[0].cell == "searched trials (pruning not assumed)"
    assert rest.cells[0].source == "timed 3 epochs"
    blind = estimate_search(5, 2, {}, finished=0, slots=1)
    assert blind.total_s is None and blind.unknown_runs == 5


def test_the_error_line_compares_the_estimate_with_what_it_took() -> None:
    assert error_line(750, 842) == "estimated 12m 30s, took 14m 02s (+12 %)"
    assert error_line(100, 50) == "estimated 1m 40s, took 50s (-50 %)"
    assert [clock_text(s) for s in (8.04, 45, 3840)] == ["8.0s", "45s", "1h 04m"]


def test_the_probe_times_a_tiny_models_steps_and_counts_its_flops(planned) -> None:
    from ablate.train.probe import probe_model

    fused = planned[1]
    timed = probe_model(fused, seconds=0.2, max_steps=3)
    assert timed is not None and 1 <= timed.steps <= 3
    assert timed.step_s > 0 and timed.eval_sample_s > 0 and timed.flops and timed.flops > 0
    counted = probe_model(fused, seconds=0)
    assert counted is not None and (counted.steps, counted.flops) == (0, timed.flops)
