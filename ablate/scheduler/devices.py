"""Where trials run: GPU slots (several per GPU when they fit) and CPU slots.

A worker process is pinned to its slot through the environment *before* torch is imported
(``Slot.env()``). GPUs are named by UUID in the child's ``CUDA_VISIBLE_DEVICES`` because CUDA's
default device order (fastest first) need not match NVML's (PCI bus) order.

Packing by memory: each trial on a GPU holds a reservation of what it will take at its peak
(its need: ``ablate.scheduler._memory``). NVML only sees a trial's memory once the trial has
allocated it, which takes seconds to minutes after the process starts, so until
``mark_allocated`` (or a timeout) the reservation counts against the GPU's free memory, and a
second trial is not placed into memory the first one is about to take. Until the trial ends it
also counts against the GPU's total, since a trial that has allocated its data may still be
growing towards its peak. ``measured`` replaces a reservation by what the trial measured.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from ablate.errors import DeviceError, UsageError
from ablate.scheduler._nvml import NvmlLike, NvmlUnavailableError, load_nvml
from ablate.worker import THREAD_VARS

if TYPE_CHECKING:
    from ablate.scheduler._memory import Need

GIB = 1024**3
RESERVATION_TIMEOUT_S = 120.0
CPU_LABEL_PREFIX = "CPU slot"  # ablate.db._memory tells CPU measurements apart by it


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
    """A busy GPU slot's memory: what its trial will hold at its peak. Until NVML sees the
    trial's memory (``mark_allocated``, or the deadline), it also counts against NVML's free
    memory; until the trial ends, against the GPU's total."""

    gpu: int
    nbytes: int
    deadline: float
    allocated: bool = False

    def pending(self, now: float) -> int:
        return 0 if self.allocated or self.deadline <= now else self.nbytes


