"""DevicePool against a fake NVML: which slot a trial gets, and why it waits."""

from __future__ import annotations

import pytest

from ablate.errors import DeviceError, UsageError
from ablate.scheduler import devices
from ablate.scheduler._memory import Need
from ablate.scheduler._nvml import NvmlUnavailableError
from ablate.scheduler.devices import GIB, DevicePool, Slot


class FakeNvml:
    """GPUs with a settable amount of free memory (GiB)."""

    def __init__(self, free_gib: list[float], total_gib: float = 80.0) -> None:
        self.free_gib = list(free_gib)
        self.total_gib = total_gib

    def device_count(self) -> int:
        return len(self.free_gib)

    def name(self, index: int) -> str:
        return "Fake A100"

    def uuid(self, index: int) -> str:
        return f"GPU-{index:04d}aaaa-0000"

    def memory(self, index: int) -> tuple[int, int]:
        return int(self.free_gib[index] * GIB), int(self.total_gib * GIB)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def pool(free: list[float], **kwargs) -> DevicePool:
    kwargs.setdefault("environ", {})
    return DevicePool(nvml=FakeNvml(free), **kwargs)


def test_busy_gpu_is_skipped():
    p = pool([1.0, 40.0], min_free_mem_gb=4)
    slot = p.acquire()
    assert slot is not None and slot.gpu == 1 and slot.key == "cuda:1#0"
    assert p.acquire() is None  # per_gpu=1: GPU1 is taken, GPU0 is full
    assert p.waiting_reason() == (
        "GPU0: 1.0 GiB free < 4 GiB needed (used by other processes); GPU1: all 1 slot busy"
    )


def test_gpu_that_frees_up_later_is_used():
    nvml = FakeNvml([0.5])
    p = DevicePool(nvml=nvml, environ={}, min_free_mem_gb=2)
    assert p.acquire() is None
    nvml.free_gib[0] = 30.0  # the other user's job ended
    slot = p.acquire()
    assert slot is not None and slot.gpu == 0


def test_per_gpu_packs_slots_and_spreads_across_gpus():
    p = pool([70.0, 70.0], per_gpu=3, mem_estimate_gb=5)
    assert p.capacity == 6
    slots = [p.acquire() for _ in range(6)]
    assert all(s is not None for s in slots)
    assert [s.gpu for s in slots] == [0, 1, 0, 1, 0, 1]  # spread first, then pack
    assert len({s.key for s in slots}) == 6
    assert p.acquire() is None
    assert p.waiting_reason() == "GPU0: all 3 slots busy; GPU1: all 3 slots busy"
    p.release(slots[3])
    assert p.acquire() == slots[3]


def test_reservation_prevents_double_booking_until_allocated():
    nvml, clock = FakeNvml([10.0]), FakeClock()
    p = DevicePool(nvml=nvml, environ={}, per_gpu=2, mem_estimate_gb=6, clock=clock)
    first = p.acquire()
    assert first is not None
    # The first trial has not allocated yet: 10 GiB free - 6 reserved < 6 needed.
    assert p.acquire() is None
    assert "reserved for starting trials" in p.waiting_reason()
    # It allocates: NVML now sees 4 GiB free, its reservation is dropped, still no room.
    nvml.free_gib[0] = 4.0
    p.mark_allocated(first)
    assert p.acquire() is None
    assert "used by other processes" in p.waiting_reason()
    nvml.free_gib[0] = 20.0
    assert p.acquire() is not None


def test_reservation_expires_after_timeout():
    clock = FakeClock()
    p = DevicePool(
        nvml=FakeNvml([10.0]),
        environ={},
        per_gpu=2,
        mem_estimate_gb=6,
        clock=clock,
        reservation_timeout_s=120,
    )
    assert p.acquire() is not None
    assert p.acquire() is None
    clock.now += 121  # the trial never called mark_allocated: trust NVML again
    assert p.acquire() is not None


def test_release_drops_the_reservation():
    p = pool([10.0], per_gpu=2, mem_estimate_gb=6)
    first = p.acquire()
    p.release(first)
    p.release(first)  # idempotent
    assert p.acquire() is not None


@pytest.mark.parametrize(
    ("visible", "expected"),
    [("1,3", [1, 3]), ("GPU-0002aaaa-0000", [2]), ("GPU-0003", [3]), ("2,-1,0", [2]), ("", [])],
)
def test_cuda_visible_devices_is_respected(visible, expected):
    p = DevicePool(nvml=FakeNvml([50.0] * 4), environ={"CUDA_VISIBLE_DEVICES": visible})
    gpus = []
    while (slot := p.acquire()) is not None and slot.kind == "cuda":
        gpus.append(slot.gpu)
    assert sorted(gpus) == expected
    if not expected:  # nothing visible: CPU slots
        assert p.describe()[0].startswith("CPU: 1 slot")


def test_cuda_visible_devices_unknown_entry():
    with pytest.raises(DeviceError, match="CUDA_VISIBLE_DEVICES=7 names GPU 7"):
        DevicePool(nvml=FakeNvml([50.0]), environ={"CUDA_VISIBLE_DEVICES": "7"})


