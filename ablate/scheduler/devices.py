"""Where trials run: GPU slots (several per GPU when they fit) and CPU slots.

A worker process is pinned to its slot through the environment *before* torch is imported
(``Slot.env()``). GPUs are named by UUID in the child's ``CUDA_VISIBLE_DEVICES`` because CUDA's
default device order (fastest first) need not match NVML's (PCI bus) order.

Double booking: NVML only sees a trial's memory once the trial has allocated it, which takes
seconds to minutes after the process starts. Until ``mark_allocated`` (or a timeout), a slot
handed out by ``acquire`` keeps a reservation that counts against its GPU's free memory, so a
second trial is not placed into memory the first one is about to take.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from ablate.errors import DeviceError, UsageError
from ablate.scheduler._nvml import NvmlLike, NvmlUnavailableError, load_nvml
from ablate.worker import THREAD_VARS

GIB = 1024**3
RESERVATION_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Slot:
    """One place a trial can run."""

    key: str  # "cuda:1#0", "cpu#1"
    kind: Literal["cuda", "cpu"]
    gpu: int | None  # physical index as NVML sees it; None for CPU
    label: str  # "GPU1 (NVIDIA A100 80GB PCIe)", "CPU slot 1"
    threads: int  # torch intra-op threads and data-loader workers
    uuid: str | None = None  # the GPU's UUID, used to pin the child

    def env(self) -> dict[str, str]:
        """Variables to set in the worker's environment before it imports torch."""
        env = {name: str(self.threads) for name in THREAD_VARS}
        env["ABLATE_SLOT"] = self.key
        if self.kind == "cpu":
            env["CUDA_VISIBLE_DEVICES"] = ""  # no GPU at all, even if one is free
        else:
            env["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID"
            env["CUDA_VISIBLE_DEVICES"] = self.uuid or str(self.gpu)
        return env


@dataclass
class _Gpu:
    index: int
    name: str
    uuid: str
    slots: list[Slot] = field(default_factory=list)


@dataclass
class _Reservation:
    gpu: int
    nbytes: int
    deadline: float


class DevicePool:
    """A fixed set of slots; ``acquire``/``release`` hand them out (thread-safe, non-blocking)."""

    def __init__(
        self,
        *,
        gpus: str = "auto",
        per_gpu: int = 1,
        min_free_mem_gb: float = 2.0,
        mem_estimate_gb: float | None = None,
        cpu_slots: int = 1,
        threads_per_slot: int | None = None,
        nvml: NvmlLike | None = None,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        reservation_timeout_s: float = RESERVATION_TIMEOUT_S,
    ) -> None:
        if per_gpu < 1:
            raise UsageError(f"--per-gpu must be at least 1, got {per_gpu}.")
        if cpu_slots < 1:
            raise UsageError(f"--cpu-slots must be at least 1, got {cpu_slots}.")
        if threads_per_slot is not None and threads_per_slot < 1:
            raise UsageError(f"--threads-per-slot must be at least 1, got {threads_per_slot}.")
        self._clock = clock
        self._timeout_s = reservation_timeout_s
        self._need = int(max(min_free_mem_gb, mem_estimate_gb or 0.0) * GIB)
        self._nvml = nvml
        self._gpus = self._select_gpus(
            gpus.strip().lower(), os.environ if environ is None else environ
        )
        cpus = os.cpu_count() or 1
        n_slots = len(self._gpus) * per_gpu if self._gpus else cpu_slots
        threads = threads_per_slot or max(1, cpus // n_slots)
        self._cpu_slots: list[Slot] = []
        for gpu in self._gpus:
            label = f"GPU{gpu.index} ({gpu.name})"
            gpu.slots = [
                Slot(f"cuda:{gpu.index}#{j}", "cuda", gpu.index, label, threads, gpu.uuid)
                for j in range(per_gpu)
            ]
        if not self._gpus:
            self._cpu_slots = [
                Slot(f"cpu#{i}", "cpu", None, f"CPU slot {i}", threads) for i in range(cpu_slots)
            ]
        self._busy: set[str] = set()
        self._reserved: dict[str, _Reservation] = {}
        self._lock = threading.Lock()

    # -- choosing GPUs -------------------------------------------------------------------------

    def _select_gpus(self, gpus: str, environ: Mapping[str, str]) -> list[_Gpu]:
        if gpus == "cpu":
            return []
        if gpus == "auto":
            nvml = self._load_nvml(explicit=None)
            if nvml is None:
                return []
            visible = environ.get("CUDA_VISIBLE_DEVICES")
            indices = (
                list(range(nvml.device_count()))
                if visible is None
                else _visible_indices(visible, nvml)
            )
        else:
            indices = _parse_gpu_list(gpus)
            nvml = self._load_nvml(explicit=gpus)
            count = nvml.device_count() if nvml is not None else 0
            missing = [i for i in indices if i >= count]
            if missing:  # asking for a GPU that does not exist is bad input: exit code 2
                seen = f"{count} GPU(s) (0..{count - 1})" if count else "no GPU"
                raise UsageError(
                    f"--gpus {gpus} names GPU {missing[0]}, but NVML sees {seen}; run "
                    "'nvidia-smi -L' to list them, or use --gpus cpu to train on CPU slots."
                )
        return [_Gpu(i, nvml.name(i), nvml.uuid(i)) for i in indices]

    def _load_nvml(self, *, explicit: str | None) -> NvmlLike | None:
        if self._nvml is None:
            try:
                self._nvml = load_nvml()
            except NvmlUnavailableError as exc:
                if explicit is None:
                    return None  # "auto" on a machine without NVIDIA driver: CPU slots
                raise UsageError(  # a GPU this machine cannot have: bad input, exit 2
                    f"--gpus {explicit} asks for GPUs, but NVML cannot be loaded ({exc}); "
                    "is the NVIDIA driver installed? Use --gpus cpu to train on CPU slots."
                ) from None
        return self._nvml

    # -- handing out slots ---------------------------------------------------------------------

    def acquire(self) -> Slot | None:
        """A free slot whose GPU has enough free memory now, reserved for the caller; or None."""
        with self._lock:
            self._expire_reservations()
            if not self._gpus:
                return self._take(
                    next((s for s in self._cpu_slots if s.key not in self._busy), None)
                )
            # Spread trials: the GPU with the fewest busy slots first, then the most free memory.
            candidates = []
            for gpu in self._gpus:
                slot = next((s for s in gpu.slots if s.key not in self._busy), None)
                if slot is None:
                    continue
                available = self._available(gpu)
                if available is not None and available >= self._need:
                    candidates.append((self._n_busy(gpu), -available, gpu.index, slot))
            return self._take(min(candidates)[-1] if candidates else None)

    def _take(self, slot: Slot | None) -> Slot | None:
        if slot is not None:
            self._busy.add(slot.key)
            if slot.gpu is not None:
                deadline = self._clock() + self._timeout_s
                self._reserved[slot.key] = _Reservation(slot.gpu, self._need, deadline)
        return slot

    def mark_allocated(self, slot: Slot) -> None:
        """The trial on ``slot`` holds its memory now (NVML sees it): drop its reservation."""
        with self._lock:
            self._reserved.pop(slot.key, None)

    def measured(self, slot: Slot, nbytes: int) -> None:
        """The trial on ``slot`` measured its need (after its first batch): a reservation
        still pending for it counts those bytes instead of the estimate."""
        with self._lock:
            reservation = self._reserved.get(slot.key)
            if reservation is not None:
                reservation.nbytes = nbytes

    def release(self, slot: Slot) -> None:
        """The trial on ``slot`` has ended; the slot is free again (idempotent)."""
        with self._lock:
            self._busy.discard(slot.key)
            self._reserved.pop(slot.key, None)

    def _expire_reservations(self) -> None:
        now = self._clock()
        for key in [k for k, r in self._reserved.items() if r.deadline <= now]:
            del self._reserved[key]

    def _reserved_on(self, gpu: _Gpu) -> int:
        return sum(r.nbytes for r in self._reserved.values() if r.gpu == gpu.index)

    def _n_busy(self, gpu: _Gpu) -> int:
        return sum(s.key in self._busy for s in gpu.slots)

    def _available(self, gpu: _Gpu) -> int | None:
        """Free bytes minus our own pending reservations; None when NVML cannot tell."""
        try:
            free, _total = self._nvml.memory(gpu.index)  # type: ignore[union-attr]
        except Exception:  # an NVML error on one GPU (fallen off the bus, …) skips that GPU
            return None
        return free - self._reserved_on(gpu)

    # -- reporting -----------------------------------------------------------------------------

    @property
    def capacity(self) -> int:
        return sum(len(g.slots) for g in self._gpus) or len(self._cpu_slots)

    @property
    def busy(self) -> int:
        return len(self._busy)

    def waiting_reason(self) -> str:
        """Why ``acquire`` finds nothing free, one clause per GPU, for the status line."""
        with self._lock:
            self._expire_reservations()
            if not self._gpus:
                n = len(self._cpu_slots)
                return f"all {n} CPU slot{'s' if n != 1 else ''} busy"
            return "; ".join(self._gpu_reason(gpu) for gpu in self._gpus)

    def _gpu_reason(self, gpu: _Gpu) -> str:
        n_busy = self._n_busy(gpu)
        if n_busy == len(gpu.slots):
            return f"GPU{gpu.index}: all {n_busy} slot{'s' if n_busy != 1 else ''} busy"
        try:
            free, _total = self._nvml.memory(gpu.index)  # type: ignore[union-attr]
        except Exception as exc:
            return f"GPU{gpu.index}: NVML error ({exc})"
        reserved = self._reserved_on(gpu)
        if free - reserved >= self._need:
            return f"GPU{gpu.index}: free"
        why = "used by other processes"
        if reserved:
            why = f"{reserved / GIB:.1f} GiB reserved for starting trials"
        return (
            f"GPU{gpu.index}: {free / GIB:.1f} GiB free < {self._need / GIB:g} GiB needed ({why})"
        )

    def describe(self) -> list[str]:
        """One line per device: what the pool will use."""
        if not self._gpus:
            n, threads = len(self._cpu_slots), self._cpu_slots[0].threads
            return [f"CPU: {n} slot{'s' if n != 1 else ''} × {threads} thread(s)"]
        lines = []
        for gpu in self._gpus:
            try:
                free, total = self._nvml.memory(gpu.index)  # type: ignore[union-attr]
                memory = f"{free / GIB:.1f}/{total / GIB:.1f} GiB free"
            except Exception as exc:
                memory = f"NVML error ({exc})"
            n = len(gpu.slots)
            lines.append(f"GPU{gpu.index} ({gpu.name}): {n} slot{'s' if n != 1 else ''}, {memory}")
        return lines


def _parse_gpu_list(gpus: str) -> list[int]:
    try:
        indices = [int(part) for part in gpus.split(",") if part.strip()]
    except ValueError:
        raise UsageError(
            f"--gpus '{gpus}' is not understood; use 'auto', 'cpu' or GPU indices like '0,2' "
            "(as 'nvidia-smi -L' numbers them)."
        ) from None
    if not indices or any(i < 0 for i in indices):
        raise UsageError(f"--gpus '{gpus}' names no GPU; use 'auto', 'cpu' or indices like '0,2'.")
    return list(dict.fromkeys(indices))


def _visible_indices(visible: str, nvml: NvmlLike) -> list[int]:
    """Physical indices for ``CUDA_VISIBLE_DEVICES`` (indices, or UUIDs / unique UUID prefixes).

    Integer entries are read in NVML's PCI bus order, which is CUDA's order when
    ``CUDA_DEVICE_ORDER=PCI_BUS_ID`` or when all GPUs are the same model. Like CUDA, an entry
    of -1 ends the list.
    """
    count = nvml.device_count()
    uuids = [nvml.uuid(i) for i in range(count)]
    indices: list[int] = []
    for entry in (e.strip() for e in visible.split(",")):
        if not entry:
            continue
        if entry.lstrip("-").isdigit():
            index = int(entry)
            if index < 0:
                break
            if index >= count:
                raise DeviceError(
                    f"CUDA_VISIBLE_DEVICES={visible} names GPU {index}, but NVML sees {count} "
                    "GPU(s); fix or unset CUDA_VISIBLE_DEVICES."
                )
        else:
            matches = [i for i, u in enumerate(uuids) if u.startswith(entry)]
            if len(matches) != 1:
                raise DeviceError(
                    f"CUDA_VISIBLE_DEVICES={visible}: '{entry}' matches {len(matches)} of the "
                    "GPUs NVML sees; use GPU indices or full UUIDs from 'nvidia-smi -L'."
                )
            index = matches[0]
        indices.append(index)
    return list(dict.fromkeys(indices))