class DevicePool:
    """A fixed set of slots; ``acquire``/``release`` hand them out (thread-safe, non-blocking).

    On GPUs a trial is placed by its memory need (``acquire(need)``): on a GPU whose room
    (free memory less what starting trials will take, and total memory less what this pool's
    trials will hold) fits it, the GPU with the fewest busy slots first, then the most room.
    ``per_gpu`` stays an upper bound on the trials of one GPU. CPU slots ignore the need.
    """

    def __init__(
        self,
        *,
        gpus: str = "auto",
        per_gpu: int = 1,
        min_free_mem_gb: float = 2.0,
        mem_estimate_gb: float | None = None,
        gpu_memory_cap_gb: float | None = None,
        cpu_slots: int = 1,
        threads_per_slot: int | None = None,
        nvml: NvmlLike | None = None,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        reservation_timeout_s: float = RESERVATION_TIMEOUT_S,
    ) -> None:
        """``min_free_mem_gb``: the least room a GPU must have to take a trial.
        ``mem_estimate_gb``: what a trial ``acquire`` is not told the need of takes.
        ``gpu_memory_cap_gb``: the most one trial may take (``resources.gpu_memory_gb``)."""
        if per_gpu < 1:
            raise UsageError(f"--per-gpu must be at least 1, got {per_gpu}.")
        if cpu_slots < 1:
            raise UsageError(f"--cpu-slots must be at least 1, got {cpu_slots}.")
        if threads_per_slot is not None and threads_per_slot < 1:
            raise UsageError(f"--threads-per-slot must be at least 1, got {threads_per_slot}.")
        self._clock = clock
        self._timeout_s = reservation_timeout_s
        self.floor_bytes = int(min_free_mem_gb * GIB)
        self._need = max(self.floor_bytes, int((mem_estimate_gb or 0.0) * GIB))
        self.cap_bytes = None if gpu_memory_cap_gb is None else int(gpu_memory_cap_gb * GIB)
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
                Slot(f"cpu#{i}", "cpu", None, f"{CPU_LABEL_PREFIX} {i}", threads)
                for i in range(cpu_slots)
            ]
        self._busy: set[str] = set()
        self._reserved: dict[str, _Reservation] = {}
        self._waiting_for: Need | None = None  # the need the last acquire could not place
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

    def acquire(self, need: Need | None = None) -> Slot | None:
        """A free slot on a GPU with room for ``need`` now, reserved for the caller; or None.
        Without a need, a trial takes ``mem_estimate_gb`` (at least ``min_free_mem_gb``)."""
        with self._lock:
            if not self._gpus:
                return self._take(
                    next((s for s in self._cpu_slots if s.key not in self._busy), None), 0
                )
            self._waiting_for = need
            # Spread trials: the GPU with the fewest busy slots first, then the most room.
            candidates = []
            for gpu in self._gpus:
                slot = next((s for s in gpu.slots if s.key not in self._busy), None)
                memory = self._memory(gpu) if slot is not None else None
                if slot is None or memory is None:
                    continue
                want = self._want(need, gpu, memory[1])
                room = self._room(gpu, *memory)
                if room >= max(want, self.floor_bytes):
                    candidates.append((self._n_busy(gpu), -room, gpu.index, slot, want))
            if not candidates:
                return None
            *_, slot, want = min(candidates)
            return self._take(slot, want)

    def refusal(self, need: Need, *, trial: str) -> str | None:
        """Why ``trial`` can never be placed (its need is over the cap, or over every GPU's
        total memory), in one line naming what to do; None when it can be, or on CPU slots.
        A cell not measured yet is refused only for what is known: its data (and the floor)."""
        if not self._gpus:
            return None
        least = need.data_bytes if need.total_bytes is None else need.total_bytes
        fixes = "lower train.batch_size, set resources.data_placement: stream"
        if self.cap_bytes is not None and least > self.cap_bytes:
            return (
                f"{trial} needs {_gib(least)} of GPU memory ({need.text()}), more than "
                f"resources.gpu_memory_gb allows ({_gib(self.cap_bytes)}); {fixes}, or raise "
                "resources.gpu_memory_gb."
            )
        if need.total_bytes is None:
            least += self.floor_bytes
        totals = [(m[1], -g.index, g) for g in self._gpus if (m := self._memory(g)) is not None]
        if not totals:
            return None  # NVML cannot tell: each GPU's free memory will decide
        total, _, largest = max(totals)
        if least <= total:
            return None
        return (
            f"{trial} needs {_gib(least)} of GPU memory ({need.text()}), more than the largest "
            f"GPU here has (GPU{largest.index}, {largest.name}: {_gib(total)}); {fixes}, or "
            "run it on a bigger GPU."
        )

    def _want(self, need: Need | None, gpu: _Gpu, total: int) -> int:
        """What to reserve for the trial on ``gpu``: its measured need; for a cell nothing has
        measured yet, a slot's share of the GPU (its first trial's measurement replaces it),
        at least its data and the floor, within the cap."""
        if need is None:
            return self._need
        if need.total_bytes is not None:
            return need.total_bytes
        want = max(need.data_bytes + self.floor_bytes, total // len(gpu.slots))
        if self.cap_bytes is not None:
            want = max(need.data_bytes, min(want, self.cap_bytes))
        return want

    def _take(self, slot: Slot | None, nbytes: int) -> Slot | None:
        if slot is not None:
            self._busy.add(slot.key)
            if slot.gpu is not None:
                deadline = self._clock() + self._timeout_s
                self._reserved[slot.key] = _Reservation(slot.gpu, nbytes, deadline)
        return slot

    def mark_allocated(self, slot: Slot) -> None:
        """The trial on ``slot`` holds its memory now (NVML sees it): its reservation stops
        counting against free memory, and keeps counting against the GPU's total."""
        with self._lock:
            if (reservation := self._reserved.get(slot.key)) is not None:
                reservation.allocated = True

    def measured(self, slot: Slot, nbytes: int) -> None:
        """The trial on ``slot`` measured its peak: it replaces the slot's reservation."""
        with self._lock:
            if (reservation := self._reserved.get(slot.key)) is not None:
                reservation.nbytes = nbytes

    def release(self, slot: Slot) -> None:
        """The trial on ``slot`` has ended; the slot is free again (idempotent)."""
        with self._lock:
            self._busy.discard(slot.key)
            self._reserved.pop(slot.key, None)

    def _pending_on(self, gpu: _Gpu) -> int:
        """Bytes starting trials will take that NVML does not see yet."""
        now = self._clock()
        return sum(r.pending(now) for r in self._reserved.values() if r.gpu == gpu.index)

    def _held_on(self, gpu: _Gpu) -> int:
        """Bytes this pool's trials on ``gpu`` will hold at their peaks."""
        return sum(r.nbytes for r in self._reserved.values() if r.gpu == gpu.index)

    def _n_busy(self, gpu: _Gpu) -> int:
        return sum(s.key in self._busy for s in gpu.slots)

    def _room(self, gpu: _Gpu, free: int, total: int) -> int:
        """What a new trial may take: NVML's free memory less pending reservations, and no
        more than the total less what our trials will hold (one still growing towards its
        peak does not show in NVML's free memory yet)."""
        return min(free - self._pending_on(gpu), total - self._held_on(gpu))

    def _memory(self, gpu: _Gpu) -> tuple[int, int] | None:
        """(free, total) bytes; None when NVML cannot tell."""
        try:
            return self._nvml.memory(gpu.index)  # type: ignore[union-attr]
        except Exception:  # an NVML error on one GPU (fallen off the bus, …) skips that GPU
            return None

    # -- reporting -----------------------------------------------------------------------------

    @property
    def capacity(self) -> int:
        return sum(len(g.slots) for g in self._gpus) or len(self._cpu_slots)

    @property
    def busy(self) -> int:
        return len(self._busy)

    @property
    def has_gpus(self) -> bool:
        return bool(self._gpus)

    @property
    def largest_bytes(self) -> int | None:
        """The total memory of the largest GPU; None on CPU slots or when NVML cannot tell."""
        totals = [m[1] for g in self._gpus if (m := self._memory(g)) is not None]
        return max(totals, default=None)

    def waiting_reason(self) -> str:
        """Why ``acquire`` finds nothing free, one clause per GPU, for the status line."""
        with self._lock:
            if not self._gpus:
                n = len(self._cpu_slots)
                return f"all {n} CPU slot{'s' if n != 1 else ''} busy"
            return "; ".join(self._gpu_reason(gpu) for gpu in self._gpus)

    def _gpu_reason(self, gpu: _Gpu) -> str:
        n_busy = self._n_busy(gpu)
        if n_busy == len(gpu.slots):
            return f"GPU{gpu.index}: all {n_busy} slot{'s' if n_busy != 1 else ''} busy"
        try:
            free, total = self._nvml.memory(gpu.index)  # type: ignore[union-attr]
        except Exception as exc:
            return f"GPU{gpu.index}: NVML error ({exc})"
        want = max(self._want(self._waiting_for, gpu, total), self.floor_bytes)
        pending, held = self._pending_on(gpu), self._held_on(gpu)
        if self._room(gpu, free, total) >= want:
            return f"GPU{gpu.index}: free"
        needed = f"{_gib_short(want)} GiB needed"
        if total - held < free - pending:
            return (
                f"GPU{gpu.index}: {_gib(total - held)} of {_gib(total)} left after the "
                f"{_gib(held)} this study's {n_busy} trial(s) there will hold < {needed}"
            )
        if pending:
            return (
                f"GPU{gpu.index}: {free / GIB:.1f} GiB free less {_gib(pending)} reserved for "
                f"starting trials < {needed}"
            )
        return f"GPU{gpu.index}: {free / GIB:.1f} GiB free < {needed} (used by other processes)"

    def describe(self) -> list[str]:
        """One line per device: what the pool will use."""
        if not self._gpus:
            n, threads = len(self._cpu_slots), self._cpu_slots[0].threads
            return [f"CPU: {n} slot{'s' if n != 1 else ''} × {threads} thread(s)"]
        lines = []
        for gpu in self._gpus:
            try:
                free, total = self._nvml.memory(gpu.index)  # type: ignore[union-attr]
                shown = f"{free / GIB:.1f}/{total / GIB:.1f} GiB free"
            except Exception as exc:
                shown = f"NVML error ({exc})"
            n = len(gpu.slots)
            lines.append(f"GPU{gpu.index} ({gpu.name}): {n} slot{'s' if n != 1 else ''}, {shown}")
        return lines


def _gib(nbytes: int) -> str:
    """'7.2 GiB', or '310 MiB' under a GiB."""
    return f"{nbytes / GIB:.1f} GiB" if nbytes >= GIB else f"{nbytes / 2**20:.0f} MiB"


def _gib_short(nbytes: int) -> str:
    """4 GiB as '4', 7.31 GiB as '7.3'."""
    return f"{nbytes / GIB:.1f}".removesuffix(".0")


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
