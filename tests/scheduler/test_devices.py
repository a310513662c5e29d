"""DevicePool against a fake NVML: which slot a trial gets, and why it waits."""

from __future__ import annotations

import pytest

from ablate.errors import DeviceError, UsageError
from ablate.scheduler import devices
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