def test_explicit_gpu_list():
    p = pool([50.0, 50.0, 50.0], gpus="0,2")
    assert p.capacity == 2
    assert {p.acquire().gpu, p.acquire().gpu} == {0, 2}
    with pytest.raises(UsageError, match="--gpus 5 names GPU 5, but NVML sees 3 GPU"):
        pool([50.0, 50.0, 50.0], gpus="5")
    with pytest.raises(UsageError, match="--gpus 'zero' is not understood"):
        pool([50.0], gpus="zero")


def test_explicit_gpu_on_a_machine_with_no_gpu_is_a_usage_error():
    with pytest.raises(UsageError) as info:
        pool([], gpus="0")
    assert info.value.exit_code == 2
    assert str(info.value) == (
        "--gpus 0 names GPU 0, but NVML sees no GPU; run 'nvidia-smi -L' to list them, or use "
        "--gpus cpu to train on CPU slots."
    )


def _no_nvml():
    raise NvmlUnavailableError("NVML Shared Library Not Found")


def test_auto_falls_back_to_cpu_without_nvml(monkeypatch):
    monkeypatch.setattr(devices, "load_nvml", _no_nvml)
    monkeypatch.setattr(devices.os, "cpu_count", lambda: 8)
    p = DevicePool(gpus="auto", cpu_slots=2, environ={})
    assert p.capacity == 2
    a, b = p.acquire(), p.acquire()
    assert (a.key, b.key, a.threads) == ("cpu#0", "cpu#1", 4)
    assert p.acquire() is None
    assert p.waiting_reason() == "all 2 CPU slots busy"
    assert p.describe() == ["CPU: 2 slots × 4 thread(s)"]


def test_explicit_gpus_without_nvml_is_an_error(monkeypatch):
    monkeypatch.setattr(devices, "load_nvml", _no_nvml)
    with pytest.raises(UsageError) as info:
        DevicePool(gpus="0,1", environ={})
    assert str(info.value) == (
        "--gpus 0,1 asks for GPUs, but NVML cannot be loaded (NVML Shared Library Not Found); "
        "is the NVIDIA driver installed? Use --gpus cpu to train on CPU slots."
    )


def test_gpus_cpu_never_touches_nvml(monkeypatch):
    monkeypatch.setattr(devices, "load_nvml", lambda: pytest.fail("NVML loaded"))
    p = DevicePool(gpus="cpu", cpu_slots=3, threads_per_slot=2, environ={})
    assert p.capacity == 3 and p.acquire().threads == 2


def test_slot_env_pins_device_and_threads():
    gpu = Slot("cuda:1#0", "cuda", 1, "GPU1 (A100)", 4, "GPU-abc")
    assert gpu.env() == {
        "OMP_NUM_THREADS": "4",
        "MKL_NUM_THREADS": "4",
        "OPENBLAS_NUM_THREADS": "4",
        "NUMEXPR_NUM_THREADS": "4",
        "ABLATE_SLOT": "cuda:1#0",
        "CUDA_DEVICE_ORDER": "PCI_BUS_ID",
        "CUDA_VISIBLE_DEVICES": "GPU-abc",
    }
    cpu = Slot("cpu#0", "cpu", None, "CPU slot 0", 2)
    assert cpu.env()["CUDA_VISIBLE_DEVICES"] == ""


def test_describe_lists_gpus():
    p = pool([12.5, 80.0], per_gpu=2)
    assert p.describe() == [
        "GPU0 (Fake A100): 2 slots, 12.5/80.0 GiB free",
        "GPU1 (Fake A100): 2 slots, 80.0/80.0 GiB free",
    ]


def test_bad_counts_are_usage_errors():
    with pytest.raises(UsageError, match="--per-gpu must be at least 1, got 0"):
        pool([1.0], per_gpu=0)


def test_real_nvml_or_cpu_fallback():
    """On this machine's real NVML: GPUs if a driver is loaded, else CPU slots."""
    p = DevicePool(gpus="auto", environ={})
    assert p.capacity >= 1
    slot = p.acquire()
    assert slot is not None or p.waiting_reason()


# -- packing by memory need ----------------------------------------------------------------


def measured(gib: float, *, data_gib: float = 1.0) -> Need:
    """A need its cell measured: ``gib`` in all, ``data_gib`` of it resident data."""
    return Need("resident", int(data_gib * GIB), int((gib - data_gib) * GIB), 2)


def unmeasured(data_gib: float) -> Need:
    return Need("resident", int(data_gib * GIB), None, 0)


def gpu24(free: list[float] | None = None, **kwargs) -> DevicePool:
    nvml = FakeNvml(free or [24.0], total_gib=24.0)
    return DevicePool(nvml=nvml, environ={}, **kwargs)


