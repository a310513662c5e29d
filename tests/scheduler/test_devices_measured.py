"""DevicePool.measured: a trial's measured need replaces the estimate it was reserved with."""

from __future__ import annotations

from ablate.scheduler.devices import GIB, DevicePool
from tests.scheduler.test_devices import FakeNvml


def test_a_measured_need_replaces_the_pending_reservation() -> None:
    pool = DevicePool(nvml=FakeNvml([10.0]), per_gpu=3, min_free_mem_gb=4, environ={})
    first = pool.acquire()
    second = pool.acquire()
    assert first is not None and second is not None
    assert pool.acquire() is None  # 10 GiB free − 2 × 4 GiB reserved < 4 GiB
    pool.measured(first, 1 * GIB)  # it needs 1 GiB, not the 4 it was reserved with
    third = pool.acquire()
    assert third is not None and third.key == "cuda:0#2"


def test_after_the_memory_shows_in_nvml_a_measurement_reserves_nothing() -> None:
    pool = DevicePool(nvml=FakeNvml([10.0]), per_gpu=2, min_free_mem_gb=4, environ={})
    slot = pool.acquire()
    pool.mark_allocated(slot)  # NVML counts its memory now: no reservation left
    pool.measured(slot, 9 * GIB)
    assert pool.acquire() is not None
    pool.release(slot)
    pool.measured(slot, 9 * GIB)  # a late message for a finished trial changes nothing
    assert "reserved" not in pool.waiting_reason()
