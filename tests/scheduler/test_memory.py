"""A trial's memory need: the data it holds, the model part its cell measured (read from the
database), scaled to its batch size; a run no GPU can hold refused; the dry run shows it."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ablate.cli import app
from ablate.data._memory import ROW_BYTES
from ablate.db import (
    PeakMemory,
    ensure_schema,
    make_engine,
    peak_memory_by_cell,
    session_scope,
    writer,
)
from ablate.db._memory import CPU_LABEL_PREFIX
from ablate.results import ErrorKind
from ablate.scheduler import _ledger, devices
from ablate.scheduler._memory import (
    ALLOCATOR_SLACK,
    CUDA_CONTEXT_BYTES,
    GIB,
    MIB,
    PARAM_STATE_BYTES,
    STREAM_BATCHES,
    Need,
    choose_path,
    data_bytes,
    measured_model,
    scaled,
    trial_need,
)
from ablate.scheduler._planner import Planner
from ablate.scheduler._recorder import Recorder
from ablate.scheduler._runner import RunOptions
from ablate.scheduler._sizing import Sizer
from ablate.scheduler._trials import Trials
from ablate.scheduler._workers import Workers
from ablate.scheduler.devices import DevicePool
from ablate.spec import cell_key, grid_trials, load_study
from tests.conftest import tiny_study
from tests.scheduler.test_devices import FakeNvml

MANIFEST = {"split_counts": {"train": 1000, "val": 200, "test": 200, "unlabelled": 50}}
CELL = cell_key({"model.modality": "fused"})


def peak(gib: float, *, batch: int = 64, path: str = "resident", on_gpu: bool = True,
         trials: int = 2, n_params: int | None = None) -> PeakMemory:  # fmt: skip
    nbytes = int(gib * GIB)
    return PeakMemory(CELL, batch, path, on_gpu, trials, nbytes, nbytes, n_params)


def gpu_overhead(model: int) -> int:
    return math.ceil(model * (1 + ALLOCATOR_SLACK)) + CUDA_CONTEXT_BYTES


# -- the pure model -------------------------------------------------------------------------


def test_data_bytes_resident_stream_and_train_limit():
    assert (
        data_bytes(MANIFEST, train_limit=None, batch_size=64, path="resident") == 1400 * ROW_BYTES
    )
    assert data_bytes(MANIFEST, train_limit=100, batch_size=64, path="resident") == 500 * ROW_BYTES
    streamed = data_bytes(MANIFEST, train_limit=None, batch_size=64, path="stream")
    assert streamed == STREAM_BATCHES * 64 * ROW_BYTES
    assert data_bytes(MANIFEST, train_limit=9, batch_size=512, path="stream") == 409 * ROW_BYTES
    assert data_bytes(MANIFEST, train_limit=None, batch_size=64, path="") == 0  # not recorded
    assert data_bytes(None, train_limit=None, batch_size=64, path="resident") == 0  # own task


def test_the_model_part_is_the_peak_less_the_data_it_held():
    model, trials = measured_model(
        [peak(3.0)], manifest=MANIFEST, train_limit=None, batch_size=64, on_gpu=True
    )
    assert trials == 2
    assert model == gpu_overhead(3 * GIB - 1400 * ROW_BYTES)
    streamed = measured_model(
        [peak(3.0, path="stream")], manifest=MANIFEST, train_limit=None, batch_size=64,
        on_gpu=True,
    )  # fmt: skip
    assert streamed[0] == gpu_overhead(3 * GIB - STREAM_BATCHES * 64 * ROW_BYTES)
    # A CPU slot's peak (its process's RSS) says nothing about a GPU: not measured yet.
    cpu_only = [peak(3.0, on_gpu=False)]
    assert measured_model(cpu_only, manifest=MANIFEST, train_limit=None, batch_size=64,
                          on_gpu=True) == (None, 0)  # fmt: skip


def test_a_halved_batch_keeps_the_parameters_state_and_halves_the_activations():
    n_params = 10_000_000
    fixed = n_params * PARAM_STATE_BYTES
    assert scaled(GIB, measured_batch=64, batch_size=32, n_params=n_params) == (
        fixed + math.ceil((GIB - fixed) / 2)
    )
    assert scaled(GIB, measured_batch=64, batch_size=128, n_params=n_params) == 2 * GIB - fixed
    # Without a parameter count: a smaller batch keeps the bytes, a larger one scales them all.
    assert scaled(GIB, measured_batch=64, batch_size=32, n_params=None) == GIB
    assert scaled(GIB, measured_batch=64, batch_size=128, n_params=None) == 2 * GIB
    assert scaled(GIB, measured_batch=64, batch_size=64, n_params=None) == GIB


def test_the_nearest_measured_batch_size_is_scaled_from():
    peaks = [
        peak(2.0, batch=32, path="", on_gpu=False, trials=1),
        peak(5.0, batch=128, path="", on_gpu=False, trials=3),
    ]
    at_64, trials = measured_model(peaks, manifest=MANIFEST, train_limit=None, batch_size=64,
                                   on_gpu=False)  # fmt: skip
    assert (at_64, trials) == (5 * GIB, 3)  # a tie: the larger batch, kept as measured
    at_40, trials = measured_model(peaks, manifest=MANIFEST, train_limit=None, batch_size=40,
                                   on_gpu=False)  # fmt: skip
    assert (at_40, trials) == (math.ceil(2 * GIB * 40 / 32), 1)


@pytest.mark.parametrize(
    ("placement", "on_gpu", "resident", "cap", "largest", "path"),
    [
        ("auto", False, 1, None, 24, "stream"),  # a CPU slot reads the page cache
        ("auto", True, 10, None, 24, "resident"),
        ("auto", True, 30, None, 24, "stream"),  # over the largest GPU
        ("auto", True, 10, 8, 24, "stream"),  # over the cap
        ("resident", True, 30, None, 24, "stream"),  # as the loader: does not fit, streams
        ("resident", True, 10, 8, 24, "stream"),  # the cap wins
        ("stream", True, 1, None, 24, "stream"),
    ],
)
def test_choose_path(placement, on_gpu, resident, cap, largest, path):
    assert choose_path(
        placement, on_gpu=on_gpu, resident_bytes=resident * GIB,
        cap_bytes=None if cap is None else cap * GIB, largest_bytes=largest * GIB,
    ) == path  # fmt: skip


def test_trial_need_and_its_text():
    need = trial_need([], manifest=MANIFEST, train_limit=None, batch_size=64,
                      largest_bytes=24 * GIB, floor_bytes=2 * GIB)  # fmt: skip
    assert need == Need("resident", 1400 * ROW_BYTES, None, 0)
    assert need.total_bytes is None
    assert need.text() == "data 52 MiB resident + model: not measured yet"
    over_cap = trial_need([peak(3.0)], manifest=MANIFEST, train_limit=None, batch_size=64,
                          cap_bytes=GIB, largest_bytes=24 * GIB)  # fmt: skip
    assert over_cap.data_path == "stream" and over_cap.data_bytes == 256 * ROW_BYTES
    known = Need("resident", 4 * GIB, 3 * GIB + 200 * MIB, 2)
    assert (
        known.text() == "7.2 GiB: data 4.0 GiB resident + model 3.2 GiB (measured from 2 trials)"
    )
    own = trial_need([peak(2.0, path="")], manifest=None, train_limit=None, batch_size=64)
    assert own.data_bytes == 0 and own.model_bytes == gpu_overhead(2 * GIB)
    assert own.text().startswith("2.7 GiB: data: the task's own, in its measured peak + model")


# -- the database ---------------------------------------------------------------------------


@pytest.fixture
def study(tmp_path: Path):
    """A stored tiny study (2 cells × seeds 0, 1) and its engine."""
    spec, text = load_study(tiny_study(tmp_path / "tiny.yaml"))
    engine = make_engine(f"sqlite:///{tmp_path / 'db' / 'ablate.sqlite'}")
    ensure_schema(engine)
    with session_scope(engine) as session:
        study_id = writer.upsert_study(
            session, name=spec.name, description="", kind="grid",
            spec_json=spec.model_dump(mode="json"), spec_text=text, spec_path="tiny.yaml",
        )  # fmt: skip
    return spec, engine, study_id


def store(
    engine, study_id: int, config, *, state: str = "complete", peak_bytes: int | None,
    path: str = "resident", device: str = "NVIDIA H100", batch: int = 64,
) -> None:  # fmt: skip
    with session_scope(engine) as session:
        row = writer.start_trial(
            session, study_id=study_id, number=0, run_key=config.run_key,
            cell_key=cell_key(config.cell), cell=config.cell, params={}, seed=config.seed,
            attempt=1, config=config.model_dump(mode="json"), host="h", pid=1,
        )  # fmt: skip
        writer.set_trial_fields(
            session, row, state=state, peak_memory_bytes=peak_bytes, data_path=path,
            device=device, batch_size=batch, n_params=1000,
        )  # fmt: skip


def _runs(spec):
    """social seed 0, fused seed 0, social seed 1, fused seed 1."""
    by = {(c.cell["model.modality"], c.seed): c for c in grid_trials(spec)}
    return by["social", 0], by["fused", 0], by["social", 1], by["fused", 1]


def test_peaks_are_read_per_cell_batch_path_and_device_kind(study):
    spec, engine, study_id = study
    social0, fused0, social1, fused1 = _runs(spec)
    store(engine, study_id, fused0, peak_bytes=3 * GIB)
    store(engine, study_id, fused1, peak_bytes=5 * GIB)
    store(engine, study_id, social0, peak_bytes=GIB, device=f"{CPU_LABEL_PREFIX} 0",
          path="stream")  # fmt: skip
    store(engine, study_id, social1, state="failed", peak_bytes=9 * GIB)  # not complete
    peaks = peak_memory_by_cell(engine, study_id)
    social, fused = cell_key(social0.cell), cell_key(fused0.cell)
    assert peaks == [
        PeakMemory(fused, 64, "resident", True, 2, 5 * GIB, 4 * GIB, 1000),
        PeakMemory(social, 64, "stream", False, 1, GIB, GIB, 1000),
    ]
    assert peak_memory_by_cell(engine, study_id, cell_key=social) == peaks[1:]
    # The pool names CPU slots as the reader tells them apart.
    assert DevicePool(gpus="cpu", environ={}).acquire().label.startswith(CPU_LABEL_PREFIX)


def test_the_sizer_takes_the_need_from_the_database(study, tmp_path: Path):
    spec, engine, study_id = study
    social0, fused0, _social1, fused1 = _runs(spec)
    store(engine, study_id, fused0, peak_bytes=3 * GIB)
    pool = DevicePool(nvml=FakeNvml([24.0], total_gib=24.0), environ={})
    sizer = Sizer(spec, engine=engine, study_id=study_id, data_root=tmp_path, pool=pool)
    need = sizer.need(fused1)
    rows = 270  # synthetic, not generated yet: its splits counted from the fractions
    assert need.data_path == "resident" and need.data_bytes == rows * ROW_BYTES
    assert need.model_bytes == gpu_overhead(3 * GIB - rows * ROW_BYTES)
    assert need.measured_trials == 1
    halved = fused1.model_copy(
        update={"train": fused1.train.model_copy(update={"batch_size": 32})}
    )
    fixed = 1000 * PARAM_STATE_BYTES
    model = 3 * GIB - rows * ROW_BYTES
    assert sizer.need(halved).model_bytes == gpu_overhead(fixed + math.ceil((model - fixed) / 2))
    assert sizer.need(social0).model_bytes is None  # nothing measured that cell yet


# -- a run no GPU can hold --------------------------------------------------------------------


def test_a_run_that_fits_no_gpu_is_refused_at_once_and_not_retried(study, tmp_path: Path):
    spec, engine, study_id = study
    url = str(engine.url)
    recorder = Recorder.open(spec, url=url, engine=engine, spec_text="", spec_path="tiny.yaml")
    pool = DevicePool(nvml=FakeNvml([1.0], total_gib=1.0), environ={})  # floor 2 GiB > 1 GiB
    planner = Planner(spec, grid_trials(spec))
    options = RunOptions(storage_url=url, data_root=tmp_path, checkpoint_root=tmp_path,
                         log_root=tmp_path)  # fmt: skip
    events: list[str] = []
    trials = Trials(
        spec, spec_path="tiny.yaml", options=options, pool=pool, workers=Workers(),
        recorder=recorder, planner=planner, host="h", plugins=(), task_ref=None, events=events,
    )  # fmt: skip
    ledger = _ledger.read_ledger(engine, study_id)
    assert trials.launch_next(ledger) is False  # every run refused; none waits
    assert pool.busy == 0 and not trials.active
    ledger = _ledger.read_ledger(engine, study_id)
    assert planner.done(ledger) and len(planner.gave_up(ledger)) == 4
    first = grid_trials(spec)[0]
    assert ledger.usage[first.run_key] == (
        "Run [modality=social, seed 0] needs 2.0 GiB of GPU memory (data 9 MiB stream + "
        "model: not measured yet), more than the largest GPU here has (GPU0, Fake A100: "
        "1.0 GiB); lower train.batch_size, set resources.data_placement: stream, or run it on "
        "a bigger GPU."
    )
    attempts = _ledger.rows.study_attempts(engine, study_id)
    assert {a.error_kind for a in attempts} == {ErrorKind.USAGE}
    assert events[0].startswith("trial 0 refused: Run [modality=social, seed 0] needs 2.0 GiB")


# -- the dry run ----------------------------------------------------------------------------


def test_dry_run_shows_each_cells_need_and_the_devices(workdir: Path, monkeypatch, study):
    spec, engine, study_id = study  # its database is workdir/db/ablate.sqlite
    _social0, fused0, *_ = _runs(spec)
    store(engine, study_id, fused0, peak_bytes=3 * GIB)
    monkeypatch.setattr(devices, "load_nvml", lambda: FakeNvml([20.0], total_gib=24.0))
    dry = CliRunner().invoke(
        app, ["run", str(workdir / "tiny.yaml"), "--dry-run", "--per-gpu", "2"]
    )
    assert dry.exit_code == 0, dry.output
    model = gpu_overhead(3 * GIB - 270 * ROW_BYTES)
    fused = Need("resident", 270 * ROW_BYTES, model, 1).text()
    lines = dry.output.splitlines()
    assert "Memory per run on GPU0 (Fake A100): 2 slots, 20.0/24.0 GiB free:" in lines
    assert f"  model.modality=fused: {fused}" in lines
    assert (
        "  model.modality=social: data 10 MiB resident + model: not measured yet (its first "
        "run reserves a slot's share of a GPU until it measures)"
    ) in lines


def test_dry_run_says_which_cells_would_be_refused(workdir: Path, monkeypatch):
    study = tiny_study(workdir / "tiny.yaml", extra="resources: {gpu_memory_gb: 0.005}\n")
    monkeypatch.setattr(devices, "load_nvml", lambda: FakeNvml([20.0], total_gib=24.0))
    dry = CliRunner().invoke(app, ["run", str(study), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert (
        "would be refused: A run of [modality=fused] needs 9 MiB of GPU memory (data 9 MiB "
        "stream + model: not measured yet), more than resources.gpu_memory_gb allows (5 MiB); "
        "lower train.batch_size"
    ) in dry.output


def test_status_shows_the_peaks_each_cell_measured(workdir: Path, study):
    spec, engine, study_id = study
    social0, fused0, _social1, fused1 = _runs(spec)
    store(engine, study_id, fused0, peak_bytes=3 * GIB)
    store(engine, study_id, fused1, peak_bytes=5 * GIB)
    store(engine, study_id, social0, peak_bytes=GIB // 2, path="stream",
          device=f"{CPU_LABEL_PREFIX} 1")  # fmt: skip
    status = CliRunner().invoke(app, ["status", "--study", "tiny"])
    assert status.exit_code == 0, status.output
    lines = status.output.splitlines()
    at = lines.index("  memory measured (what the next runs of a cell are sized by):")
    assert lines[at + 1 : at + 3] == [
        "    modality=fused, batch 64: peak 5.00 GiB on GPU, resident (max of 2 trials, "
        "median 4.00 GiB)",
        "    modality=social, batch 64: peak 0.50 GiB on CPU, stream (max of 1 trial)",
    ]