@pytest.mark.parametrize(("need_gib", "placed"), [(5.0, 4), (7.0, 3), (12.0, 2), (13.0, 1)])
def test_measured_needs_pack_a_gpu_only_as_far_as_they_fit(need_gib, placed):
    p = gpu24(per_gpu=4)
    slots = [p.acquire(measured(need_gib)) for _ in range(5)]
    assert sum(s is not None for s in slots) == placed
    assert all(s is not None for s in slots[:placed])
    if placed == 4:
        assert p.waiting_reason() == "GPU0: all 4 slots busy"
    else:  # none has allocated yet: all of it is reserved for starting trials
        assert p.waiting_reason() == (
            f"GPU0: 24.0 GiB free less {placed * need_gib:.1f} GiB reserved for starting "
            f"trials < {need_gib:g} GiB needed"
        )


def test_mixed_needs_spread_then_fill_by_room():
    p = gpu24([24.0, 24.0], per_gpu=4)
    big = p.acquire(measured(14.0))
    small = p.acquire(measured(6.0))
    assert (big.gpu, small.gpu) == (0, 1)  # spread: the idle GPU first
    assert p.acquire(measured(12.0)).gpu == 1  # GPU0 has 10 GiB left, GPU1 18
    assert p.acquire(measured(9.0)).gpu == 0  # 10 left on GPU0, 6 on GPU1
    assert p.acquire(measured(7.0)) is None  # 1 and 6 GiB left
    assert p.acquire(measured(5.0)).gpu == 1
    p.release(big)
    assert p.acquire(measured(14.0)).gpu == 0


def test_a_measurement_replaces_the_first_trials_conservative_reservation():
    p = gpu24(per_gpu=2)
    first = p.acquire(unmeasured(2.0))  # nothing measured its cell: half the GPU (12 GiB)
    assert first is not None
    assert p.acquire(measured(14.0)) is None
    assert p.waiting_reason() == (
        "GPU0: 24.0 GiB free less 12.0 GiB reserved for starting trials < 14 GiB needed"
    )
    p.measured(first, 6 * GIB)  # its first batch says 6 GiB
    second = p.acquire(measured(14.0))
    assert second is not None and second.gpu == 0


def test_an_allocated_trial_still_counts_until_it_ends():
    nvml = FakeNvml([24.0], total_gib=24.0)
    p = DevicePool(nvml=nvml, environ={}, per_gpu=3)
    first = p.acquire(measured(10.0))
    nvml.free_gib[0] = 20.0  # it has allocated its data, not yet its activations
    p.mark_allocated(first)
    assert p.acquire(measured(10.0)) is not None  # 14 GiB left of the total, 20 free
    assert p.acquire(measured(10.0)) is None  # 4 GiB left: NVML's 20 free is not all room
    assert p.waiting_reason() == (
        "GPU0: 4.0 GiB of 24.0 GiB left after the 20.0 GiB this study's 2 trial(s) there will "
        "hold < 10 GiB needed"
    )


def test_a_trial_that_fits_the_total_but_not_the_free_memory_waits():
    p = gpu24([3.0])
    assert p.refusal(measured(7.0), trial="Run [modality=fused, seed 0]") is None
    assert p.acquire(measured(7.0)) is None
    assert p.waiting_reason() == "GPU0: 3.0 GiB free < 7 GiB needed (used by other processes)"


def test_a_trial_that_fits_no_gpu_is_refused_with_what_to_do():
    p = gpu24([24.0, 10.0])
    assert p.refusal(measured(30.0, data_gib=20.0), trial="Run [modality=fused, seed 0]") == (
        "Run [modality=fused, seed 0] needs 30.0 GiB of GPU memory (30.0 GiB: data 20.0 GiB "
        "resident + model 10.0 GiB (measured from 2 trials)), more than the largest GPU here "
        "has (GPU0, Fake A100: 24.0 GiB); lower train.batch_size, set "
        "resources.data_placement: stream, or run it on a bigger GPU."
    )
    # not measured yet: its data and the floor (2 GiB) must fit
    assert p.refusal(unmeasured(21.0), trial="Run [x]") is None
    assert "Run [x] needs 25.0 GiB" in p.refusal(unmeasured(23.0), trial="Run [x]")
    cpu = DevicePool(gpus="cpu", environ={})
    assert cpu.refusal(measured(3000.0), trial="Run [x]") is None
    assert cpu.acquire(measured(3000.0)).kind == "cpu"  # CPU slots: no memory packing


def test_the_cap_bounds_what_one_trial_may_take():
    p = gpu24(gpu_memory_cap_gb=8.0)
    assert p.refusal(measured(9.0), trial="Run [big]") == (
        "Run [big] needs 9.0 GiB of GPU memory (9.0 GiB: data 1.0 GiB resident + model 8.0 GiB "
        "(measured from 2 trials)), more than resources.gpu_memory_gb allows (8.0 GiB); lower "
        "train.batch_size, set resources.data_placement: stream, or raise "
        "resources.gpu_memory_gb."
    )
    # A cell not measured yet reserves the cap (5 GiB), not a slot's share above it (8 GiB),
    # so a measured 9 GiB run still fits beside two such first runs.
    capped = gpu24(per_gpu=3, gpu_memory_cap_gb=5.0)
    assert capped.acquire(unmeasured(1.0)) is not None
    assert capped.acquire(unmeasured(1.0)) is not None
    assert capped.acquire(measured(9.0)) is not None
